"""The two baselines every voice converter is compared against.

* **No conversion**: the source recordings scored against the target's as if they were the
  conversions (:func:`no_conversion`); a converter must beat it on MCD and speaker similarity.
* **Per-bin mel mean/variance transfer**: normalise the source log-mel with the source
  speaker's statistics, de-normalise with the target's, vocode
  (:func:`mel_stats_transfer`). It moves the average spectral envelope (formant region,
  tilt, overall level) but not timing or frame-level dynamics, so a learned converter should
  beat it too. With a pitch-conditioned vocoder (``f0`` settings) the source's F0 is moved by
  the log-Gaussian transform of the same statistics, as the converters move it.
* **WORLD** (no learning at all): :mod:`voicegen.eval.world`.

    from voicegen.audio.stats import SpeakerStats
    wav_hat = mel_stats_transfer(wav, SpeakerStats.load_json("SF1.json"),
                                 SpeakerStats.load_json("TM1.json"), vocoder.wav_from_mel)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voicegen.audio.f0 import F0Config, affine_lf0, f0_rows, log_gaussian
from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.audio.stats import SpeakerStats, denormalize, normalize
from voicegen.audio.writer import GUARD_PEAK, save_audio
from voicegen.errors import ConfigError
from voicegen.eval.evaluate import DEFAULT_NUM_PLOTS, EvalReport, evaluate_folders
from voicegen.eval.pairing import list_named_audio
from voicegen.progress import progress_bar

VocoderFn = Callable[..., np.ndarray]
"""``vocoder_fn(mel)``: log-mel ``(n_mels, frames)`` in the stats' mel contract -> waveform ``(T,)``;
``vocoder_fn(mel, f0_rows)`` for a pitch-conditioned vocoder (F0 rows ``(2, frames)``)."""


def no_conversion(
    source_dir: str | os.PathLike,
    reference_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    speaker_similarity: bool | None = None,
    f0_method: str = "dio",
    num_plots: int = DEFAULT_NUM_PLOTS,
    overwrite: bool = False,
    progress: bool = True,
) -> EvalReport:
    """Evaluate the unconverted sources against the references (paired by name) into ``out_dir``.

    Same as ``voicegen eval --converted SOURCE_DIR --reference REFERENCE_DIR --out OUT_DIR``.
    """
    return evaluate_folders(source_dir, reference_dir, out_dir, speaker_similarity=speaker_similarity,
                            f0_method=f0_method, num_plots=num_plots, overwrite=overwrite,
                            progress=progress)


def transfer_mel_stats(mel: np.ndarray, source_stats: SpeakerStats, target_stats: SpeakerStats) -> np.ndarray:
    """Per-bin ``(mel - mu_s) / sigma_s * sigma_t + mu_t`` for a log-mel ``(n_mels, frames)``."""
    _check_same_contract(source_stats, target_stats)
    return denormalize(normalize(np.asarray(mel, dtype=np.float32), source_stats), target_stats)


def mel_stats_transfer(
    wav: np.ndarray, source_stats: SpeakerStats, target_stats: SpeakerStats, vocoder_fn: VocoderFn,
    f0: F0Config | None = None,
) -> np.ndarray:
    """Convert a mono ``(T,)`` waveform at the stats' sample rate; returns float32 ``(T,)``.

    The log-mel is computed with ``source_stats.features`` (the mel contract both stats and
    the vocoder must share), transferred with :func:`transfer_mel_stats`, then vocoded; the
    vocoder's output is cut (or zero-padded) to the input's length, so it stays sample-aligned.
    With ``f0`` (a pitch-conditioned vocoder's settings) the F0 rows are tracked, moved by the
    log-Gaussian transform of the stats' log-F0 and passed as ``vocoder_fn(mel, rows)``.
    """
    _check_same_contract(source_stats, target_stats)
    wav = np.asarray(wav, dtype=np.float32)
    contract = source_stats.features
    mel = transfer_mel_stats(compute_mel(wav, contract), source_stats, target_stats)
    if f0 is None:
        wav_hat = vocoder_fn(mel)
    else:
        rows = f0_rows(wav, contract.sample_rate, contract.hop_length, f0)
        if None not in (source_stats.log_f0_mean, source_stats.log_f0_std, target_stats.log_f0_mean,
                        target_stats.log_f0_std) and source_stats.log_f0_std:
            rows = affine_lf0(rows, *log_gaussian(source_stats.log_f0_mean, source_stats.log_f0_std,
                                                  target_stats.log_f0_mean, target_stats.log_f0_std))
        wav_hat = vocoder_fn(mel, rows)
    wav_hat = np.asarray(wav_hat, dtype=np.float32)
    if wav_hat.ndim != 1 or wav_hat.shape[0] == 0 or not np.isfinite(wav_hat).all():
        raise ValueError(f"vocoder_fn must return a finite mono (T,) waveform, got shape {wav_hat.shape}")
    length = np.asarray(wav).shape[0]
    return np.pad(wav_hat[:length], (0, max(0, length - wav_hat.shape[0])))


def mel_stats_transfer_folder(
    source_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    source_stats: SpeakerStats,
    target_stats: SpeakerStats,
    vocoder_fn: VocoderFn,
    *,
    f0: F0Config | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Convert every audio file under ``source_dir`` into ``out_dir/<same name>.wav`` (mirrored).

    The outputs pair by name with the targets, ready for ``voicegen eval``. An output whose peak
    exceeds full scale is scaled down to a peak of :data:`GUARD_PEAK` rather than clipped.
    """
    sample_rate = source_stats.features.sample_rate
    written = []
    named = list_named_audio(source_dir, "source")
    for name, path in progress_bar(list(named.items()), desc="mel stats transfer", unit="file", enabled=progress):
        wav = load_audio(path, sample_rate, min_samples=source_stats.features.min_samples)
        wav_hat = mel_stats_transfer(wav, source_stats, target_stats, vocoder_fn, f0)
        peak = float(np.abs(wav_hat).max())
        if peak > 1.0:
            wav_hat = wav_hat * (GUARD_PEAK / peak)
        written.append(save_audio(Path(out_dir) / f"{name}.wav", wav_hat, sample_rate, overwrite=overwrite))
    return written


def _check_same_contract(source_stats: SpeakerStats, target_stats: SpeakerStats) -> None:
    differing = source_stats.features.diff(target_stats.features)
    if differing:
        raise ConfigError(f"source and target statistics use different mel settings "
                          f"({', '.join(differing)}); recompute them with one preset")
