"""Fast F0 (pitch) tracking for speaker statistics and log-F0 metrics.

Choice, measured on this project's 2-core CPU with 10 s of 16 kHz speech, hop 256:
``librosa.pyin`` took 8.6 s (0.27 s with a coarse grid, but then it called 80 % of voiced frames
unvoiced); ``librosa.yin`` took 0.03 s but gives no voicing decision. So this module runs YIN
(de Cheveigne & Kawahara 2002) itself, vectorised over frames with FFTs, and keeps YIN's
aperiodicity (the normalised-difference dip) for the voicing decision: a frame is voiced when the
dip is below :data:`VOICING_THRESHOLD` and its energy is within :data:`RELATIVE_ENERGY_DB` of the
loudest frame. About 0.05 s per 10 s of audio.
"""

from __future__ import annotations

import math

import numpy as np

# YIN's absolute threshold: the first period whose normalised difference dips below it wins,
# which avoids the sub-harmonic (octave-down) errors of a plain global minimum.
YIN_THRESHOLD = 0.15
# A frame is voiced when its best normalised difference is below this (0 = perfectly periodic).
VOICING_THRESHOLD = 0.3
# ... and its RMS is no more than this many dB below the loudest frame of the clip.
RELATIVE_ENERGY_DB = 40.0
# ... and above this absolute RMS (about -70 dBFS), so digital near-silence is unvoiced.
ABSOLUTE_RMS_FLOOR = 3e-4


def log_f0(
    wav: np.ndarray,
    sample_rate: int,
    hop_length: int,
    fmin: float = 60.0,
    fmax: float = 500.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Track F0 of a mono waveform.

    Args:
        wav: ``(T,)`` float samples in [-1, 1].
        sample_rate: Hz.
        hop_length: samples between frames; frame ``t`` is centred on sample ``t * hop_length``.
        fmin, fmax: search range in Hz (60-500 covers adult speech).

    Returns:
        ``(f0_hz, voiced)``: float32 ``(1 + T // hop_length,)`` F0 in Hz (0.0 where unvoiced) and the
        boolean voicing mask of the same shape. Take ``np.log(f0_hz[voiced])`` for log-F0.
    """
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1:
        raise ValueError(f"log_f0 expects a mono (T,) waveform, got shape {wav.shape}")
    if not 0 < fmin < fmax <= sample_rate / 2:
        raise ValueError(f"log_f0 needs 0 < fmin < fmax <= sample_rate/2, got fmin={fmin}, fmax={fmax}")
    min_period = max(2, int(math.floor(sample_rate / fmax)))
    max_period = int(math.ceil(sample_rate / fmin))
    window = max_period + 1  # integration window: one longest period
    frame_length = window + max_period + 1
    frames = _frame(wav, frame_length, hop_length)  # (n_frames, frame_length)

    cmndf = _cumulative_mean_normalized_difference(frames, window, max_period)
    period, dip = _pick_period(cmndf, min_period, max_period)

    rms = np.sqrt(np.mean(frames[:, :window + max_period // 2] ** 2, axis=1))
    loud_enough = (rms > ABSOLUTE_RMS_FLOOR) & (rms >= rms.max() * 10 ** (-RELATIVE_ENERGY_DB / 20))
    voiced = (dip < VOICING_THRESHOLD) & loud_enough
    f0_hz = np.where(voiced, sample_rate / period, 0.0).astype(np.float32)
    return f0_hz, voiced


def _frame(wav: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Zero-pad so frame ``t`` is centred on sample ``t * hop`` and cut ``1 + T // hop`` frames."""
    n_frames = 1 + wav.shape[0] // hop_length
    half = frame_length // 2
    needed = (n_frames - 1) * hop_length + frame_length
    padded = np.zeros(needed, dtype=np.float64)
    stop = min(wav.shape[0], needed - half)
    padded[half:half + stop] = wav[:stop]
    starts = np.arange(n_frames) * hop_length
    return padded[starts[:, None] + np.arange(frame_length)[None, :]]


def _cumulative_mean_normalized_difference(
    frames: np.ndarray, window: int, max_period: int
) -> np.ndarray:
    """YIN's d'(tau) for tau in 0..max_period, per frame: ``(n_frames, max_period + 1)``.

    d(tau) = sum_{j<W} (x[j] - x[j + tau])^2 = E(0) + E(tau) - 2 r(tau), with the lagged energies
    E from a cumulative sum and the cross-correlation r from one FFT per frame.
    """
    n_fft = 1 << int(math.ceil(math.log2(frames.shape[1] + window)))
    spectrum = np.fft.rfft(frames, n_fft, axis=1)
    head = np.fft.rfft(frames[:, :window], n_fft, axis=1)
    corr = np.fft.irfft(spectrum * np.conj(head), n_fft, axis=1)[:, : max_period + 1]
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    lags = np.arange(max_period + 1)
    lagged_energy = energy[:, lags + window] - energy[:, lags]
    diff = np.maximum(lagged_energy[:, :1] + lagged_energy - 2 * corr, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    cmndf = np.ones_like(diff)
    tiny = np.finfo(np.float64).tiny
    cmndf[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(cumulative, tiny)
    return cmndf


def _pick_period(cmndf: np.ndarray, min_period: int, max_period: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the period (samples, parabola-refined) and its d' value (aperiodicity)."""
    search = cmndf[:, min_period:max_period + 1]
    # Local minima below the threshold; the first one (shortest period) is YIN's choice.
    is_min = np.zeros_like(search, dtype=bool)
    is_min[:, 1:-1] = (search[:, 1:-1] <= search[:, :-2]) & (search[:, 1:-1] < search[:, 2:])
    candidates = is_min & (search < YIN_THRESHOLD)
    first = np.argmax(candidates, axis=1)
    best = np.where(candidates.any(axis=1), first, np.argmin(search, axis=1))
    rows = np.arange(search.shape[0])
    dip = search[rows, best]
    # Parabolic interpolation around the chosen lag for sub-sample precision.
    left = search[rows, np.clip(best - 1, 0, search.shape[1] - 1)]
    right = search[rows, np.clip(best + 1, 0, search.shape[1] - 1)]
    curvature = left - 2 * dip + right
    shift = np.where(curvature > 0, 0.5 * (left - right) / np.where(curvature > 0, curvature, 1.0), 0.0)
    period = min_period + best + np.clip(shift, -0.5, 0.5)
    return period, dip
