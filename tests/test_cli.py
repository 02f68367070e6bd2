"""The command line end to end on real clips: outputs on disk, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicegen import __version__
from voicegen.audio.features import compute_mel, get_preset, log_mel
from voicegen.audio.io import load_audio
from voicegen.cli import cli


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "voicegen", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"voicegen, version {__version__}"


@pytest.mark.parametrize("command", [[], ["info"], ["features"], ["stats"]])
def test_every_command_has_help_with_an_example(runner, command) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "voicegen" in result.output


def test_info_reports_rate_channels_duration(runner, sf1_clip, flac_clip) -> None:
    result = runner.invoke(cli, ["info", str(sf1_clip), str(flac_clip)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{sf1_clip}: 16000 Hz, 1 ch, 3.888 s, 62201 frames")
    assert lines[1].startswith(f"{flac_clip}: 16000 Hz, 1 ch, 14.425 s")
    assert "FLAC" in lines[1]


def test_features_writes_the_librosa_matching_mel_and_a_plot(runner, sf1_clip, tmp_path) -> None:
    out, png = tmp_path / "mel.npy", tmp_path / "mel.png"
    result = runner.invoke(cli, ["features", str(sf1_clip), "--out", str(out), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    mel = np.load(out)
    config = get_preset("vc16k")
    wav = load_audio(sf1_clip, config.sample_rate)
    assert mel.dtype == np.float32 and mel.shape == (80, 62201 // 256)
    np.testing.assert_allclose(mel, log_mel(wav, config), atol=1e-6)  # the numpy front end, streamed
    np.testing.assert_allclose(mel, compute_mel(wav, config), atol=1e-3)  # the torch one: float32 rounding
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mel.npy", "mel.png"]


def test_features_at_22k_preset_resamples(runner, sf1_clip, tmp_path) -> None:
    out = tmp_path / "mel.npy"
    result = runner.invoke(cli, ["features", str(sf1_clip), "--out", str(out), "--preset", "hifigan22k"])
    assert result.exit_code == 0, result.output
    assert np.load(out).shape[1] == round(62201 * 22050 / 16000) // 256


def test_features_refuses_to_overwrite_without_flag(runner, sf1_clip, tmp_path) -> None:
    out = tmp_path / "mel.npy"
    out.write_bytes(b"precious")
    result = runner.invoke(cli, ["features", str(sf1_clip), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {out}: already exists; pass --overwrite to replace it"
    assert out.read_bytes() == b"precious"
    result = runner.invoke(cli, ["features", str(sf1_clip), "--out", str(out), "--overwrite"])
    assert result.exit_code == 0 and np.load(out).shape[0] == 80


def test_features_bad_input_is_one_error_line_and_nothing_written(runner, tmp_path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    out = tmp_path / "mel.npy"
    result = runner.invoke(cli, ["features", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad}")
    assert "Traceback" not in result.output
    assert not out.exists()


def test_features_unknown_preset_lists_choices(runner, sf1_clip, tmp_path) -> None:
    result = runner.invoke(cli, ["features", str(sf1_clip), "--out", str(tmp_path / "m.npy"), "--preset", "x"])
    assert result.exit_code == 1
    assert "vc16k" in result.output and "hifigan22k" in result.output


def test_stats_json_matches_the_library(runner, sf1_clip, tm1_clip, tmp_path) -> None:
    folder = tmp_path / "speaker"
    folder.mkdir()
    for clip in (sf1_clip, tm1_clip):
        (folder / clip.name).write_bytes(clip.read_bytes())
    out = tmp_path / "stats.json"
    result = runner.invoke(cli, ["stats", str(folder), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["num_files"] == 2
    assert len(data["mel_mean"]) == 80 and len(data["mel_std"]) == 80
    assert "2 files, 7.4 s" in result.output
    result = runner.invoke(cli, ["stats", str(folder), "--out", str(out)])
    assert result.exit_code == 1 and "--overwrite" in result.output


def test_stats_on_empty_folder_is_a_clear_error(runner, tmp_path) -> None:
    result = runner.invoke(cli, ["stats", str(tmp_path), "--out", str(tmp_path / "s.json")])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path}")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.slow
@pytest.mark.shared_data
def test_stats_on_the_vcc2016_training_halves(runner, shared_data, tmp_path) -> None:
    """Real speaker folders: the female speaker's mean log-F0 is well above the male's."""
    means = {}
    for speaker in ("SF1", "TM1"):
        out = tmp_path / f"{speaker}.json"
        result = runner.invoke(cli, ["stats", str(shared_data / "vcc2016" / speaker), "--out", str(out),
                                     "--no-progress"])
        assert result.exit_code == 0, result.output
        data = json.loads(out.read_text())
        assert data["num_files"] == 81
        means[speaker] = data["log_f0_mean"]
    # SF1 speaks around 200 Hz and TM1 around 130 Hz: more than 5 semitones apart.
    semitones = 12 * (means["SF1"] - means["TM1"]) / np.log(2)
    assert semitones > 5, semitones


def test_an_interrupted_training_exits_130_naming_its_checkpoint(monkeypatch, tmp_path) -> None:
    import voicegen.train.vocoder as vocoder_training
    from voicegen.errors import TrainingInterrupted

    def stopped(*args, **kwargs):
        raise TrainingInterrupted("stopped by SIGINT at step 7; checkpoint c.safetensors; run the same command to resume")

    monkeypatch.setattr(vocoder_training, "train_vocoder", stopped)
    config = Path(__file__).resolve().parents[1] / "recipes" / "vocoder16k" / "conf" / "tiny.yaml"
    result = CliRunner().invoke(cli, ["train", "vocoder", "--config", str(config), "--run-dir", str(tmp_path / "r"),
                                      "--set", "data.train=[x]"])
    assert result.exit_code == 130
    assert result.output.strip().endswith("Stopped: stopped by SIGINT at step 7; checkpoint c.safetensors; "
                                          "run the same command to resume")


def _commands(command=cli, path=("voicegen",)):
    import click

    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


def test_device_defaults_to_auto_everywhere() -> None:
    """Inference commands run on CUDA when there is one; training commands follow the config."""
    devices = {" ".join(path): next(p.default for p in command.params if p.name == "device")
               for path, command in _commands() if any(p.name == "device" for p in command.params)}
    assert {name for name, default in devices.items() if default is None} == {
        name for name in devices if " train " in f"{name} "}
    assert {default for name, default in devices.items() if " train " not in f"{name} "} == {"auto"}
    assert {"voicegen vocode", "voicegen audit", "voicegen latent encode", "voicegen image sample"} <= set(devices)


def test_every_group_shows_its_commands_with_examples(runner) -> None:
    for path, command in _commands():
        result = runner.invoke(cli, [*path[1:], "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"{' '.join(path)} --help has no example"
    families = runner.invoke(cli, ["train", "--help"]).output
    for family in ("train vocoder", "train cyclegan", "train vae", "image train --help"):
        assert f"voicegen {family}" in families


def test_export_help_names_the_folder_it_writes(runner) -> None:
    assert "export_step00000393 for step 393" in " ".join(runner.invoke(cli, ["export", "--help"]).output.split())


def test_python_warnings_are_one_line(runner, tmp_path) -> None:
    """An AudioWarning is one `Warning:` line: no file name of the library, no source line."""
    import soundfile as sf

    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(16000, np.float32), 16000)
    result = runner.invoke(cli, ["features", str(quiet), "--out", str(tmp_path / "q.npy")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (f"Warning: {quiet}: is all silence (peak 0.0e+00); it adds nothing "
                                             "to training or conversion")
    assert "AudioWarning" not in result.output and "warnings.warn" not in result.output and ".py:" not in result.output
