"""Mel-cepstral distortion (MCD) between two utterances, aligned by dynamic time warping.

Definition (the numbers ``voicegen eval`` reports as ``mcd_db``):

1. Spectral envelope: WORLD CheapTrick (``pyworld``) power envelope ``sp(t, k)`` on a 5 ms grid,
   driven by WORLD F0 (see :mod:`voicegen.eval.f0`); FFT size from WORLD's rule for a 60 Hz F0
   floor (1024 at 16 kHz, 2048 at 22.05 kHz).
2. Mel-cepstrum (SPTK convention, as ``pysptk.sp2mc``): the real cepstrum of ``log sp`` with its
   zeroth coefficient halved, frequency-warped by a first-order all-pass with constant ``alpha``
   (SPTK ``freqt``) to coefficients ``mc(t, 0..order)``, so that
   ``log |H(e^{jw})| = sum_m mc(m) cos(m w~)`` with ``|H|^2 = sp`` on the warped axis ``w~``.
   Order and alpha follow the sample rate: 16 kHz -> 24 and 0.42; 22.05 kHz -> 34 and 0.45.
3. Silence at the start and end of each file is dropped: edge frames whose envelope power
   (``10 log10 mean_k sp(t, k)``) is more than :data:`TRIM_DB` below the file's loudest frame.
   Pauses inside the utterance are kept.
4. DTW (:func:`voicegen.eval.dtw.dtw_path`) aligns ``mc(., 1..order)`` of the converted and the
   reference file with Euclidean frame distance; ``c0`` (frame energy) is left out of both the
   alignment and the distance, so loudness does not count.
5. ``MCD = mean over the path P of (10 / ln 10) * sqrt(2 * sum_{d=1..order} (mc_x(i, d) - mc_y(j, d))^2)``
   in dB; identical inputs give exactly 0.

Floor: a copy delayed by a whole number of 5 ms frames scores ~0, but one delayed by a fraction
of a frame does not, because its analysis windows see different samples: 0.8 dB for 0.5 ms and
2.7 dB for half a frame (2.5 ms) on a VCC 2016 clip. Differences below ~3 dB between
unsynchronised recordings are within this floor. SF1 against TM1 (two speakers reading the same
sentences) averages 9.43 dB over the 10 dev pairs.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from voicegen.errors import ConfigError

# (order, all-pass constant) by sample rate: the values commonly used with SPTK for speech, whose
# warped frequency axis approximates the mel scale at that rate.
MCEP_SETTINGS: Mapping[int, tuple[int, float]] = types.MappingProxyType({16000: (24, 0.42), 22050: (34, 0.45)})
# dB per unit of Euclidean mel-cepstral distance: 10/ln(10) converts nepers of log-amplitude to
# dB and sqrt(2) counts the mirrored half of the two-sided cepstrum.
MCD_DB_PER_UNIT = 10.0 / math.log(10.0) * math.sqrt(2.0)
# Edge frames more than this far below the loudest frame are silence (trimmed before DTW).
TRIM_DB = 40.0


@dataclass(frozen=True)
class McepSettings:
    """Mel-cepstrum order (coefficients 1..order are compared; c0 is not) and all-pass constant."""

    order: int
    alpha: float


def mcep_settings(sample_rate: int, order: int | None = None, alpha: float | None = None) -> McepSettings:
    """The order and alpha for ``sample_rate`` (16000 or 22050), or the explicit ones given."""
    if order is None or alpha is None:
        if sample_rate not in MCEP_SETTINGS:
            rates = " or ".join(f"{rate} Hz" for rate in MCEP_SETTINGS)
            raise ConfigError(f"no mel-cepstrum settings for {sample_rate} Hz audio (defined for "
                              f"{rates}); resample the files to one of those rates")
        default_order, default_alpha = MCEP_SETTINGS[sample_rate]
        order = default_order if order is None else order
        alpha = default_alpha if alpha is None else alpha
    if not isinstance(order, int) or order < 1:
        raise ConfigError(f"mel-cepstrum order must be a positive integer, got {order!r}")
    if not -1.0 < alpha < 1.0:
        raise ConfigError(f"all-pass constant alpha must be in (-1, 1), got {alpha!r}")
    return McepSettings(order=order, alpha=float(alpha))


def freqt_matrix(in_length: int, order: int, alpha: float) -> np.ndarray:
    """The linear map of SPTK's ``freqt``: cepstrum ``(in_length,)`` -> warped ``(order + 1,)``.

    Returns ``W`` shaped ``(in_length, order + 1)`` so that ``mc = c @ W``. Built by running the
    all-pass filter-bank recursion (Oppenheim and Johnson 1972) on every unit cepstrum at once:
    input coefficients are fed from the highest quefrency down, and output ``j`` follows
    ``g_j <- g_{j-1}' + alpha (g_j' - g_{j-1})`` with ``g_0 <- c_m + alpha g_0'`` and
    ``g_1 <- (1 - alpha^2) g_0' + alpha g_1'`` (primes: the previous step).
    """
    beta = 1.0 - alpha * alpha
    basis = np.eye(in_length)
    g = np.zeros((in_length, order + 1))
    for m in range(in_length - 1, -1, -1):
        prev = g.copy()
        g[:, 0] = basis[:, m] + alpha * prev[:, 0]
        if order >= 1:
            g[:, 1] = beta * prev[:, 0] + alpha * prev[:, 1]
        for j in range(2, order + 1):
            g[:, j] = prev[:, j - 1] + alpha * (prev[:, j] - g[:, j - 1])
    return g


class MelCepstrum:
    """Power spectral envelopes -> mel-cepstra, for one FFT size, order and alpha.

    ``MelCepstrum(fft_size, order, alpha)(sp)`` maps ``sp`` ``(frames, fft_size // 2 + 1)`` (power,
    > 0) to ``mc`` ``(frames, order + 1)``, equal to ``pysptk.sp2mc(sp, order, alpha)`` (tested). The
    warping matrix is built once per instance (~0.1 s), then each file is one matrix product.
    """

    def __init__(self, fft_size: int, order: int, alpha: float) -> None:
        if fft_size < 2 * (order + 1):
            raise ConfigError(f"fft_size {fft_size} is too small for mel-cepstrum order {order}")
        self.fft_size = fft_size
        self.settings = McepSettings(order=order, alpha=alpha)
        # Cepstral coefficients beyond half the FFT mirror the lower ones; warping towards
        # order ~30 gives them weights of about alpha**(m - order), far below float precision.
        self._warp = freqt_matrix(fft_size // 2 + 1, order, alpha)

    def __call__(self, sp: np.ndarray) -> np.ndarray:
        sp = np.asarray(sp, dtype=np.float64)
        if sp.ndim != 2 or sp.shape[1] != self.fft_size // 2 + 1:
            raise ValueError(f"expected a power envelope shaped (frames, {self.fft_size // 2 + 1}), "
                             f"got {sp.shape}")
        cepstrum = np.fft.irfft(np.log(sp), n=self.fft_size, axis=1)[:, : self.fft_size // 2 + 1]
        cepstrum[:, 0] *= 0.5  # SPTK's one-sided (minimum-phase) convention
        return cepstrum @ self._warp


def frame_distortion_db(mc_x: np.ndarray, mc_y: np.ndarray) -> np.ndarray:
    """Per-frame distortion in dB between aligned mel-cepstra ``(frames, order + 1)``; c0 is skipped."""
    diff = np.asarray(mc_x, dtype=np.float64)[:, 1:] - np.asarray(mc_y, dtype=np.float64)[:, 1:]
    return MCD_DB_PER_UNIT * np.sqrt(np.sum(diff * diff, axis=1))


def mel_cepstral_distortion(
    mc_x: np.ndarray, mc_y: np.ndarray, path: tuple[np.ndarray, np.ndarray]
) -> float:
    """Mean distortion in dB over a DTW ``path`` (index arrays into ``mc_x`` and ``mc_y``)."""
    path_x, path_y = path
    return float(np.mean(frame_distortion_db(mc_x[path_x], mc_y[path_y])))


def speech_span(sp: np.ndarray, trim_db: float | None = TRIM_DB) -> slice:
    """Frames from the first to the last one within ``trim_db`` of the loudest (all when None)."""
    if trim_db is None:
        return slice(0, sp.shape[0])
    power_db = 10.0 * np.log10(np.maximum(np.mean(sp, axis=1), np.finfo(np.float64).tiny))
    loud = np.flatnonzero(power_db >= power_db.max() - trim_db)
    return slice(int(loud[0]), int(loud[-1]) + 1)
