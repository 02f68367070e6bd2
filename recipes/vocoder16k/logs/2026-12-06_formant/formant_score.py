"""Does `voicegen vocode --formant S` move the formants by S semitones and keep the pitch? Against WORLD doing the same.

    python formant_score.py --src DEV/SF1 --out OUT --shift -3 --shift 3 [--model vocoder16k]

For each shift: `voicegen vocode SRC OUT/vocoder_S --formant S`, and WORLD (DIO + StoneMask F0, CheapTrick envelope
warped along frequency by 2^(S/12), D4C aperiodicity, synthesis with the same F0) into OUT/world_S. Scores per file,
mean over files: the envelope factor (the warp of the input's mean voiced log-envelope, WORLD CheapTrick, that best
matches the output's over 300-5000 Hz, searched from 0.70 to 1.40 in steps of 0.005), the F0 change (cents, median
over the frames voiced in both, DIO), and DNSMOS OVRL (4 framings). Shift 0 is the plain copy-synthesis.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import pyworld
import soundfile as sf

from voicegen.eval.naturalness import dnsmos_scores

FACTORS = np.arange(0.70, 1.4001, 0.005)


def envelope(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    x = x.astype(np.float64)
    f0, t = pyworld.dio(x, sr)
    f0 = pyworld.stonemask(x, f0, t, sr)
    sp = pyworld.cheaptrick(x, f0, t, sr)
    voiced = f0 > 0
    return np.log(sp[voiced]).mean(0), f0


def pitch_change(before: np.ndarray, after: np.ndarray) -> float:
    n = min(len(before), len(after))
    both = (before[:n] > 0) & (after[:n] > 0)
    return float(np.median(1200 * np.log2(after[:n][both] / before[:n][both])))


def factor(e_in: np.ndarray, e_out: np.ndarray, sr: int) -> float:
    f = np.linspace(0, sr / 2, len(e_in))
    sel = (f > 300) & (f < 5000)
    scores = [np.corrcoef(np.interp(f[sel] / a, f, e_in), e_out[sel])[0, 1] for a in FACTORS]
    return float(FACTORS[int(np.argmax(scores))])


def world_shift(x: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    x = x.astype(np.float64)
    f0, t = pyworld.dio(x, sr)
    f0 = pyworld.stonemask(x, f0, t, sr)
    sp, ap = pyworld.cheaptrick(x, f0, t, sr), pyworld.d4c(x, f0, t, sr)
    f = np.linspace(0, sr / 2, sp.shape[1])
    r = 2 ** (semitones / 12)
    warped = np.stack([np.exp(np.interp(f / r, f, np.log(row))) for row in sp])
    return pyworld.synthesize(f0, np.ascontiguousarray(warped), ap, sr)[:len(x)].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--shift", type=float, action="append", required=True)
    parser.add_argument("--model", default="vocoder16k")
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.src, "*.wav")))
    for shift in [0.0] + args.shift:
        tag = f"{shift:+g}"
        vdir, wdir = os.path.join(args.out, f"vocoder_{tag}"), os.path.join(args.out, f"world_{tag}")
        subprocess.run([sys.executable, "-m", "voicegen", "vocode", args.src, vdir, "--model", args.model,
                        "--formant", str(shift), "--overwrite", "--no-progress"], check=True, stdout=subprocess.DEVNULL)
        os.makedirs(wdir, exist_ok=True)
        rows = {"vocoder": [], "WORLD": []}
        for path in files:
            x, sr = sf.read(path, dtype="float32")
            e_in, f_in = envelope(x, sr)
            name = os.path.basename(path)
            y_world = world_shift(x, sr, shift)
            sf.write(os.path.join(wdir, name), y_world, sr)
            for system, y in (("vocoder", sf.read(os.path.join(vdir, name), dtype="float32")[0]), ("WORLD", y_world)):
                e_out, f_out = envelope(y, sr)
                rows[system].append((factor(e_in, e_out, sr), pitch_change(f_in, f_out),
                                     dnsmos_scores(y, sr, framings=4)["dnsmos_ovrl"]))
        for system, values in rows.items():
            a = np.asarray(values)
            print(f"{os.path.basename(args.src.rstrip('/'))} {system:8s} --formant {tag:>3s} (wanted x{2 ** (shift / 12):.3f}): "
                  f"envelope x{a[:, 0].mean():.3f} (+- {a[:, 0].std():.3f}), F0 {a[:, 1].mean():+.0f} cents, "
                  f"DNSMOS {a[:, 2].mean():.3f}  ({len(a)} files)", flush=True)


if __name__ == "__main__":
    main()
