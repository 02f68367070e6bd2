"""`voicegen train cyclegan` end to end on bundled clips with the tiny recipe config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from voicegen.checkpoint import read_artifact_meta
from voicegen.cli import cli

TINY = Path(__file__).resolve().parent.parent / "recipes" / "vcc2016" / "conf" / "tiny.yaml"


def test_train_cyclegan_cli_exports_a_two_speaker_bundle(samples_dir, tmp_path) -> None:
    dir_a, dir_b = tmp_path / "SF1", tmp_path / "TM1"
    for folder, prefix in ((dir_a, "SF1_"), (dir_b, "TM1_")):
        folder.mkdir()
        for clip in samples_dir.glob(f"{prefix}*.wav"):
            shutil.copy(clip, folder / clip.name)
    run_dir = tmp_path / "run"
    args = ["train", "cyclegan", "--config", str(TINY), "--set", f"data.dir_a={dir_a}",
            "--set", f"data.dir_b={dir_b}", "--run-dir", str(run_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"exported converter to {run_dir / 'export'}" in result.output
    meta = read_artifact_meta(run_dir / "export")
    assert meta["kind"] == "cyclegan" and meta["speakers"] == ["SF1", "TM1"]
    assert set(meta["stats"]) == {"SF1", "TM1"} and meta["mel"]["hop_length"] == 256
    steps = [json.loads(line).get("step") for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert max(s for s in steps if s is not None) == 4
    # Running again resumes at the end: nothing to train, same export.
    again = CliRunner().invoke(cli, args + ["--resume"])
    assert again.exit_code == 0, again.output


def test_train_cyclegan_cli_unknown_key_is_one_line(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["train", "cyclegan", "--config", str(TINY), "--set", "data.dir_c=x"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'data.dir_c'" in lines[0]
