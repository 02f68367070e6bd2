"""The vcc2016 recipe runs every stage end to end on bundled clips with the tiny configs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "recipes" / "vcc2016" / "run.sh"


def _corpus(samples: Path, root: Path) -> Path:
    """A miniature corpus laid out like ../shared/data (vcc2016 halves, dev pairs, librispeech)."""
    layout = {
        "vcc2016/SF1": ["SF1_100001.wav", "SF1_200001.wav"],
        "vcc2016/TM1": ["TM1_100082.wav", "TM1_200001.wav"],
        "librispeech/78": ["78-368-0000.flac"],
    }
    for folder, names in layout.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(samples / name, root / folder / name)
    for speaker in ("SF1", "TM1"):
        (root / "vcc2016/dev_parallel" / speaker).mkdir(parents=True)
        shutil.copy(samples / f"{speaker}_200001.wav", root / "vcc2016/dev_parallel" / speaker / "200001.wav")
    return root


@pytest.mark.slow
def test_tiny_vcc2016_recipe_runs_all_stages(samples_dir, tmp_path) -> None:
    data = _corpus(samples_dir, tmp_path / "data")
    exp = tmp_path / "exp"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "VOICEGEN": str(bin_dir / "voicegen"), "OMP_NUM_THREADS": "1"}
    cmd = ["bash", str(RUN_SH), "--data-dir", str(data), "--exp-dir", str(exp),
           "--vocoder-conf", "recipes/vocoder16k/conf/tiny.yaml",
           "--cyclegan-conf", "recipes/vcc2016/conf/tiny.yaml"]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for stage in range(1, 6):
        assert f"stage {stage}:" in out.stdout
    assert json.loads((exp / "stats" / "SF1.json").read_text())["num_files"] == 2
    assert (exp / "bundle" / "vocoder" / "artifact.json").is_file()
    for system in ("converted_pitch_none", "converted_pitch_auto", "baseline_mel_stats", "no_conversion",
                   "copy_synthesis"):
        summary = json.loads((exp / "eval" / system / "summary.json").read_text())
        assert summary["num_pairs"] == 1 and summary["metrics"]["mcd_db"]["mean"] > 0, system
    table = out.stdout.splitlines()[-6:]
    assert table[0].split() == ["system", "MCD", "dB", "F0", "RMSE", "cents", "spk", "sim"]
