"""A converter bundle's post-filter (``extra.postfilter``): the shipped SF1 <-> TM1 CycleGAN re-projects
its output through the shipped VAE, and the bundle, convert and models commands handle it."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from voicegen.audio.logmel import file_mel
from voicegen.audio.stats import denormalize, normalize
from voicegen.cli import cli
from voicegen.errors import ArtifactError
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, load_converter, package_bundle, read_bundle_info
from voicegen.infer.convert import Converter

SHIPPED = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"
VAE = PACKAGE_MODELS_DIR / "vae16k"


pytestmark = pytest.mark.usefixtures("only_package_models")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def with_extra(tmp_path, **extra):
    """A copy of the shipped bundle whose artifact.json extra has ``extra`` merged in (None deletes)."""
    bundle = tmp_path / "bundle"
    shutil.copytree(SHIPPED, bundle)
    meta = json.loads((bundle / "artifact.json").read_text())
    meta["extra"].update(extra)
    meta["extra"] = {k: v for k, v in meta["extra"].items() if v is not None}
    (bundle / "artifact.json").write_text(json.dumps(meta))
    return bundle


def test_the_shipped_converter_names_the_shipped_vae_as_its_postfilter() -> None:
    assert read_bundle_info(SHIPPED).postfilter == "vae16k"
    meta = json.loads((SHIPPED / "artifact.json").read_text())
    assert meta["extra"]["postfilter"] == {"model": "vae16k", "speakers": {"SF1": "SF1", "TM1": "TM1"}}


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_the_postfilter_is_the_vae_projection_of_the_generator_output(runtime, sf1_clip) -> None:
    filtered = load_converter(SHIPPED, runtime=runtime)
    plain = load_converter(SHIPPED, runtime=runtime, postfilter=False)
    assert filtered.postfilter is not None and filtered.postfilter.runtime == runtime and plain.postfilter is None
    vae = load_converter(VAE, runtime="torch")
    mel, _ = file_mel(sf1_clip, filtered.feature_config)
    for source, target in (("SF1", "TM1"), ("TM1", "SF1")):
        raw = plain.convert_mel(mel, source, target)
        got = filtered.convert_mel(mel, source, target)
        stats = filtered.stats[target]  # the bundle's frame bank runs first (tests/infer/test_framebank.py)
        banked = denormalize(filtered.frame_bank.project(normalize(raw, stats).astype(np.float32), target), stats)
        expected = vae.projector(target)(banked.astype(np.float32))  # encoded, decoded as the target
        np.testing.assert_allclose(got, expected, atol=2e-3)
        assert np.abs(got - raw).mean() > 0.1  # it does change the mel (measured ~0.2 nats per bin)


def test_the_postfilter_brings_the_conversion_closer_to_the_target_recording(sf1_clip, tm1_clip, tmp_path) -> None:
    """MCD of the bundled SF1 clip converted to TM1 against TM1's recording of the same sentence (a
    validation pair of the converter): 6.49 dB without the post-filter, 6.20 with it when it shipped (before
    the frame bank, which `--no-postfilter` skips too)."""
    from voicegen.eval.evaluate import evaluate_folders

    mcd = {}
    for name, postfilter in (("filtered", True), ("plain", False)):
        Converter(SHIPPED, "cpu", runtime="torch", postfilter=postfilter).convert_file(
            sf1_clip, tmp_path / name / "x.wav", "SF1", "TM1")
        shutil.copy(tm1_clip, tmp_path / f"ref_{name}.wav")
        report = evaluate_folders(tmp_path / name / "x.wav", tmp_path / f"ref_{name}.wav", None,
                                  speaker_similarity=False, naturalness=False, progress=False)
        mcd[name] = report.rows[0]["mcd_db"]
    assert mcd["filtered"] < mcd["plain"] - 0.15, mcd


def test_convert_runs_the_postfilter_unless_told_not_to(sf1_clip, tmp_path) -> None:
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "f.wav", "--runtime", "torch")
    assert result.exit_code == 0, result.output
    assert "post-filter: vae16k (decodes as TM1); --no-postfilter skips it" in result.output
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "p.wav", "--runtime", "torch",
                 "--no-postfilter")
    assert result.exit_code == 0, result.output
    assert "post-filter" not in result.output
    Converter(SHIPPED, "cpu", runtime="torch", postfilter=False).convert_file(sf1_clip, tmp_path / "api.wav", "SF1",
                                                                              "TM1")
    filtered, plain, api = (sf.read(str(tmp_path / f"{n}.wav"), dtype="float32")[0] for n in ("f", "p", "api"))
    np.testing.assert_array_equal(plain, api)
    assert np.abs(filtered - plain).max() > 0.05


def test_a_batch_manifest_counts_the_postfilter_weights(tmp_path) -> None:
    from voicegen.artifact_meta import read_artifact_meta
    from voicegen.infer.batch.workers import WorkerSpec, model_weights
    from voicegen.infer.options import ConvertOptions

    options = ConvertOptions(source="SF1", target="TM1")
    vae_sha = read_artifact_meta(VAE)["weights_sha256"]
    assert model_weights(WorkerSpec(options, model=str(SHIPPED)))[-2] == vae_sha  # then the frame bank's
    skipped = ConvertOptions(source="SF1", target="TM1", no_postfilter=True)
    assert vae_sha not in model_weights(WorkerSpec(skipped, model=str(SHIPPED)))


@pytest.mark.parametrize("postfilter, message", [
    ({"model": "nope", "speakers": {"TM1": "TM1"}},
     "{b}: its post-filter 'nope' (extra.postfilter) is not an installed VAE bundle; see `voicegen models`, or "
     "convert with --no-postfilter"),
    ({"model": "vocoder16k", "speakers": {"TM1": "TM1"}},
     "{b}: its post-filter 'vocoder16k' (extra.postfilter) is not an installed VAE bundle; see `voicegen models`, "
     "or convert with --no-postfilter"),
    ({"model": "vae16k", "speakers": {"TM1": "Bob"}},
     "{b}: its post-filter vae16k has no speaker Bob (speakers: SF1, TM1, LS78); re-bundle with `voicegen bundle "
     "--postfilter`"),
    ({"model": "vae16k", "speakers": {"Bob": "TM1"}},
     "{b}: extra.postfilter names target(s) Bob that this converter does not have (speakers: SF1, TM1); re-bundle "
     "with `voicegen bundle`"),
    ("vae16k",
     "{b}: extra.postfilter must be {{\"model\": NAME, \"speakers\": {{TARGET: VAE_SPEAKER}}}}, got 'vae16k'; "
     "re-bundle with `voicegen bundle --postfilter`"),
])
def test_a_bad_postfilter_is_one_line_naming_the_bundle(postfilter, message, tmp_path) -> None:
    bundle = with_extra(tmp_path, postfilter=postfilter)
    with pytest.raises(ArtifactError) as err:
        load_converter(bundle)
    assert str(err.value) == message.format(b=bundle)
    load_converter(bundle, postfilter=False)  # --no-postfilter still converts


def test_bundle_records_replaces_and_drops_the_postfilter(tmp_path) -> None:
    out = tmp_path / "models"
    result = run("bundle", "--converter", "vcc2016_sf1_tm1", "--link-vocoder", "vocoder16k_vc", "--postfilter", "none",
                 "--frame-bank", "none", "--formant", "none", "--out", out / "raw")
    assert result.exit_code == 0, result.output
    raw = read_bundle_info(out / "raw")
    assert raw.postfilter is None and raw.frame_bank is None and raw.formant is None
    assert load_converter(out / "raw").postfilter is None
    result = run("bundle", "--converter", out / "raw", "--link-vocoder", "vocoder16k_vc", "--postfilter", "vae16k",
                 "--postfilter-speaker", "TM1=LS78", "--out", out / "ls78")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("using the installed vocoder 'vocoder16k_vc', post-filter 'vae16k'")
    meta = json.loads((out / "ls78" / "artifact.json").read_text())
    assert meta["extra"]["postfilter"] == {"model": "vae16k", "speakers": {"SF1": "SF1", "TM1": "LS78"}}
    # no --postfilter: the converter's own is kept
    package_bundle(out / "ls78", PACKAGE_MODELS_DIR / "vocoder16k_vc", out / "kept", link_vocoder=True)
    assert load_converter(out / "kept").postfilter.speakers == {"SF1": "SF1", "TM1": "LS78"}
    listing = run("models", "--model", out / "kept").output
    assert any(line.split()[0] == "kept" and "cyclegan + vae16k post-filter  " in line for line in listing.splitlines())
    missing = with_extra(tmp_path, postfilter={"model": "gone", "speakers": {"TM1": "TM1"}}, name="missing")
    listing = run("models", "--model", missing).output
    assert any(line.split()[0] == "missing" and "cyclegan + frame bank + gone post-filter (not installed)" in line
               for line in listing.splitlines())


@pytest.mark.parametrize("args, message", [
    (["--postfilter", "vocoder16k"], "--postfilter vocoder16k: not an installed VAE bundle (see `voicegen models`, "
                                     "kind vae)"),
    (["--postfilter", "vae16k", "--postfilter-speaker", "TM1=Bob"],
     "--postfilter vae16k: has no speaker Bob (speakers: SF1, TM1, LS78); map a target with --postfilter-speaker "
     "TARGET=VAE_SPEAKER"),
    (["--postfilter", "vae16k", "--postfilter-speaker", "Bob=TM1"], "--postfilter-speaker Bob=...: 'Bob' is not a "
                                                                   "speaker of {c} (SF1, TM1)"),
    (["--postfilter-speaker", "TM1=TM1"], "--postfilter-speaker needs --postfilter NAME"),
    (["--postfilter", "vae16k", "--postfilter-speaker", "TM1"], "--postfilter-speaker 'TM1': expected "
                                                                "TARGET=VAE_SPEAKER"),
])
def test_bundle_refuses_a_bad_postfilter_in_one_line(args, message, tmp_path) -> None:
    result = run("bundle", "--converter", "vcc2016_sf1_tm1", "--link-vocoder", "vocoder16k_vc", *args,
                 "--out", tmp_path / "b")
    assert result.exit_code != 0
    assert message.format(c=SHIPPED) in result.output, result.output
    assert not (tmp_path / "b").exists()


def test_live_conversion_leaves_the_postfilter_out(sf1_clip) -> None:
    from voicegen.audio.io import load_audio
    from voicegen.infer.live import LiveConverter
    from voicegen.infer.options import ConvertOptions

    wav = load_audio(sf1_clip, 16000)[:16000]
    options = ConvertOptions(source="SF1", target="TM1")
    outputs = []
    for drop in (False, True):
        converter = Converter(SHIPPED, "cpu", runtime="torch")
        assert converter.postfilter is not None and converter.bundle.frame_bank is not None
        if drop:  # the same bundle and frame bank without the post-filter
            converter.bundle = dataclasses.replace(converter.bundle, postfilter=None)
        live = LiveConverter(converter, options)
        outputs.append(np.concatenate([live.push(wav), live.finish()]))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_converter_mels_runs_a_named_postfilter_on_an_export_without_one(sf1_clip, tmp_path) -> None:
    """recipes/utils/converter_mels.py --postfilter NAME (the recipes' --postfilter with --tune-vocoder):
    the round trip of a bundle without a post-filter, run through NAME, is the shipped bundle's."""
    import subprocess
    import sys
    from pathlib import Path

    from voicegen.audio.io import load_audio
    from voicegen.audio.logmel import log_mel

    raw = package_bundle(SHIPPED, PACKAGE_MODELS_DIR / "vocoder16k_vc", tmp_path / "raw", link_vocoder=True,
                         postfilter="none")
    (tmp_path / "audio").mkdir()
    shutil.copy(sf1_clip, tmp_path / "audio" / "x.wav")
    script = Path(__file__).resolve().parents[2] / "recipes" / "utils" / "converter_mels.py"
    done = subprocess.run([sys.executable, str(script), "--model", str(raw), "--speaker", "SF1", "--postfilter",
                           "vae16k", "--src", str(tmp_path / "audio"), "--out", str(tmp_path / "mels")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shipped = load_converter(SHIPPED)
    real = log_mel(load_audio(sf1_clip, 16000), shipped.feature_config)
    expected = shipped.convert_mel(shipped.convert_mel(real, "SF1", "TM1"), "TM1", "SF1")
    np.testing.assert_allclose(np.load(tmp_path / "mels" / "x.npy"), expected, atol=1e-4)
    done = subprocess.run([sys.executable, str(script), "--model", str(raw), "--speaker", "SF1", "--postfilter",
                           "vocoder16k", "--src", str(tmp_path / "audio"), "--out", str(tmp_path / "m2")],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: --postfilter vocoder16k: not an installed VAE bundle (see `voicegen "
                                   "models`, kind vae)")
