"""How much of a source-filter vocoder's output, per band, comes from the harmonic source and how much from the
learnt residual, in the voiced frames of a copy-synthesis.

The generator's STFT is ``H * E + R`` (``SourceFilterGenerator.spectrum_parts``): the excitation ``E`` at the
given F0 shaped by the minimum-phase filter ``H``, plus the residual ``R``. This prints, per band, the power of
``H * E`` over that of ``R`` in dB, summed over the voiced frames of the given recordings (copy-synthesis: the
recording's own mel and DIO/Harvest F0):

    python recipes/vocoder16k/local/harmonic_share.py --model vocoder16k ../shared/data/vcc2016/dev_parallel/SF1
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

from voicegen.audio.io import load_audio
from voicegen.audio.stats import list_audio_files
from voicegen.infer.bundles import find_bundle
from voicegen.infer.stream import run_whole
from voicegen.infer.vocode import load_vocoder
from voicegen.models.vocoder.source_filter import LF0_ROW, VUV_ROW, SourceFilterGenerator, frame_phase

BANDS_HZ = ((0, 1000), (1000, 3000), (3000, 5000), (5000, 7000), (7000, 8000))


def band_powers(generator: SourceFilterGenerator, rows: np.ndarray, sample_rate: int) -> np.ndarray:
    """``(bands, 2)``: harmonic and residual power per band of :data:`BANDS_HZ`, voiced frames only."""
    x = torch.from_numpy(rows).float()[None]
    lf0 = x[:, generator.config.n_mels + LF0_ROW]
    phase = frame_phase(lf0, torch.zeros(1), sample_rate, generator.config.hop_length)
    x = torch.cat([x, phase[:, None]], dim=1)
    with torch.no_grad():
        harmonic, residual = generator.spectrum_parts(x)
    voiced = x[0, generator.config.n_mels + VUV_ROW] > 0.5
    freqs = np.arange(generator.n_bins) * sample_rate / generator.config.n_fft
    powers = np.zeros((len(BANDS_HZ), 2))
    for i, (lo, hi) in enumerate(BANDS_HZ):
        band = torch.from_numpy((freqs >= lo) & (freqs < hi))
        powers[i, 0] = harmonic[0][band][:, voiced].abs().square().sum().item()
        powers[i, 1] = residual[0][band][:, voiced].abs().square().sum().item()
    return powers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="vocoder16k", help="a source-filter vocoder (folder or installed name)")
    parser.add_argument("inputs", nargs="+", type=Path, help="recordings or folders of them")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    vocoder = load_vocoder(find_bundle(args.model), "cpu", runtime="torch")
    if not isinstance(vocoder.generator, SourceFilterGenerator):
        print(f"error: {args.model}: not a source-filter vocoder ({vocoder.generator_kind})", file=sys.stderr)
        return 2
    files = [f for p in args.inputs for f in (list_audio_files(p) if p.is_dir() else [p])]
    total = np.zeros((len(BANDS_HZ), 2))
    for path in files:
        rows = run_whole(vocoder.analysis(), load_audio(path, vocoder.sample_rate))
        total += band_powers(vocoder.generator, rows, vocoder.sample_rate)
    cells = [f"{lo / 1000:g}-{hi / 1000:g} kHz {10 * math.log10(h / r):+.1f}" for (lo, hi), (h, r) in zip(BANDS_HZ, total)]
    print(f"{len(files)} files, harmonic / residual power in voiced frames, dB: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
