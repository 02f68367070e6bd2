"""Training runs from the command line: default run folders per family and config, finished runs
left alone, and speaker names that describe the folders trained on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicegen.cli import cli
from voicegen.train.run import default_run_dir, finished_step

REPO = Path(__file__).resolve().parent.parent
VOCODER_TINY = REPO / "recipes" / "vocoder16k" / "conf" / "tiny.yaml"
CYCLEGAN_TINY = REPO / "recipes" / "vcc2016" / "conf" / "tiny.yaml"


def run(*args) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _voices(root: Path, samples: Path, names=("SF1", "TM1")) -> list[Path]:
    """Two speaker folders of two bundled clips each (the tiny configs hold one out for validation)."""
    folders = []
    for name, speaker in zip(names, ("SF1", "TM1")):
        folder = root / name
        folder.mkdir(parents=True)
        for clip in samples.glob(f"{speaker}_*.wav"):
            shutil.copy(clip, folder / clip.name)
        folders.append(folder)
    return folders


def test_default_run_dir_is_per_family_and_config() -> None:
    assert default_run_dir("vocoder", VOCODER_TINY) == Path("runs/vocoder-tiny")
    assert default_run_dir("cyclegan", CYCLEGAN_TINY) == Path("runs/cyclegan-tiny")
    assert default_run_dir("image-vae", "recipes/mnist/conf/vae.yaml") == Path("runs/image-vae-vae")


def test_finished_step_needs_the_last_step_and_an_export(tmp_path) -> None:
    from voicegen.checkpoint import save_training_checkpoint

    assert finished_step(tmp_path / "none", 4) is None
    save_training_checkpoint(tmp_path, 4, {"step": 4})
    assert finished_step(tmp_path, 4) is None  # no export yet: a re-run exports
    (tmp_path / "export").mkdir()
    assert finished_step(tmp_path, 4) == 4
    assert finished_step(tmp_path, 5) is None  # more steps asked for: a re-run trains on


@pytest.mark.slow
def test_two_tiny_runs_do_not_collide_and_a_finished_run_is_left_alone(samples_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    sf1, tm1 = _voices(tmp_path / "voices", samples_dir)
    vocoder = run("train", "vocoder", "--config", VOCODER_TINY, "--set", f"data.train=[{sf1}, {tm1}]")
    assert vocoder.exit_code == 0, vocoder.output
    assert "exported vocoder to runs/vocoder-tiny/export" in vocoder.output
    converter = run("train", "cyclegan", "--config", CYCLEGAN_TINY, "--set", f"data.dir_a={sf1}",
                    "--set", f"data.dir_b={tm1}", "--vocoder", "none")
    assert converter.exit_code == 0, converter.output
    assert "exported converter to runs/cyclegan-tiny/export" in converter.output
    export = tmp_path / "runs" / "vocoder-tiny" / "export"
    stamp = (export / "artifact.json").stat().st_mtime_ns
    again = run("train", "vocoder", "--config", VOCODER_TINY, "--set", f"data.train=[{sf1}, {tm1}]")
    assert again.exit_code == 0, again.output
    assert again.output == (
        "runs/vocoder-tiny: this run already finished (step 20, trainer.max_steps 20) and its model is in "
        "runs/vocoder-tiny/export; nothing to do. To train on: --set trainer.max_steps=N (more than 20); for a "
        "new run: --run-dir DIR; to export an earlier step: `voicegen export`.\n")
    assert (export / "artifact.json").stat().st_mtime_ns == stamp
    longer = run("train", "vocoder", "--config", VOCODER_TINY, "--set", f"data.train=[{sf1}, {tm1}]",
                 "--set", "trainer.max_steps=22")
    assert longer.exit_code == 0 and "exported vocoder to runs/vocoder-tiny/export" in longer.output


def test_a_recipe_config_on_your_folders_is_named_after_them(samples_dir, tmp_path) -> None:
    """recipes/vcc2016/conf names SF1 and TM1 for the folders the recipe gives; other folders are
    named by their own names unless speaker_a / speaker_b say otherwise."""
    alice, bob = _voices(tmp_path / "voices", samples_dir, names=("alice", "bob"))
    common = ["train", "cyclegan", "--config", CYCLEGAN_TINY, "--set", f"data.dir_a={alice}",
              "--set", f"data.dir_b={bob}", "--vocoder", "none", "--set", "trainer.max_steps=1"]
    result = run(*common, "--run-dir", tmp_path / "r1")
    assert result.exit_code == 0, result.output
    assert ("speakers: alice <-> bob (the folders' names; name them with --set speaker_a=NAME --set "
            "speaker_b=NAME)") in result.output.splitlines()
    assert json.loads((tmp_path / "r1" / "export" / "artifact.json").read_text())["speakers"] == ["alice", "bob"]
    named = run(*common, "--run-dir", tmp_path / "r2", "--set", "speaker_a=A", "--set", "speaker_b=B")
    assert named.exit_code == 0, named.output
    assert "speakers: A <-> B" in named.output.splitlines()
    same = tmp_path / "same"
    for side, folder in (("x", alice), ("y", bob)):
        shutil.copytree(folder, same / side / "wavs")
    clash = run("train", "cyclegan", "--config", CYCLEGAN_TINY, "--set", f"data.dir_a={same / 'x' / 'wavs'}",
                "--set", f"data.dir_b={same / 'y' / 'wavs'}", "--run-dir", tmp_path / "r3")
    assert clash.exit_code == 1
    assert clash.output.splitlines()[-1] == ("Error: speaker names 'wavs' and 'wavs' must be non-empty and differ; "
                                             "set speaker_a and speaker_b")
