"""Copy-synthesis metrics for vocoders: the output is sample-aligned with its reference.

A vocoder re-synthesising a recording from its own mel should give back the recording, so these
compare the two waveforms frame by frame without DTW (both are cut to the shorter length):

* ``lsd_db``: log-spectral distance, ``mean_t sqrt(mean_k (10 log10 P_x(t,k) - 10 log10 P_y(t,k))^2)``
  in dB, with ``P = |STFT|^2 + LSD_POWER_FLOOR`` (Hann window of ``LSD_N_FFT`` samples, hop
  ``LSD_HOP_LENGTH``, frames centred with reflect padding).
* ``mel_l1``: ``mean |logmel_x - logmel_y|`` in natural-log units of the mel contract for the rate
  (vc16k at 16 kHz, hifigan22k at 22.05 kHz) — the same quantity as the vocoder's mel loss.
* ``pesq_wb``: wide-band PESQ (ITU-T P.862.2, MOS-LQO 1.04-4.64) at 16 kHz, the other rates
  resampled first; needs the ``pesq`` package (``pip install voicegen[eval]``).
* ``stoi``: short-time objective intelligibility (0-1, ``pystoi``, resampled internally to 10 kHz).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from voicegen.errors import ConfigError

LSD_N_FFT = 1024
LSD_HOP_LENGTH = 256
# Power floor (full-scale units): ~-100 dB, so digital silence does not dominate the distance.
LSD_POWER_FLOOR = 1e-10
PESQ_RATE = 16000
# Mel presets by sample rate for mel_l1.
MEL_PRESET_BY_RATE: Mapping[int, str] = types.MappingProxyType({16000: "vc16k", 22050: "hifigan22k"})
EVAL_EXTRA_HINT = "install the evaluation extras: pip install 'voicegen[eval]'"


@dataclass(frozen=True)
class CopySynthesisMetrics:
    """Waveform-aligned metrics; ``pesq_wb`` / ``stoi`` are NaN when their package is missing."""

    lsd_db: float
    mel_l1: float
    pesq_wb: float
    stoi: float


def log_spectral_distance(x: np.ndarray, y: np.ndarray) -> float:
    """LSD in dB between two aligned mono waveforms (cut to the shorter one)."""
    x, y = _aligned(x, y)
    power_x, power_y = _power_spectrogram(x), _power_spectrogram(y)
    diff_db = 10.0 * (np.log10(power_x) - np.log10(power_y))
    return float(np.mean(np.sqrt(np.mean(diff_db**2, axis=1))))


def mel_l1(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Mean absolute log-mel difference with the rate's mel preset (see the module docstring)."""
    from voicegen.audio.features import compute_mel, get_preset

    if sample_rate not in MEL_PRESET_BY_RATE:
        raise ConfigError(f"no mel preset for {sample_rate} Hz (have {sorted(MEL_PRESET_BY_RATE)}); "
                          f"resample the files")
    config = get_preset(MEL_PRESET_BY_RATE[sample_rate])
    x, y = _aligned(x, y)
    return float(np.mean(np.abs(compute_mel(x, config) - compute_mel(y, config))))


def pesq_wb(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Wide-band PESQ of ``x`` (degraded) against ``y`` (reference); ImportError without ``pesq``.

    NaN when PESQ finds no utterance to score (e.g. near-silent files).
    """
    from pesq import PesqError, pesq

    x, y = _aligned(x, y)
    if sample_rate != PESQ_RATE:
        import soxr

        x = soxr.resample(x, sample_rate, PESQ_RATE, quality="VHQ")
        y = soxr.resample(y, sample_rate, PESQ_RATE, quality="VHQ")
    try:
        return float(pesq(PESQ_RATE, y.astype(np.float64), x.astype(np.float64), "wb"))
    except PesqError:
        return math.nan


def stoi(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """STOI of ``x`` (processed) against ``y`` (clean reference); ImportError without ``pystoi``."""
    from pystoi import stoi as pystoi_stoi

    x, y = _aligned(x, y)
    return float(pystoi_stoi(y.astype(np.float64), x.astype(np.float64), sample_rate, extended=False))


def optional_metrics_available() -> dict[str, bool]:
    """Whether the packages behind ``pesq_wb`` and ``stoi`` can be imported."""
    available = {}
    for name, module in (("pesq_wb", "pesq"), ("stoi", "pystoi")):
        try:
            __import__(module)
            available[name] = True
        except ImportError:
            available[name] = False
    return available


def copy_synthesis_metrics(x: np.ndarray, y: np.ndarray, sample_rate: int) -> CopySynthesisMetrics:
    """All copy-synthesis metrics of vocoded ``x`` against the recording ``y`` (same rate)."""
    available = optional_metrics_available()
    return CopySynthesisMetrics(
        lsd_db=log_spectral_distance(x, y),
        mel_l1=mel_l1(x, y, sample_rate),
        pesq_wb=pesq_wb(x, y, sample_rate) if available["pesq_wb"] else math.nan,
        stoi=stoi(x, y, sample_rate) if available["stoi"] else math.nan,
    )


def _aligned(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"expected mono (T,) waveforms, got {x.shape} and {y.shape}")
    length = min(x.shape[0], y.shape[0])
    if length < LSD_N_FFT:
        raise ValueError(f"waveforms too short for copy-synthesis metrics: {length} samples "
                         f"(need {LSD_N_FFT})")
    return x[:length], y[:length]


def _power_spectrogram(wav: np.ndarray) -> np.ndarray:
    """``|STFT|^2 + floor`` shaped ``(frames, LSD_N_FFT // 2 + 1)``; frame t centred at t * hop."""
    half = LSD_N_FFT // 2
    padded = np.pad(wav.astype(np.float64), (half, half), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, LSD_N_FFT)[::LSD_HOP_LENGTH]
    window = np.hanning(LSD_N_FFT + 1)[:-1]  # periodic Hann
    return np.abs(np.fft.rfft(frames * window, axis=1)) ** 2 + LSD_POWER_FLOOR
