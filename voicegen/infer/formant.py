"""Formant shift on a log-mel: the spectral envelope moved along frequency, the pitch and harmonics left alone.

A log-mel band holds the log power density around its centre frequency (the ``slaney`` area norm
divides each triangle by its width), so moving the envelope by a factor ``r`` means reading each
band's value at ``f / r`` (:func:`formant_matrix`: linear between band centres, the edge bands held
beyond them). Warping the whole log-mel that way also moves the harmonic ripple of the low bands,
which a pitch-conditioned vocoder then finds at the wrong spacing for the F0 it is given (it learnt
mels whose ripple matches their F0): on the 10 SF1 evaluation sentences DNSMOS fell from 3.04 to
2.83 / 2.80 at -3 / +3 semitones. So each frame is split as WORLD splits a spectrum: its envelope is
the log-mel averaged over one harmonic spacing (a moving average ``F0`` Hz wide on a 4 Hz grid, read
back at the band centres), the rest is the harmonics' fine structure; only the envelope is warped and
the fine structure is added back where it was: 3.05 / 3.02, with the WORLD envelope of the output
moved by 0.842 / 1.188 (0.841 / 1.189 asked; ``recipes/vocoder16k/README.md``, "Formant shift").

Per frame that is one ``(n_mels, n_mels)`` matrix chosen by its F0 (a table over log-spaced F0 from
40 to 1000 Hz, 5 % apart), so it streams frame by frame and needs no torch. Only a pitch-conditioned
vocoder keeps the pitch: it takes F0 as its own rows; a mel-only vocoder reads the pitch from the
mel, which the shift would move too (``voicegen vocode --formant`` refuses it).
"""

from __future__ import annotations

import functools

import numpy as np

from voicegen.audio.contract import FeatureConfig, mel_band_edges
from voicegen.infer.options import MAX_FORMANT_SEMITONES, check_formant  # noqa: F401 (re-exported)

SEMITONES_PER_OCTAVE = 12.0
GRID_HZ = 4.0
"""Spacing of the frequency grid the envelope is averaged on."""
F0_TABLE = np.exp(np.linspace(np.log(40.0), np.log(1000.0), 64))
"""F0 values (Hz) with a precomputed matrix; a frame takes the nearest in log-F0."""


def band_centres(config: FeatureConfig) -> np.ndarray:
    """Centre frequencies in Hz ``(n_mels,)`` of the mel contract's bands (the peaks of its triangles)."""
    return mel_band_edges(config)[1:-1]


def interpolation(centres: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``(len(at), n)`` weights that read values given at ``centres`` (increasing) at frequencies ``at``:
    linear between centres, the first / last value beyond them."""
    n = centres.shape[0]
    at = np.clip(at, centres[0], centres[-1])
    upper = np.clip(np.searchsorted(centres, at, side="right"), 1, n - 1)
    lower = upper - 1
    weight = (at - centres[lower]) / (centres[upper] - centres[lower])
    matrix = np.zeros((at.shape[0], n))
    rows = np.arange(at.shape[0])
    np.add.at(matrix, (rows, lower), 1.0 - weight)
    np.add.at(matrix, (rows, upper), weight)
    return matrix


def formant_matrix(config: FeatureConfig, semitones: float) -> np.ndarray:
    """``(n_mels, n_mels)`` float32 ``W``: ``W @ mel`` reads each band at ``f_b / 2 ** (semitones / 12)``
    (the whole log-mel warped, harmonic ripple included). The identity for 0."""
    semitones = check_formant(semitones)
    centres = band_centres(config)
    if semitones == 0:
        return np.eye(centres.shape[0], dtype=np.float32)
    return interpolation(centres, centres / 2.0 ** (semitones / SEMITONES_PER_OCTAVE)).astype(np.float32)


def envelope_matrices(config: FeatureConfig, f0_hz: np.ndarray) -> np.ndarray:
    """``(len(f0_hz), n_mels, n_mels)``: for each F0, ``S`` with ``S @ mel`` the log-mel averaged over ``f0``
    Hz around each band centre (on a 4 Hz grid; a band wider than that keeps its own value): the envelope
    without the harmonic ripple."""
    centres = band_centres(config)
    grid = np.arange(centres[0], centres[-1] + GRID_HZ, GRID_HZ)
    on_grid = np.concatenate([np.zeros((1, centres.shape[0])), np.cumsum(interpolation(centres, grid), axis=0)])
    out = np.empty((len(f0_hz), centres.shape[0], centres.shape[0]))
    for i, f0 in enumerate(np.asarray(f0_hz, dtype=np.float64)):
        first = np.searchsorted(grid, centres - f0 / 2, side="left")
        last = np.searchsorted(grid, centres + f0 / 2, side="right")
        smooth = np.eye(centres.shape[0])
        wide = last - first >= 2
        smooth[wide] = (on_grid[last[wide]] - on_grid[first[wide]]) / (last[wide] - first[wide])[:, None]
        out[i] = smooth
    return out


class FormantShift:
    """Moves the envelope of log-mel frames by ``semitones``, each frame split by its own F0 (module doc).

    ``apply(mel, lf0)``: log-mel ``(n_mels, frames)`` and natural-log F0 ``(frames,)`` (continuous through
    unvoiced frames, as the F0 rows of :mod:`voicegen.audio.f0`) -> the shifted log-mel (float32).
    """

    def __init__(self, config: FeatureConfig, semitones: float) -> None:
        self.semitones = check_formant(semitones)
        self.n_mels = config.n_mels
        warp = formant_matrix(config, self.semitones).astype(np.float64)
        eye = np.eye(self.n_mels)
        smooth = envelope_matrices(config, F0_TABLE)
        self.table = (warp[None] @ smooth + (eye[None] - smooth)).astype(np.float32)
        self.log_f0 = np.log(F0_TABLE)

    def apply(self, mel: np.ndarray, lf0: np.ndarray) -> np.ndarray:
        mel = np.asarray(mel, dtype=np.float32)
        lf0 = np.asarray(lf0, dtype=np.float64).reshape(-1)
        if mel.ndim != 2 or mel.shape[0] != self.n_mels or lf0.shape[0] != mel.shape[1]:
            raise ValueError(f"expected a log-mel shaped ({self.n_mels}, frames) and one log-F0 per frame, got "
                             f"{mel.shape} and {lf0.shape}")
        if self.semitones == 0:
            return mel.copy()
        nearest = np.abs(self.log_f0[:, None] - lf0[None]).argmin(axis=0)
        out = np.empty_like(mel)
        for index in np.unique(nearest):
            frames = nearest == index
            out[:, frames] = self.table[index] @ mel[:, frames]
        return out

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Vocoder input rows ``(n_mels + 2, frames)`` (log-mel, lf0, vuv) with the log-mel shifted."""
        rows = np.asarray(rows, dtype=np.float32)
        return np.concatenate([self.apply(rows[:self.n_mels], rows[self.n_mels]), rows[self.n_mels:]], axis=0)


@functools.lru_cache(maxsize=8)
def formant_shift(config: FeatureConfig, semitones: float) -> FormantShift:
    """A :class:`FormantShift`, built once per mel contract and shift (its table takes ~35 ms: per file, 0.3 % of
    the real time of a 10 s conversion)."""
    return FormantShift(config, semitones)


def describe_formant(semitones: float) -> str:
    """What a formant shift does, one line: ``"formants: moved -2 semitones (x0.891 in frequency)"``."""
    return f"formants: moved {semitones:+g} semitones (x{2 ** (semitones / SEMITONES_PER_OCTAVE):.3f} in frequency)"
