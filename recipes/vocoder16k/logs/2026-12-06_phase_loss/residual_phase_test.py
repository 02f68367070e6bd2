"""Is the learnt residual's phase part of the buzz? DNSMOS of the shipped vocoder's copy-synthesis with the residual's
phase (psi) replaced by uniform random phase, everywhere or below a frequency (a diagnostic, not a feature).

    python recipes/vocoder16k/logs/2026-12-06_phase_loss/residual_phase_test.py --dev DEV --lj LJ16 none 8000 2000

Each variant: ``none`` = as shipped; a number F = psi random in the bins below F Hz. Whole-file vocoding with the
torch runtime, DNSMOS OVRL with 4 framings, means over SF1's 10 evaluation files and the 16 LJ Speech clips.
"""

import argparse

import numpy as np
import torch
from jitter_test import dnsmos_means  # this folder (on sys.path when run as a script)

from voicegen.infer.vocode import load_vocoder

BELOW_HZ = [None]


def random_residual_phase(generator):
    """Wrap ``generator.spectrum_parts`` so that the residual's phase is random below ``BELOW_HZ[0]``."""
    parts = generator.spectrum_parts

    def patched(x):
        harmonic, residual = parts(x)
        if BELOW_HZ[0] is None:
            return harmonic, residual
        bins = residual.shape[1]
        cut = int(round(BELOW_HZ[0] / (generator.config.sample_rate / 2) * (bins - 1))) + 1
        rng = torch.Generator().manual_seed(int(1e6 * float(x[:, -3].sum())) % (2 ** 31))
        phase = 2 * np.pi * torch.rand(residual.shape, generator=rng)
        random = torch.polar(residual.abs(), phase)
        keep = (torch.arange(bins) >= cut)[None, :, None]
        return harmonic, torch.where(keep, residual, random)

    generator.spectrum_parts = patched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", required=True)
    parser.add_argument("--lj", required=True)
    parser.add_argument("--model", default="voicegen/assets/models/vocoder16k")
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(1)
    vocoder = load_vocoder(args.model, runtime="torch")
    random_residual_phase(vocoder.generator)
    for variant in args.variants:
        BELOW_HZ[0] = None if variant == "none" else float(variant)
        print(f"residual phase random below {variant} Hz: " + dnsmos_means(vocoder, args.dev, args.lj), flush=True)


if __name__ == "__main__":
    main()
