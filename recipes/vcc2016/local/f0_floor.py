"""How low can log-F0 RMSE go? Score simple F0 predictors on the DTW paths of a converted folder.

    python recipes/vcc2016/local/f0_floor.py --converted runs/eval/conv \
        --reference ../shared/data/vcc2016/dev_parallel/TM1 --target-train ../shared/data/vcc2016/TM1

For every converted file and its parallel reference (same name), the DTW path and the F0 tracks are
the ones `voicegen eval --f0-method harvest` uses; the rows then replace the converted F0 by:

* converted: the converted audio's own F0 (what `voicegen eval` reports);
* flat: one constant F0 at the target speaker's mean log-F0 (from --target-train): no intonation;
* shrunk k: the converted contour with its deviations from its own mean scaled by k.

A system that keeps the source's intonation cannot know the reference speaker's, so the flat row is
about what "no intonation at all" scores; scores near it mean the metric is dominated by the
reference's own variation (intonation, creak, octave jumps of the tracker), not by the conversion.
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np

from voicegen.audio.io import load_audio
from voicegen.eval.analysis import WorldAnalyzer, compare
from voicegen.eval.f0 import world_f0

SHRINK = (0.25, 0.5, 0.75)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--converted", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--target-train", required=True, help="the target speaker's training folder")
    parser.add_argument("--sample-rate", type=int, default=16000)
    args = parser.parse_args()
    rate = args.sample_rate
    train = []
    for path in sorted(glob.glob(os.path.join(args.target_train, "*.wav"))):
        f0, _ = world_f0(load_audio(path, rate), rate, "harvest")
        train.append(np.log2(f0[f0 > 0]))
    mean = float(np.concatenate(train).mean())
    analyse = WorldAnalyzer(rate, f0_method="harvest")
    rows: dict[str, list[float]] = {"converted": [], "flat": [], **{f"shrunk {k}": [] for k in SHRINK}}
    octave_low = []
    for path in sorted(glob.glob(os.path.join(args.converted, "*.wav"))):
        converted = analyse(load_audio(path, rate))
        reference = analyse(load_audio(os.path.join(args.reference, os.path.basename(path)), rate))
        i, j = compare(converted, reference).path
        x, y = converted.f0_hz[i], reference.f0_hz[j]
        both = (x > 0) & (y > 0)
        lx, ly = np.log2(x[both]), np.log2(y[both])
        cents = {"converted": lx - ly, "flat": mean - ly,
                 **{f"shrunk {k}": lx.mean() + k * (lx - lx.mean()) - ly for k in SHRINK}}
        for name, diff in cents.items():
            rows[name].append(1200 * float(np.sqrt(np.mean(diff ** 2))))
        voiced = reference.f0_hz[reference.f0_hz > 0]
        octave_low.append(float(np.mean(np.log2(voiced / np.median(voiced)) < -0.5)))
    print(f"{len(octave_low)} pairs; target mean F0 {2 ** mean:.1f} Hz (harvest, {len(train)} training files)")
    print(f"reference frames more than half an octave below their utterance's median: {np.mean(octave_low):.3f}")
    for name, values in rows.items():
        print(f"  {name:12s} log-F0 RMSE {np.mean(values):6.1f} cents (mean over files)")


if __name__ == "__main__":
    main()
