"""Does the vocoder lose naturalness in the course of the fundamental's phase? DNSMOS of the shipped vocoder's
copy-synthesis when its harmonic source follows the recording's own fundamental phase (a diagnostic, not a feature).

    python recipes/vocoder16k/logs/2026-12-06_phase_loss/oracle_phase_test.py --dev DEV --lj LJ16 0 0.25 0.5

The source's phase is integrated from the frame-rate F0 (DIO, the vocoder's tracker settings). Here the recording is
heterodyned by that phase (multiplied by exp(-i theta)), low-passed at BANDWIDTH x the file's median F0 (a 4th-order
Butterworth, forwards and backwards), and the unwrapped angle of the result, the recording's fundamental phase minus
the source's, is added to the source's phase sample by sample (BANDWIDTH 0: the source as shipped). Whole-file
vocoding with the torch generator, DNSMOS OVRL with 4 framings, means over SF1's 10 evaluation files and the 16 LJ
Speech clips.
"""

import argparse

import numpy as np
import torch
from jitter_test import dnsmos_means, excitation_plus  # this folder (on sys.path when run as a script)
from scipy.signal import butter, sosfiltfilt

import voicegen.models.vocoder.source_filter as source_filter
from voicegen.audio.f0 import f0_rows
from voicegen.audio.features import compute_mel, get_preset
from voicegen.infer.vocode import load_vocoder
from voicegen.models.vocoder import frame_phase

ORIGINAL = source_filter.harmonic_excitation
EXTRA: list = [None]  # per-sample phase added to the source, indexed by the excitation's sample n + pad
BANDWIDTH = [0.0]


def excitation_with_extra(lf0, phase, sample_rate, hop_length, pad):
    """source_filter.harmonic_excitation with EXTRA[0] added to its phase (the same closed form)."""
    if EXTRA[0] is None:
        return ORIGINAL(lf0, phase, sample_rate, hop_length, pad)
    return excitation_plus(lf0, phase, sample_rate, hop_length, pad,
                           lambda f_s, omega, length: EXTRA[0][None, :length].to(lf0.dtype))


def source_phase(lf0: torch.Tensor, start: torch.Tensor, sample_rate: int, hop: int, length: int) -> np.ndarray:
    """The shipped source's phase at audio samples 0..length-1 (frame i's centre is sample i * hop + hop / 2)."""
    phase = frame_phase(lf0[None], start, sample_rate, hop)[0].double().numpy()
    f0 = lf0.double().exp().numpy()
    centres = np.arange(len(f0)) * hop + hop // 2
    samples = np.arange(length)
    freq = np.interp(samples, centres, f0)
    theta = np.cumsum(2 * np.pi * freq / sample_rate)
    return theta - theta[centres[0]] + phase[0] if len(f0) else theta


def oracle_extra(wav: np.ndarray, lf0: torch.Tensor, vuv: np.ndarray, rate: int, hop: int, bandwidth: float,
                 pad: int) -> torch.Tensor:
    theta = source_phase(lf0, torch.zeros(1), rate, hop, len(wav))
    voiced_f0 = np.exp(lf0.numpy())[vuv > 0.5]
    cutoff = bandwidth * float(np.median(voiced_f0 if len(voiced_f0) else np.exp(lf0.numpy())))
    sos = butter(4, cutoff, fs=rate, output="sos")
    base = sosfiltfilt(sos, wav * np.cos(theta)) - 1j * sosfiltfilt(sos, wav * np.sin(theta))
    delta = np.unwrap(np.angle(base))
    padded = np.concatenate([np.full(pad, delta[0]), delta, np.full(pad + 4 * hop, delta[-1])])
    return torch.from_numpy(padded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", required=True)
    parser.add_argument("--lj", required=True)
    parser.add_argument("--model", default="voicegen/assets/models/vocoder16k")
    parser.add_argument("bandwidths", nargs="+", type=float)
    args = parser.parse_args()
    torch.set_num_threads(1)
    source_filter.harmonic_excitation = excitation_with_extra
    vocoder = load_vocoder(args.model, runtime="torch")
    generator, contract = vocoder.generator, get_preset("vc16k")
    rate, hop = contract.sample_rate, contract.hop_length
    pad = (contract.n_fft - hop) // 2

    def vocode(wav):
        mel = torch.from_numpy(compute_mel(wav, contract)).float()
        rows = torch.from_numpy(f0_rows(wav, rate, hop, vocoder.f0_config)).float()[:, :mel.shape[1]]
        x = torch.cat([mel, rows, frame_phase(rows[:1], torch.zeros(1), rate, hop)], dim=0)[None]
        EXTRA[0] = (oracle_extra(wav.astype(np.float64), rows[0], rows[1].numpy(), rate, hop, BANDWIDTH[0], pad)
                    if BANDWIDTH[0] > 0 else None)
        with torch.no_grad():
            return generator(x)[0, 0].numpy()

    for bandwidth in args.bandwidths:
        BANDWIDTH[0] = bandwidth
        print(f"bandwidth {bandwidth:g} x F0: " + dnsmos_means(vocoder, args.dev, args.lj, vocode), flush=True)


if __name__ == "__main__":
    main()
