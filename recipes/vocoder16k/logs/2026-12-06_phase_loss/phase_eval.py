"""How well does a copy-synthesis keep its recording's relative harmonic phases? The mean of
voicegen.losses.phase.harmonic_phase_loss (0 = equal, ~1 = unrelated, 2 = opposite) over files, per set, against
the recording and against the recording inverted (LJ Speech's recordings have the other polarity than VCC 2016's and
LibriSpeech's).

    python recipes/vocoder16k/logs/2026-12-06_phase_loss/phase_eval.py --dev DEV --lj LJ16 X [X ...]

X holds SF1/, TM1/ and LJ/ (copy-syntheses named as the recordings, as score_ckpt.sh of ../2026-12-06_short_windows
writes them); F0 and voicing of each recording by the shipped vocoder's tracker settings (DIO, 60-800 Hz, 0.2, 4
sub-frames).
"""

import argparse
import glob
import os

import numpy as np
import torch

from voicegen.audio.f0 import F0Config, f0_rows
from voicegen.audio.features import get_preset
from voicegen.audio.io import load_audio
from voicegen.losses.phase import harmonic_phase_loss

CONTRACT = get_preset("vc16k")
TRACKER = F0Config(f0_min=60.0, f0_max=800.0, voicing_threshold=0.2, dio_subframes=4)


def file_losses(copy: str, recording: str) -> tuple[float, float]:
    rate = CONTRACT.sample_rate
    ref, gen = load_audio(recording, rate), load_audio(copy, rate)
    n = min(len(ref), len(gen))
    ref, gen = ref[:n], gen[:n]
    rows = torch.from_numpy(f0_rows(ref, rate, CONTRACT.hop_length, TRACKER)).float()
    window = torch.hann_window(CONTRACT.win_length)
    return tuple(float(harmonic_phase_loss(
        torch.from_numpy(gen)[None], torch.from_numpy(sign * ref)[None], rows[None, 0], rows[None, 1],
        n_fft=CONTRACT.n_fft, hop_length=CONTRACT.hop_length, pad=CONTRACT.pad, sample_rate=rate, window=window))
        for sign in (1.0, -1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", required=True, help="VCC 2016 dev_parallel folder (SF1/, TM1/)")
    parser.add_argument("--lj", required=True, help="the 16 LJ Speech clips at 16 kHz")
    parser.add_argument("copies", nargs="+")
    args = parser.parse_args()
    sets = {"SF1": f"{args.dev}/SF1", "TM1": f"{args.dev}/TM1", "LJ": args.lj}
    for copies in args.copies:
        parts = []
        for name, folder in sets.items():
            values = np.array([file_losses(f"{copies}/{name}/{os.path.basename(f)}", f)
                               for f in sorted(glob.glob(f"{folder}/*.wav"))])
            parts.append(f"{name} {values[:, 0].mean():.3f} (inverted recording {values[:, 1].mean():.3f})")
        print(f"{copies.rstrip('/').split('/')[-1]}: " + " | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
