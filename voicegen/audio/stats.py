"""Per-speaker statistics: log-mel mean/std per band and log-F0 mean/std, saved as JSON.

Converters see mels normalised with the source speaker's statistics and produce mels that are
de-normalised with the target's; the statistics travel inside model bundles next to the mel
contract they were computed with.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from voicegen.artifact_meta import parse_json
from voicegen.audio.contract import FeatureConfig
from voicegen.audio.f0 import F0Config, track_f0
from voicegen.audio.io import AUDIO_EXTENSIONS, is_audio_file, load_audio
from voicegen.audio.writer import atomic_output
from voicegen.errors import ArtifactError, AudioError, ConfigError
from voicegen.pathcheck import require_regular_file
from voicegen.progress import progress_bar

STATS_FORMAT_VERSION = 1
# normalize() divides by max(std, MIN_STD): a band that never changes (e.g. always at the log
# floor) would otherwise blow up to inf.
MIN_STD = 1e-3
F0_MIN_HZ = 60.0
F0_MAX_HZ = 500.0
# Speaker log-F0 statistics use the tracker of the pitch-conditioned vocoders, whose F0 the
# converters' statistical F0 transform moves.
STATS_F0 = F0Config()

ArrayOrTensor = TypeVar("ArrayOrTensor")
"""A numpy array or a torch tensor (this module never imports torch itself)."""


@dataclass
class SpeakerStats:
    """Statistics of one speaker's recordings.

    ``mel_mean`` / ``mel_std``: float64 ``(n_mels,)``, pooled over every frame of every file
    (population std, log-mel units of ``features``). ``log_f0_mean`` / ``log_f0_std``: natural log
    of F0 in Hz over voiced frames, tracked as the pitch-conditioned vocoders track it (WORLD DIO +
    StoneMask at the mel hop, :func:`voicegen.audio.f0.track_f0` with the default
    :class:`~voicegen.audio.f0.F0Config`); None when no frame was voiced.
    """

    mel_mean: np.ndarray
    mel_std: np.ndarray
    log_f0_mean: float | None
    log_f0_std: float | None
    num_files: int
    total_seconds: float
    num_frames: int
    num_voiced_frames: int
    features: FeatureConfig

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays as lists, the feature config as a dict)."""
        return {
            "format_version": STATS_FORMAT_VERSION,
            "mel_mean": np.asarray(self.mel_mean, dtype=np.float64).tolist(),
            "mel_std": np.asarray(self.mel_std, dtype=np.float64).tolist(),
            "log_f0_mean": self.log_f0_mean,
            "log_f0_std": self.log_f0_std,
            "num_files": self.num_files,
            "total_seconds": self.total_seconds,
            "num_frames": self.num_frames,
            "num_voiced_frames": self.num_voiced_frames,
            "features": self.features.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpeakerStats:
        """Inverse of ``to_dict``; ConfigError on unknown/missing keys or a newer format."""
        version = data.get("format_version")
        if version != STATS_FORMAT_VERSION:
            raise ConfigError(f"speaker stats format_version {version!r} is not supported (this "
                              f"voicegen reads {STATS_FORMAT_VERSION}); recompute the stats or upgrade")
        expected = set(cls.__dataclass_fields__) | {"format_version"}
        unknown, missing = sorted(set(data) - expected), sorted(expected - set(data))
        if unknown or missing:
            raise ConfigError(f"speaker stats: unknown key(s) {unknown}, missing key(s) {missing}")
        features = FeatureConfig.from_dict(data["features"])
        mel_mean = np.asarray(data["mel_mean"], dtype=np.float64)
        mel_std = np.asarray(data["mel_std"], dtype=np.float64)
        if mel_mean.shape != (features.n_mels,) or mel_std.shape != (features.n_mels,):
            raise ConfigError(f"speaker stats: mel_mean/mel_std must have n_mels={features.n_mels} "
                              f"values, got {mel_mean.shape} and {mel_std.shape}")
        return cls(mel_mean=mel_mean, mel_std=mel_std,
                   log_f0_mean=_optional_float(data["log_f0_mean"]),
                   log_f0_std=_optional_float(data["log_f0_std"]),
                   num_files=int(data["num_files"]), total_seconds=float(data["total_seconds"]),
                   num_frames=int(data["num_frames"]), num_voiced_frames=int(data["num_voiced_frames"]),
                   features=features)

    def save_json(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``to_dict()`` as indented JSON, atomically; refuses an existing file unless overwrite."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        with atomic_output(path, overwrite=overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> SpeakerStats:
        """Read a file written by ``save_json``; ArtifactError naming the file when it is unusable."""
        path = Path(path)
        require_regular_file(path, ArtifactError, "speaker stats file not found; run the stats stage first")
        try:
            data = parse_json(path.read_text(encoding="utf-8"), str(path), "recompute it")  # size/depth bounded
            if not isinstance(data, dict):
                raise ConfigError("the top level is not a JSON object")
            return cls.from_dict(data)
        except (json.JSONDecodeError, UnicodeDecodeError, ConfigError) as err:
            raise ArtifactError(f"{path}: not a valid speaker stats file ({err}); recompute it") from None


def list_audio_files(source: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Audio files under a folder (recursive, sorted; hidden files skipped) or the given list."""
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.is_dir():
            raise AudioError(f"{folder}: folder not found; pass a folder of audio files or a list of files")
        files = sorted(p for p in folder.rglob("*")
                       if p.is_file() and is_audio_file(p) and not p.name.startswith("."))
        if not files:
            raise AudioError(f"{folder}: no audio files ({' '.join(AUDIO_EXTENSIONS)}) found in this "
                             f"folder or below")
        return files
    files = [Path(p) for p in source]
    if not files:
        raise AudioError("no audio files given; pass a folder or a non-empty list of files")
    return files


def compute_stats(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    config: FeatureConfig,
    *,
    progress: bool = True,
) -> SpeakerStats:
    """Statistics over a folder (recursive) or a list of files, loaded at ``config.sample_rate``.

    A file that cannot be used raises its AudioError (naming the file); a clip shorter than one
    frame (``n_fft``) is an error too. Sums are kept in float64.
    """
    from voicegen.audio.logmel import log_mel

    files = list_audio_files(source)
    mel_sum = np.zeros(config.n_mels, dtype=np.float64)
    mel_sq_sum = np.zeros(config.n_mels, dtype=np.float64)
    num_frames = 0
    f0_sum = f0_sq_sum = 0.0
    num_voiced = 0
    total_samples = 0
    for path in progress_bar(files, desc="speaker stats", unit="file", enabled=progress):
        wav = load_audio(path, config.sample_rate, min_samples=config.n_fft)
        mel = log_mel(wav, config).astype(np.float64)
        mel_sum += mel.sum(axis=1)
        mel_sq_sum += np.square(mel).sum(axis=1)
        num_frames += mel.shape[1]
        f0_hz = track_f0(wav, config.sample_rate, config.hop_length, STATS_F0)
        lf0 = np.log(f0_hz[f0_hz > 0])
        f0_sum += float(lf0.sum())
        f0_sq_sum += float(np.square(lf0).sum())
        num_voiced += int(lf0.shape[0])
        total_samples += wav.shape[0]
    mel_mean = mel_sum / num_frames
    mel_std = np.sqrt(np.maximum(mel_sq_sum / num_frames - np.square(mel_mean), 0.0))
    log_f0_mean = log_f0_std = None
    if num_voiced:
        log_f0_mean = f0_sum / num_voiced
        log_f0_std = math.sqrt(max(f0_sq_sum / num_voiced - log_f0_mean**2, 0.0))
    return SpeakerStats(mel_mean=mel_mean, mel_std=mel_std, log_f0_mean=log_f0_mean,
                        log_f0_std=log_f0_std, num_files=len(files),
                        total_seconds=total_samples / config.sample_rate, num_frames=num_frames,
                        num_voiced_frames=num_voiced, features=config)


def normalize(mel: ArrayOrTensor, stats: SpeakerStats) -> ArrayOrTensor:
    """``(mel - mean) / std`` per band; mel ``(..., n_mels, frames)`` as numpy or torch (any device)."""
    mean, std = _band_params(mel, stats)
    return (mel - mean) / std


def denormalize(mel: ArrayOrTensor, stats: SpeakerStats) -> ArrayOrTensor:
    """Inverse of :func:`normalize`: ``mel * std + mean`` per band."""
    mean, std = _band_params(mel, stats)
    return mel * std + mean


def _band_params(mel: Any, stats: SpeakerStats) -> tuple[Any, Any]:
    """Mean and floored std shaped ``(n_mels, 1)`` in mel's array type, dtype and device."""
    n_mels = stats.mel_mean.shape[0]
    if mel.ndim < 2 or mel.shape[-2] != n_mels:
        raise ValueError(f"mel must be shaped (..., {n_mels}, frames) to match the stats, got "
                         f"{tuple(mel.shape)}")
    mean = stats.mel_mean[:, None]
    std = np.maximum(stats.mel_std, MIN_STD)[:, None]
    if not isinstance(mel, np.ndarray):  # a torch tensor: torch is loaded
        import torch

        return (torch.as_tensor(mean, dtype=mel.dtype, device=mel.device),
                torch.as_tensor(std, dtype=mel.dtype, device=mel.device))
    return mean.astype(mel.dtype, copy=False), std.astype(mel.dtype, copy=False)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
