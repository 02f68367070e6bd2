"""`voicegen train vocoder` and `voicegen vocode` end to end with the tiny recipe config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from voicegen.cli import cli
from voicegen.config import load_config
from voicegen.train.vocoder import VocoderTrainConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
TINY_YAML = REPO_ROOT / "recipes" / "vocoder16k" / "conf" / "tiny.yaml"
CPU_YAML = REPO_ROOT / "recipes" / "vocoder16k" / "conf" / "cpu.yaml"


@pytest.fixture(scope="module")
def converter_mels(tmp_path_factory, sf1_clip):
    """The shipped converter's round trip (SF1 -> TM1 -> SF1) of one bundled SF1 clip, made by the
    recipe script that makes a vocoder's `data.input_mels`: ``(audio folder, mel folder, mel)``."""
    base = tmp_path_factory.mktemp("mels")
    audio, mels = base / "SF1", base / "mels"
    audio.mkdir()
    shutil.copy(sf1_clip, audio / "x.wav")
    command = [sys.executable, str(REPO_ROOT / "recipes" / "utils" / "converter_mels.py"),
               "--model", "vcc2016_sf1_tm1", "--speaker", "SF1", "--src", str(audio), "--out", str(mels)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"1 mels in {mels}"
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 1
    assert again.stderr.strip() == f"error: {mels / 'x.npy'}: already exists (1 of 1); pass --overwrite to replace them"
    return audio, mels, np.load(mels / "x.npy")


def test_converter_mels_are_the_bundles_round_trip(converter_mels) -> None:
    from voicegen.audio.io import load_audio
    from voicegen.audio.logmel import log_mel
    from voicegen.infer.bundles import find_bundle, load_converter

    audio, _, mel = converter_mels
    bundle = load_converter(find_bundle("vcc2016_sf1_tm1"))
    real = log_mel(load_audio(audio / "x.wav", 16000), bundle.feature_config)
    expected = bundle.convert_mel(bundle.convert_mel(real, "SF1", "TM1"), "TM1", "SF1")
    assert mel.shape == real.shape == (80, 62201 // 256) and mel.dtype == np.float32
    assert np.allclose(mel, expected, atol=1e-5)
    assert np.abs(mel - real).mean() > 0.1  # a model's output, not the recording's mel


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sf1_clip, tm1_clip, converter_mels):
    """A run of the tiny recipe on two bundled clips (the recipe's 20 steps), with the training
    augmentations on: a faster copy of each clip, blurred input mels, and the converter's round
    trip as the input mel of the SF1 clip."""
    run = tmp_path_factory.mktemp("cli") / "run"
    audio, mels, _ = converter_mels
    args = ["train", "vocoder", "--config", str(TINY_YAML), "--set", f"data.train=[{audio / 'x.wav'}, {tm1_clip}]",
            "--set", "data.speed_factors=[1.0, 1.2]", "--set", "data.mel_smoothing=0.5",
            "--set", f"data.input_mels={{{audio}: [{mels}]}}",
            "--run-dir", str(run), "--no-resume", "--device", "cpu"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return run, result.output


def test_recipe_configs_load() -> None:
    tiny = load_config(VocoderTrainConfig, TINY_YAML)
    cpu = load_config(VocoderTrainConfig, CPU_YAML)
    assert (tiny.trainer.max_steps, tiny.adversarial_start, tiny.generator_kind) == (20, 10, "source_filter")
    assert (cpu.trainer.batch_size, cpu.data.segment_samples, cpu.discriminator) == (16, 8192, {"preset": "cpu"})


def test_train_then_vocode_round_trip(trained, sf1_clip, tmp_path) -> None:
    run, output = trained
    assert f"exported vocoder to {run / 'export'}" in output
    assert "with speeds 1, 1.2, 1 with input mels)" in output  # the run summary counts the copies and mels
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "gen/mel" in r] == [5, 10, 15, 20]
    assert [("disc/adv_d" in r) for r in rows if "gen/mel" in r] == [False, False, True, True]

    out = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["vocode", str(sf1_clip), str(out), "--model", str(run / "export")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out} (16000 Hz)"
    info = sf.info(str(out))
    assert (info.samplerate, info.frames, info.channels) == (16000, sf.info(str(sf1_clip)).frames, 1)

    again = CliRunner().invoke(cli, ["vocode", str(sf1_clip), str(out), "--model", str(run / "export")])
    assert again.exit_code == 1
    assert again.output == f"Error: {out}: already exists; pass --overwrite to replace it\n"


def test_vocode_npy_errors_are_one_line(trained, tmp_path) -> None:
    run, _ = trained
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 80), np.float32))
    result = CliRunner().invoke(cli, ["vocode", str(bad), str(tmp_path / "o.wav"), "--model", str(run / "export")])
    assert result.exit_code == 1
    assert result.output == (f"Error: {bad}: this vocoder is pitch-conditioned: expected a log-mel plus F0 rows "
                             "shaped (82, frames), got shape (3, 80); make it with `voicegen features --f0` "
                             "(or give audio)\n")
    good = tmp_path / "good.npy"
    rows = np.full((82, 30), -5.0, np.float32)
    rows[80], rows[81] = np.log(150.0), 1.0  # log-F0 and voicing rows
    np.save(good, rows)
    ok = CliRunner().invoke(cli, ["vocode", str(good), str(tmp_path / "g.wav"), "--model", str(run / "export")])
    assert ok.exit_code == 0, ok.output
    assert sf.info(str(tmp_path / "g.wav")).frames == 30 * 256


def test_train_refuses_an_existing_run_without_resume(trained, sf1_clip, tm1_clip) -> None:
    run, _ = trained
    args = ["train", "vocoder", "--config", str(TINY_YAML), "--set", f"data.train=[{sf1_clip}, {tm1_clip}]",
            "--run-dir", str(run), "--no-resume"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == (f"Error: {run} already has training checkpoints (latest step_00000020.safetensors); "
                             "resume (--resume) or choose a new run folder (--run-dir)\n")


def test_train_config_errors_are_one_line(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["train", "vocoder", "--config", str(TINY_YAML), "--set", "data.trian=[x]",
                                      "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert result.output == "Error: override 'data.trian=[x]': unknown key 'data.trian' (did you mean 'train'?)\n"
    empty = CliRunner().invoke(cli, ["train", "vocoder", "--config", str(TINY_YAML), "--run-dir", str(tmp_path / "r")])
    assert empty.exit_code == 1
    assert empty.output == "Error: data.train is empty; list folders or audio files, e.g. --set data.train=[data/wavs]\n"
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["train"], ["train", "vocoder"], ["vocode"]])
def test_help_has_an_example(command) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_vocode_without_model_uses_the_installed_default(sf1_clip, tmp_path, monkeypatch) -> None:
    from voicegen.infer import bundles

    monkeypatch.delenv(bundles.ENV_MODELS, raising=False)
    monkeypatch.setenv(bundles.ENV_XDG_DATA_HOME, str(tmp_path / "xdg"))  # no user models
    assert bundles.default_vocoder() == bundles.PACKAGE_MODELS_DIR / "vocoder16k"
    result = CliRunner().invoke(cli, ["vocode", str(sf1_clip), str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "o.wav")).frames == sf.info(str(sf1_clip)).frames
    monkeypatch.setattr(bundles, "PACKAGE_MODELS_DIR", tmp_path / "none")
    result = CliRunner().invoke(cli, ["vocode", str(sf1_clip), str(tmp_path / "p.wav")])
    assert result.exit_code == 1
    assert "no vocoder installed; pass --model PATH" in result.output


def test_export_f0_changes_a_shipped_vocoders_tracker_and_refreshes_its_graphs(tmp_path) -> None:
    from voicegen.audio.f0 import F0Config
    from voicegen.infer.onnx_runtime import config_sha256

    voc = tmp_path / "voc"
    shutil.copytree(REPO_ROOT / "voicegen" / "assets" / "models" / "vocoder16k", voc)
    before = (voc / "artifact.json").read_text()
    old = ["--f0", "voicing_threshold=0.1", "--f0", "dio_subframes=1", "--f0", "f0_min=50"]
    refused = CliRunner().invoke(cli, ["export", "vocoder", "--artifact", str(voc), *old])
    assert refused.exit_code == 2
    assert f"--f0 rewrites {voc}/artifact.json; add --overwrite to change it" in refused.output
    wrong_kind = CliRunner().invoke(cli, ["export", "vae", "--artifact", str(voc), *old, "--overwrite"])
    assert wrong_kind.exit_code == 2 and "--f0 changes an exported vocoder" in wrong_kind.output
    assert (voc / "artifact.json").read_text() == before
    done = CliRunner().invoke(cli, ["export", "vocoder", "--artifact", str(voc), *old, "--overwrite"])
    assert done.exit_code == 0, done.output
    meta = json.loads((voc / "artifact.json").read_text())
    assert F0Config.from_dict(meta["config"]["f0"]) == F0Config()  # the settings v5 shipped with first
    assert json.loads((voc / "onnx.json").read_text())["config_sha256"] == config_sha256(meta["config"])
    assert f"wrote {voc / 'generator.onnx'}" in done.output
