"""The default converter shipped in the package: found by speaker name, consistent, converts real speech."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from voicegen.checkpoint import load_artifact, read_artifact_meta
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, resolve, vocoder_path
from voicegen.infer.convert import Converter

DEFAULT_BUNDLE = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"


def test_default_bundle_is_shipped_as_fp16_with_matching_contracts() -> None:
    meta = read_artifact_meta(DEFAULT_BUNDLE)
    assert meta["kind"] == "cyclegan" and meta["speakers"] == ["SF1", "TM1"]
    vocoder_meta = read_artifact_meta(vocoder_path(DEFAULT_BUNDLE))
    assert vocoder_meta["kind"] == "vocoder"
    assert meta["mel"] == vocoder_meta["mel"]
    for path in (DEFAULT_BUNDLE, vocoder_path(DEFAULT_BUNDLE)):
        artifact = load_artifact(path, dtype=None)  # as stored
        assert {t.dtype for params in artifact.weights.values() for t in params.values()} == {
            __import__("torch").float16}
        assert (path / "weights.safetensors").stat().st_size < 16_000_000  # small enough to ship


def test_target_name_alone_finds_the_default_bundle(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("VOICEGEN_MODELS", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path, source, target = resolve("TM1")
    assert (path, source, target) == (DEFAULT_BUNDLE, "SF1", "TM1")


def test_default_bundle_converts_a_held_out_clip(sf1_clip, tmp_path) -> None:
    converter = Converter(DEFAULT_BUNDLE, "cpu")
    result = converter.convert_file(sf1_clip, tmp_path / "out.wav", "SF1", "TM1", plot=tmp_path / "out.png",
                                    pitch="none")
    wav, rate = sf.read(str(tmp_path / "out.wav"), dtype="float32")
    assert rate == 16000 and len(wav) == sf.info(str(sf1_clip)).frames
    assert np.isfinite(wav).all() and 0.01 < np.abs(wav).max() <= 1.0
    assert result.pitch_shift == 0.0 and (tmp_path / "out.png").is_file()
