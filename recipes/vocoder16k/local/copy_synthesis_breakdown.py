"""Where does a copy-synthesis lose to the recording? MCD, level and harmonicity broken down.

    python recipes/vocoder16k/local/copy_synthesis_breakdown.py \
        --converted RUN/copy_synthesis/SF1 --reference ../shared/data/vcc2016/dev_parallel/SF1 [--dnsmos]

For every .wav of --reference with a namesake in --converted (a vocoder's re-synthesis, sample
aligned): the MCD of `voicegen eval` (Harvest F0, DTW) split by the reference frame on the path
(voiced; unvoiced within 30 dB of the file's loudest frame; quieter), the share of the squared
mel-cepstral error per coefficient (c1..c24) and how much of it is a constant bias; the level of
the re-synthesis against the recording per frequency band (dB, frames within 30 dB of the loudest);
and the spectral flatness of 3-7 kHz (geometric / arithmetic mean power: higher = noisier, lower
= more harmonic), both files. --dnsmos adds DNSMOS SIG / BAK / OVRL of both (speechmos).
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np

from voicegen.audio.io import load_audio
from voicegen.eval.analysis import WorldAnalyzer, compare
from voicegen.eval.mcd import MCD_DB_PER_UNIT, frame_distortion_db

RATE = 16000
N_FFT, HOP = 1024, 256
BAND_EDGES_HZ = (0, 250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000)
FLATNESS_BAND_HZ = (3000, 7000)
QUIET_DB = 30.0


def power_spectrogram(wav: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(wav.astype(np.float64), N_FFT)[::HOP] * np.hanning(N_FFT)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-12


def breakdown(pairs: list[tuple[str, str]], with_dnsmos: bool) -> list[str]:
    analyzer = WorldAnalyzer(RATE, f0_method="harvest")
    freqs = np.arange(N_FFT // 2 + 1) * RATE / N_FFT
    flat = (freqs >= FLATNESS_BAND_HZ[0]) & (freqs < FLATNESS_BAND_HZ[1])
    bands = [(freqs >= lo) & (freqs < hi) for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:])]
    split: dict[str, list[float]] = {"voiced": [], f"unvoiced > -{QUIET_DB:g} dB": [], "quieter": []}
    diffs, mcd, levels, flatness, scores = [], [], [], [], []
    for converted, reference in pairs:
        x, y = load_audio(converted, RATE), load_audio(reference, RATE)
        fx, fy = analyzer(x), analyzer(y)
        px, py = compare(fx, fy).path
        frame_db = frame_distortion_db(fx.mcep[px], fy.mcep[py])
        mcd.append(frame_db.mean())
        diffs.append(fx.mcep[px, 1:] - fy.mcep[py, 1:])
        level = (fy.mcep[py, 0] - fy.mcep[:, 0].max()) * 20.0 / np.log(10.0)
        voiced = fy.f0_hz[py] > 0
        for key, mask in zip(split, (voiced, ~voiced & (level > -QUIET_DB), ~voiced & (level <= -QUIET_DB))):
            split[key].extend(frame_db[mask])
        length = min(len(x), len(y))
        sx, sy = power_spectrogram(x[:length]), power_spectrogram(y[:length])
        loud = 10 * np.log10(sy.sum(axis=1))
        keep = loud > loud.max() - QUIET_DB
        sx, sy = sx[keep], sy[keep]
        levels.append([10 * np.log10(sx[:, band].mean() / sy[:, band].mean()) for band in bands])
        flatness.append(tuple(float(np.mean(np.exp(np.log(s[:, flat]).mean(axis=1)) / s[:, flat].mean(axis=1)))
                              for s in (sx, sy)))
        if with_dnsmos:
            from voicegen.eval.naturalness import dnsmos_scores

            scores.append([dnsmos_scores(wav, RATE)[f"dnsmos_{key}"] for wav in (x, y) for key in ("sig", "bak", "ovrl")])
    frames = sum(len(v) for v in split.values())
    lines = [f"{len(pairs)} files: MCD {np.mean(mcd):.3f} dB (mean of files)"]
    for key, values in split.items():
        lines.append(f"  {key:20s} {len(values) / frames:6.1%} of path frames, mean {np.mean(values) if values else 0:.3f} dB,"
                     f" contributes {np.sum(values) / frames:.3f}")
    d = np.concatenate(diffs)
    square, bias = (d ** 2).mean(axis=0), d.mean(axis=0)
    lines.append(f"  squared error per coefficient c1..c{d.shape[1]} (share): "
                 + " ".join(f"{v:.3f}" for v in square / square.sum()))
    lines.append(f"  constant bias: {(bias ** 2).sum() / square.sum():.1%} of it (RMS distance {MCD_DB_PER_UNIT * np.sqrt(square.sum()):.2f} dB)")
    edges = [f"{lo / 1000:g}-{hi / 1000:g}k" for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:])]
    lines.append("level, converted - reference (dB): " + ", ".join(f"{e} {v:+.2f}" for e, v in zip(edges, np.mean(levels, 0))))
    fx_mean, fy_mean = np.mean(flatness, axis=0)
    lines.append(f"flatness {FLATNESS_BAND_HZ[0] / 1000:g}-{FLATNESS_BAND_HZ[1] / 1000:g} kHz: converted {fx_mean:.3f}, "
                 f"reference {fy_mean:.3f}")
    if scores:
        s = np.mean(scores, axis=0)
        lines.append(f"DNSMOS SIG / BAK / OVRL: converted {s[0]:.3f} / {s[1]:.3f} / {s[2]:.3f}, "
                     f"reference {s[3]:.3f} / {s[4]:.3f} / {s[5]:.3f}")
    return lines


def namesake_pairs(parser: argparse.ArgumentParser, converted: str, reference: str) -> list[tuple[str, str]]:
    """(converted, reference) paths of every .wav of ``reference`` with a namesake in ``converted``; exits 2
    with one line when there is none (also used by band_swap.py)."""
    pairs = [(os.path.join(converted, os.path.basename(ref)), ref)
             for ref in sorted(glob.glob(os.path.join(reference, "*.wav")))
             if os.path.isfile(os.path.join(converted, os.path.basename(ref)))]
    if not pairs:
        parser.exit(2, f"no .wav of {reference} has a namesake in {converted}\n")
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--converted", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--dnsmos", action="store_true")
    args = parser.parse_args()
    print("\n".join(breakdown(namesake_pairs(parser, args.converted, args.reference), args.dnsmos)))


if __name__ == "__main__":
    main()
