"""The typed per-file options: JSON round trips, checked construction, identity, the worker spec."""

from __future__ import annotations

import json
import pickle
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from voicegen.errors import ConfigError
from voicegen.infer.batch.workers import WorkerSpec
from voicegen.infer.options import ConvertOptions, FeaturesOptions, VocodeOptions


def test_options_round_trip_through_json_text() -> None:
    for options in (ConvertOptions(source="SF1", target="TM1", pitch="-4.5", f0_method="harvest", plot=Path("p")),
                    ConvertOptions(source="SF1", target="TM1"), ConvertOptions(source="SF1", target="TM1", frame_bank_mix=0),
                    VocodeOptions(pitch=3, runtime="onnx"), FeaturesOptions(preset="hifigan22k", f0=True)):
        text = json.dumps(options.to_json())
        again = type(options).from_json(json.loads(text))
        assert again == options and hash(again) == hash(options)
    assert ConvertOptions(source="SF1", target="TM1", pitch=" AUTO ", plot=Path("p")).to_json() == {
        "source": "SF1", "target": "TM1", "pitch": "auto", "f0_method": None, "plot": "p", "runtime": "auto",
        "no_postfilter": False, "frame_bank_mix": None, "formant": None}
    assert VocodeOptions(pitch=3).pitch == 3.0 and isinstance(VocodeOptions(pitch=3).pitch, float)
    with pytest.raises(FrozenInstanceError):
        VocodeOptions().pitch = 1.0  # type: ignore[misc]


def test_unknown_missing_and_bad_values_are_one_line_errors() -> None:
    cases = [
        (lambda: ConvertOptions.from_json({"source": "SF1", "target": "TM1", "speed": 2}),
         "unknown convert option speed; expected source, target, pitch, f0_method, plot, runtime, no_postfilter, "
         "frame_bank_mix, formant"),
        (lambda: VocodeOptions.from_json({"semitones": 1, "device": "cpu"}),
         "unknown vocode options device, semitones; expected pitch, f0_method, runtime, formant"),
        (lambda: ConvertOptions.from_json({"target": "TM1"}), "convert options: missing source"),
        (lambda: FeaturesOptions.from_json(["vc16k"]), "features options must be a JSON object, got list"),
        (lambda: ConvertOptions(source="SF1", target="TM1", pitch="up"),
         "--pitch must be auto, none or a number of semitones (e.g. -4.5), got 'up'"),
        (lambda: ConvertOptions(source="", target="TM1"), "convert option source must be a non-empty string, got ''"),
        (lambda: VocodeOptions(f0_method="yin"),
         "vocode option f0_method must be one of dio, harvest or None, got 'yin'"),
        (lambda: VocodeOptions(runtime=None), "vocode option runtime must be one of auto, torch, onnx, got None"),
        (lambda: VocodeOptions(pitch="2"), "vocode option pitch must be a number of semitones, got '2'"),
        (lambda: FeaturesOptions(f0="yes"), "features option f0 must be true or false, got 'yes'"),
        (lambda: ConvertOptions(source="SF1", target="TM1", no_postfilter=1),
         "convert option no_postfilter must be true or false, got 1"),
        (lambda: ConvertOptions(source="SF1", target="TM1", frame_bank_mix=1.5),
         "--frame-bank-mix must be a number from 0 to 1 (0 leaves the frame bank out), got 1.5"),
        (lambda: ConvertOptions(source="SF1", target="TM1", frame_bank_mix="0.5"),
         "--frame-bank-mix must be a number from 0 to 1 (0 leaves the frame bank out), got '0.5'"),
        (lambda: ConvertOptions(source="SF1", target="TM1", frame_bank_mix=True),
         "--frame-bank-mix must be a number from 0 to 1 (0 leaves the frame bank out), got True"),
        (lambda: ConvertOptions(source="SF1", target="TM1", frame_bank_mix=0.5, no_postfilter=True),
         "--frame-bank-mix 0.5 and --no-postfilter: --no-postfilter leaves the frame bank out already; pass one of "
         "them"),
    ]
    for make, message in cases:
        with pytest.raises(ConfigError) as err:
            make()
        assert str(err.value) == message


def test_identity_leaves_out_plots_runtime_and_neutral_defaults() -> None:
    convert = ConvertOptions(source="SF1", target="TM1", plot="/tmp/plots", runtime="onnx")
    assert convert.identity() == {"source": "SF1", "target": "TM1", "pitch": "auto"}
    assert replace(convert, pitch="none", f0_method="dio").identity() == {
        "source": "SF1", "target": "TM1", "pitch": "none", "f0_method": "dio"}
    assert replace(convert, pitch=0).identity()["pitch"] == 0.0  # not the default "auto": kept
    # skipping the post-filter changes the outputs; the default keeps folders made before the option valid
    assert replace(convert, no_postfilter=True).identity() == {
        "source": "SF1", "target": "TM1", "pitch": "auto", "no_postfilter": True}
    # a frame bank share changes them too, 0 (the bank left out) included; an int is kept as a float
    assert replace(convert, frame_bank_mix=0).identity() == {
        "source": "SF1", "target": "TM1", "pitch": "auto", "frame_bank_mix": 0.0}
    assert replace(convert, frame_bank_mix=1).frame_bank_mix == 1.0
    assert VocodeOptions(runtime="onnx").identity() == {}
    assert VocodeOptions(pitch=2, f0_method="harvest").identity() == {"pitch": 2.0, "f0_method": "harvest"}
    assert FeaturesOptions(plot="x").identity() == {"preset": "vc16k"}
    assert FeaturesOptions(f0=True).identity() == {"preset": "vc16k", "f0": True}


def test_a_worker_spec_travels_as_json_and_by_pickle() -> None:
    spec = WorkerSpec(ConvertOptions(source="SF1", target="TM1", pitch=2, plot="/p"), model="/m", device="auto")
    data = json.loads(json.dumps(spec.to_json()))
    assert data == {"kind": "convert", "model": "/m", "device": "auto",
                    "options": {"source": "SF1", "target": "TM1", "pitch": 2.0, "f0_method": None, "plot": "/p",
                                "runtime": "auto", "no_postfilter": False, "frame_bank_mix": None,
                                "formant": None}}
    assert WorkerSpec.from_json(data) == spec == pickle.loads(pickle.dumps(spec))
    assert WorkerSpec(FeaturesOptions()).identity() == {"kind": "features", "model": None,
                                                        "options": {"preset": "vc16k"}, "weights": []}
    for data, message in (({"kind": "denoise"},
                           "unknown batch kind 'denoise'; expected one of convert, vocode, features"),
                          ({"kind": "vocode", "threads": 2},
                           "unknown worker spec key threads; expected kind, model, device, options"),
                          ({"kind": "vocode", "options": {"pitch": 1, "plot": "x"}},
                           "unknown vocode option plot; expected pitch, f0_method, runtime, formant")):
        with pytest.raises(ConfigError) as err:
            WorkerSpec.from_json(data)
        assert str(err.value) == message
    with pytest.raises(ConfigError) as err:
        WorkerSpec({"preset": "vc16k"})  # type: ignore[arg-type]
    assert str(err.value) == "a batch worker takes ConvertOptions, VocodeOptions, FeaturesOptions, got dict"
