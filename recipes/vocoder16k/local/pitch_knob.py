"""How far `voicegen vocode --pitch N` moves the pitch: median over frames voiced in input and output
of 1200 log2(F0_out / F0_in), Harvest on both, per sentence, then the median over sentences.

    python recipes/vocoder16k/local/pitch_knob.py --model vocoder16k --semitones 4 -4 \
        ../shared/data/vcc2016/dev_parallel/SF1/20000[1-5].wav ../shared/data/vcc2016/dev_parallel/TM1/20000[1-5].wav
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from voicegen.audio.io import load_audio
from voicegen.eval.f0 import world_f0
from voicegen.infer.bundles import find_bundle
from voicegen.infer.vocode import load_vocoder, vocode_file


def shift_cents(original: np.ndarray, shifted: np.ndarray, rate: int) -> float:
    f0_in, _ = world_f0(np.asarray(original, dtype=np.float64), rate, "harvest")
    f0_out, _ = world_f0(np.asarray(shifted, dtype=np.float64), rate, "harvest")
    n = min(len(f0_in), len(f0_out))
    both = (f0_in[:n] > 0) & (f0_out[:n] > 0)
    return float(np.median(1200 * np.log2(f0_out[:n][both] / f0_in[:n][both])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vocoder16k", help="vocoder bundle (name or folder)")
    parser.add_argument("--semitones", type=float, nargs="+", default=[4.0, -4.0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    vocoder = load_vocoder(find_bundle(args.model), "cpu")
    rate = vocoder.feature_config.sample_rate
    with tempfile.TemporaryDirectory() as tmp:
        for semitones in args.semitones:
            cents = []
            for path in args.files:
                out = Path(tmp) / f"{path.parent.name}_{path.stem}_{semitones:+g}.wav"
                vocode_file(path, out, vocoder, semitones=semitones)
                cents.append(shift_cents(load_audio(path, rate), load_audio(out, rate), rate))
            print(f"--pitch {semitones:+g}: median {np.median(cents):+.1f} cents over {len(cents)} sentences "
                  f"(range {min(cents):+.1f} .. {max(cents):+.1f})")


if __name__ == "__main__":
    main()
