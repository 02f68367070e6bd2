"""Does the shipped vocoder sound too regular? DNSMOS of its copy-synthesis with random period jitter added to the
harmonic source (a diagnostic, not a feature of voicegen).

    python recipes/vocoder16k/logs/2026-12-06_phase_loss/jitter_test.py --dev DEV --lj LJ16 0 0.01

Each SIGMA: the source's instantaneous frequency times (1 + e), e ~ N(0, SIGMA) held over 40-sample blocks (2.5 ms,
about one period), its phase integrated; whole-file vocoding with the torch runtime, DNSMOS OVRL with 4 framings,
means over SF1's 10 evaluation files and the 16 LJ Speech clips.
"""

import argparse
import glob
import math

import numpy as np
import torch

import voicegen.models.vocoder.source_filter as source_filter
from voicegen.audio.f0 import f0_rows
from voicegen.audio.features import compute_mel, get_preset
from voicegen.audio.io import load_audio
from voicegen.eval.naturalness import dnsmos_scores
from voicegen.infer.vocode import load_vocoder

BLOCK = 40
SIGMA = [0.0]


def excitation_plus(lf0, phase, sample_rate, hop_length, pad, extra):
    """source_filter.harmonic_excitation (the same closed form) with ``extra(f_s, omega, length)`` radians ``(B or 1,
    length)`` added to its phase sample by sample; ``f_s`` is each sample's frame F0 ``(B, length)``, ``omega`` 2 pi /
    rate (also used by oracle_phase_test.py)."""
    batch, frames = lf0.shape
    length = (frames - 1) * hop_length + 2 * pad + hop_length
    n = torch.arange(length, dtype=lf0.dtype) - pad
    seg = torch.div(n - hop_length // 2, hop_length, rounding_mode="floor").clamp(0, frames - 1).long()
    t = n - (seg.to(n.dtype) * hop_length + hop_length // 2)
    nxt = (seg + 1).clamp(max=frames - 1)
    f0 = lf0.exp()
    f_s, f_n = f0[:, seg], f0[:, nxt]
    tp = t.clamp(min=0)
    omega = 2 * math.pi / sample_rate
    theta = phase[:, seg] + omega * (f_s * t + (f_n - f_s) * tp.square() / (2 * hop_length))
    theta = torch.remainder(theta + extra(f_s, omega, length), 2 * math.pi)
    freq = f_s + (f_n - f_s) * tp.clamp(max=hop_length) / hop_length
    harmonics = (0.5 * sample_rate) / freq
    top = harmonics.floor().clamp(min=1)
    frac = (harmonics - top).clamp(0, 1)
    half_sin = torch.sin(0.5 * theta)
    safe = half_sin.abs() > 1e-6
    dirichlet = torch.where(safe, torch.sin((top - 0.5) * theta) / (2 * torch.where(safe, half_sin, 1.0)) - 0.5,
                            top - 1)
    return (dirichlet + frac * torch.cos(top * theta)) * torch.sqrt(2 * freq / sample_rate)


def jittered_excitation(lf0, phase, sample_rate, hop_length, pad):
    """source_filter.harmonic_excitation with ``SIGMA[0]`` frequency jitter."""
    batch = lf0.shape[0]
    rng = torch.Generator().manual_seed(int(1e6 * float(lf0.sum())) % (2 ** 31))

    def jitter(f_s, omega, length):
        noise = SIGMA[0] * torch.randn(batch, length // BLOCK + 1, generator=rng).repeat_interleave(BLOCK, dim=1)
        return (omega * f_s * noise[:, :length]).cumsum(dim=1)

    return excitation_plus(lf0, phase, sample_rate, hop_length, pad, jitter)


def dnsmos_means(vocoder, dev: str, lj: str, vocode=None) -> str:
    """``SF1 x.xxx | LJ y.yyy``: mean DNSMOS OVRL (4 framings) of ``vocoder``'s whole-file copy-synthesis of SF1's
    evaluation files and the LJ clips, or of ``vocode(recording) -> waveform`` (also used by residual_phase_test.py
    and oracle_phase_test.py)."""
    contract = get_preset("vc16k")
    sets = {"SF1": sorted(glob.glob(f"{dev}/SF1/*.wav")), "LJ": sorted(glob.glob(f"{lj}/*.wav"))}
    parts = []
    for name, files in sets.items():
        scores = []
        for path in files:
            wav = load_audio(path, contract.sample_rate)
            out = vocode(wav) if vocode else vocoder.wav_from_mel(
                compute_mel(wav, contract), f0_rows(wav, contract.sample_rate, contract.hop_length, vocoder.f0_config))
            scores.append(dnsmos_scores(out, contract.sample_rate, 4)["dnsmos_ovrl"])
        parts.append(f"{name} {np.mean(scores):.3f}")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", required=True)
    parser.add_argument("--lj", required=True)
    parser.add_argument("--model", default="voicegen/assets/models/vocoder16k")
    parser.add_argument("sigmas", nargs="+", type=float)
    args = parser.parse_args()
    torch.set_num_threads(1)
    source_filter.harmonic_excitation = jittered_excitation
    vocoder = load_vocoder(args.model, runtime="torch")
    for sigma in args.sigmas:
        SIGMA[0] = sigma
        print(f"sigma {sigma:g}: " + dnsmos_means(vocoder, args.dev, args.lj), flush=True)


if __name__ == "__main__":
    main()
