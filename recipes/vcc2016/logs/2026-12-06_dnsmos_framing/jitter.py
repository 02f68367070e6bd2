"""How much does DNSMOS move when only the clip's length changes? (2026-12-06)

    python recipes/vcc2016/logs/2026-12-06_dnsmos_framing/jitter.py FOLDER [--framings K] [--pads N ...]
    python recipes/vcc2016/logs/2026-12-06_dnsmos_framing/jitter.py FOLDER [--framings K] --rotate N ...

Scores every audio file of FOLDER (:func:`voicegen.eval.naturalness.dnsmos_scores`, OVRL, ``framings`` K)
as it is and with N zero samples appended (default 64, 129, 256, 512, 1024), or with ``--rotate`` rotated
circularly by N samples (its first N samples moved to its end: the same content, repeated from another
point; only where speechmos's windows and mel frames fall changes). Prints each file's scores, the folder
means per version, the mean per-file standard deviation and the standard deviation of the folder mean
across the versions (for zeros: over all of them, and over those up to 256, as 512-1024 zeros add 32-64 ms
of silence, which lowers the score by itself).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voicegen.audio.io import is_audio_file, load_audio
from voicegen.eval.naturalness import dnsmos_scores

PADS = (0, 64, 129, 256, 512, 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--framings", type=int, default=1)
    parser.add_argument("--pads", type=int, nargs="+", default=list(PADS))
    parser.add_argument("--rotate", type=int, nargs="+", default=None)
    args = parser.parse_args()
    rows = []
    rotate = args.rotate is not None
    values = args.rotate if rotate else args.pads
    what = "rotated by" if rotate else "zeros appended"
    print(f"{args.folder}, framings {args.framings}; {what}: {' '.join(map(str, values))}")
    for path in sorted(p for p in args.folder.iterdir() if is_audio_file(p)):
        wav = load_audio(path, 16000)
        versions = [np.roll(wav, -n) if rotate else np.concatenate([wav, np.zeros(n, np.float32)]) for n in values]
        scores = [dnsmos_scores(version, 16000, args.framings)["dnsmos_ovrl"] for version in versions]
        rows.append(scores)
        print(f"{path.name:<14}" + " ".join(f"{s:.3f}" for s in scores) + f"   sd {np.std(scores):.3f}", flush=True)
    table = np.array(rows)
    print(f"{'mean':<14}" + " ".join(f"{s:.3f}" for s in table.mean(axis=0)))
    groups = [("all versions", list(range(len(values))))]
    if not rotate:
        groups.append(("up to 256 zeros", [i for i, n in enumerate(values) if n <= 256]))
    for label, cols in groups:
        part = table[:, cols]
        print(f"{label}: per-file sd (mean over files) {part.std(axis=1).mean():.3f}; "
              f"sd of the folder mean across versions {part.mean(axis=0).std():.3f}")


if __name__ == "__main__":
    main()
