"""WORLD baselines with no learning at all: analysis -> resynthesis, and the classic statistical
voice conversion every learned converter must beat.

* :func:`world_resynthesis`: Harvest F0, CheapTrick envelope, D4C aperiodicity, synthesis. The
  ceiling of a parametric vocoder without training (the reference row of vocoder tables).
* :func:`world_convert`: the same analysis, then the log-Gaussian F0 transform
  ``lf0' = (lf0 - mu_s) / sigma_s * sigma_t + mu_t`` (voiced frames) and a per-dimension
  mean/variance transfer of the coded spectral envelope (WORLD's mel-cepstrum-like coding,
  :data:`ENVELOPE_DIMS` dimensions, over speech frames), aperiodicity kept; then synthesis.
  Speaker statistics come from :func:`world_speaker_stats` over each speaker's training files.

    stats_a, stats_b = world_speaker_stats(files_a, 16000), world_speaker_stats(files_b, 16000)
    wav_hat = world_convert(wav, 16000, stats_a, stats_b)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicegen.audio.io import load_audio

FRAME_PERIOD_MS = 5.0
F0_FLOOR_HZ, F0_CEIL_HZ = 50.0, 800.0
# Coded spectral envelope (pyworld.code_spectral_envelope): dimensions transferred per frame.
ENVELOPE_DIMS = 40
# Frames whose envelope energy is more than this many dB below the file's loudest frame are
# silence: left out of the statistics (their envelope is noise floor, not the voice).
SPEECH_DB = 40.0


@dataclass(frozen=True)
class WorldStats:
    """One speaker's WORLD statistics: log-F0 mean/std over voiced frames (natural log of Hz) and the
    per-dimension mean/std of the coded envelope over speech frames."""

    lf0_mean: float
    lf0_std: float
    env_mean: np.ndarray
    env_std: np.ndarray


def _analyse(wav: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pyworld

    x = np.ascontiguousarray(wav, dtype=np.float64)
    f0, times = pyworld.harvest(x, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                                frame_period=FRAME_PERIOD_MS)
    sp = pyworld.cheaptrick(x, f0, times, sample_rate)
    ap = pyworld.d4c(x, f0, times, sample_rate)
    return f0, sp, ap


def _synthesise(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, sample_rate: int, length: int) -> np.ndarray:
    import pyworld

    wav = pyworld.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap),
                             sample_rate, FRAME_PERIOD_MS)
    wav = np.pad(wav[:length], (0, max(0, length - len(wav))))
    return wav.astype(np.float32)


def world_resynthesis(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """WORLD analysis -> synthesis of a mono ``(T,)`` waveform; float32 ``(T,)``."""
    f0, sp, ap = _analyse(wav, sample_rate)
    return _synthesise(f0, sp, ap, sample_rate, len(wav))


def _speech_frames(sp: np.ndarray) -> np.ndarray:
    energy_db = 10 * np.log10(np.maximum(sp.sum(axis=1), 1e-20))
    return energy_db > energy_db.max() - SPEECH_DB


def world_speaker_stats(files: Iterable[str | Path], sample_rate: int) -> WorldStats:
    """:class:`WorldStats` over the audio ``files`` (loaded at ``sample_rate``)."""
    import pyworld

    lf0s, envs = [], []
    for path in files:
        f0, sp, _ = _analyse(load_audio(path, sample_rate), sample_rate)
        lf0s.append(np.log(f0[f0 > 0]))
        envs.append(pyworld.code_spectral_envelope(sp, sample_rate, ENVELOPE_DIMS)[_speech_frames(sp)])
    lf0 = np.concatenate(lf0s)
    env = np.concatenate(envs)
    if lf0.size < 2 or env.shape[0] < 2:
        raise ValueError("world_speaker_stats: too little voiced speech in the files")
    return WorldStats(lf0_mean=float(lf0.mean()), lf0_std=float(lf0.std()), env_mean=env.mean(axis=0),
                      env_std=np.maximum(env.std(axis=0), 1e-8))


def world_convert(wav: np.ndarray, sample_rate: int, source: WorldStats, target: WorldStats) -> np.ndarray:
    """Convert a mono ``(T,)`` waveform of the ``source`` speaker towards ``target`` (module doc)."""
    import pyworld

    f0, sp, ap = _analyse(wav, sample_rate)
    voiced = f0 > 0
    f0_hat = np.zeros_like(f0)
    f0_hat[voiced] = np.exp((np.log(f0[voiced]) - source.lf0_mean) / source.lf0_std * target.lf0_std
                            + target.lf0_mean)
    env = pyworld.code_spectral_envelope(sp, sample_rate, ENVELOPE_DIMS)
    env_hat = (env - source.env_mean) / source.env_std * target.env_std + target.env_mean
    fft_size = pyworld.get_cheaptrick_fft_size(sample_rate)
    sp_hat = pyworld.decode_spectral_envelope(np.ascontiguousarray(env_hat), sample_rate, fft_size)
    return _synthesise(f0_hat, sp_hat, ap, sample_rate, len(wav))


def semitone_shift(source: WorldStats, target: WorldStats) -> float:
    """The mean log-F0 difference in semitones (for reports)."""
    return 12.0 * (target.lf0_mean - source.lf0_mean) / math.log(2.0)
