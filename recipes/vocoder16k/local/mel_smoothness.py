"""How smooth are a converter's output mels next to real ones? (the reason for `data.mel_smoothing`)

    python recipes/vocoder16k/local/mel_smoothness.py --model vcc2016_sf1_tm1 \
        --src ../shared/data/vcc2016/dev_parallel/SF1 --real ../shared/data/vcc2016/dev_parallel/TM1 \
        --source SF1 --target TM1

Converts every .wav of --src with the bundle and compares its converted log-mel with the log-mel of
the real recording of the same name in --real, per group of 10 mel bands: the mean absolute change
from one frame to the next (converted / real; below 1 = smoother in time) and the variance over
time (GV, converted / real).
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np

from voicegen.audio.io import load_audio
from voicegen.audio.logmel import log_mel
from voicegen.infer.bundles import find_bundle
from voicegen.infer.convert import Converter

GROUP = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--model", "--src", "--real", "--source", "--target"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    converter = Converter(find_bundle(args.model))
    contract = converter.feature_config
    change, variance = [], []
    for path in sorted(glob.glob(os.path.join(args.src, "*.wav"))):
        _, _, converted = converter.convert_wav(load_audio(path, converter.sample_rate), args.source, args.target)
        real = log_mel(load_audio(os.path.join(args.real, os.path.basename(path)), converter.sample_rate), contract)
        converted = np.asarray(converted)
        change.append(np.abs(np.diff(converted, axis=1)).mean(1) / np.abs(np.diff(real, axis=1)).mean(1))
        variance.append(converted.var(1) / real.var(1))
    bands = contract.n_mels
    for name, values in (("frame-to-frame change", change), ("variance over time (GV)", variance)):
        ratio = np.mean(values, axis=0)
        groups = [f"{ratio[i:i + GROUP].mean():.2f}" for i in range(0, bands, GROUP)]
        print(f"{name}, converted / real, bands in groups of {GROUP}: {' '.join(groups)}")
    print(f"({len(change)} files)")


if __name__ == "__main__":
    main()
