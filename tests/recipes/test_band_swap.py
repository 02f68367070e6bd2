"""recipes/vocoder16k/local/band_swap.py: repairing the band a copy lost gives the recording back; repairing
any other band does not; a recording against itself scores zero everywhere. (Its one-line refusal when nothing
pairs up is tested with copy_synthesis_breakdown.py's, whose namesake_pairs it uses: test_vocoder_breakdown.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import soundfile as sf
from scipy.signal import istft, stft

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "recipes" / "vocoder16k" / "local" / "band_swap.py"
CLIP = REPO / "samples" / "audio" / "TM1_200001.wav"


def rows(converted: Path, reference: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(SCRIPT), "--converted", str(converted), "--reference", str(reference),
                          "--no-dnsmos"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "1 files, STFT 512/128; converted with the reference's ... : MCD dB"
    return {m.group(1).strip(): float(m.group(2)) for m in (re.match(r"  (.+?)\s+(\d+\.\d+)$", line) for line in lines[1:])}


def test_the_lost_band_is_found(tmp_path) -> None:
    for name in ("ref", "lost"):
        (tmp_path / name).mkdir()
    shutil.copy(CLIP, tmp_path / "ref" / CLIP.name)
    same = rows(tmp_path / "ref", tmp_path / "ref")
    assert len(same) == 14 and set(same.values()) == {0.0}
    wav, rate = sf.read(str(CLIP), dtype="float64")
    freqs, _, spec = stft(wav, fs=rate, window="hann", nperseg=512, noverlap=384)
    spec[(freqs >= 1000) & (freqs < 2000)] *= 0.05  # the copy lost 26 dB at 1-2 kHz
    sf.write(str(tmp_path / "lost" / CLIP.name), istft(spec, fs=rate, window="hann", nperseg=512, noverlap=384)[1][:len(wav)],
             rate, subtype="FLOAT")
    lost = rows(tmp_path / "lost", tmp_path / "ref")
    assert lost["converted"] > 1.0 and lost["reference"] == 0.0
    for repaired in ("band 1000-2000 Hz", "below 2000 Hz", "below 4000 Hz", "magnitude <2000 Hz"):
        assert lost[repaired] < 0.05 * lost["converted"], (repaired, lost)  # the cut leaks a little past its edges
    for untouched in ("band 0-250 Hz", "band 2000-4000 Hz", "band 4000-8000 Hz", "below 1000 Hz", "phase <2000 Hz"):
        assert lost[untouched] > 0.8 * lost["converted"], (untouched, lost)
