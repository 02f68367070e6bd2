"""recipes/vocoder16k/local/copy_synthesis_breakdown.py: a recording against itself breaks down to
nothing; against a noisier copy of itself, the MCD, level and flatness move the way they must."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "recipes" / "vocoder16k" / "local" / "copy_synthesis_breakdown.py"
CLIP = REPO / "samples" / "audio" / "TM1_200001.wav"


def breakdown(converted: Path, reference: Path) -> str:
    out = subprocess.run([sys.executable, str(SCRIPT), "--converted", str(converted), "--reference", str(reference)],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_recording_against_itself_and_against_a_noisier_copy(tmp_path) -> None:
    (tmp_path / "ref").mkdir()
    (tmp_path / "noisy").mkdir()
    shutil.copy(CLIP, tmp_path / "ref" / CLIP.name)
    same = breakdown(tmp_path / "ref", tmp_path / "ref")
    assert same.startswith("1 files: MCD 0.000 dB")
    assert re.search(r"7-8k \+0\.00$", same.splitlines()[-2]) and "+0.00, " in same
    flat = re.search(r"converted (\d\.\d+), reference (\d\.\d+)", same.splitlines()[-1]).groups()
    assert flat[0] == flat[1]
    wav, rate = sf.read(str(CLIP), dtype="float32")
    noise = np.random.default_rng(0).standard_normal(len(wav)).astype(np.float32) * 0.01
    sf.write(str(tmp_path / "noisy" / CLIP.name), wav + noise, rate)
    noisy = breakdown(tmp_path / "noisy", tmp_path / "ref")
    mcd = float(re.match(r"1 files: MCD (\d+\.\d+) dB", noisy).group(1))
    levels = [float(v) for v in re.findall(r"k ([+-]\d+\.\d+)", noisy.splitlines()[-2])]
    converted, reference = map(float, re.search(r"converted (\d\.\d+), reference (\d\.\d+)", noisy).groups())
    assert mcd > 1.0 and levels[-1] > 1.0 and converted > reference  # white noise: louder, flatter top band


@pytest.mark.parametrize("script", [SCRIPT, SCRIPT.parent / "band_swap.py"], ids=lambda p: p.stem)
def test_no_namesakes_is_one_line(tmp_path, script: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, str(script), "--converted", str(tmp_path / "empty"), "--reference",
                          str(CLIP.parent)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2
    assert out.stderr == f"no .wav of {CLIP.parent} has a namesake in {tmp_path / 'empty'}\n"
