"""Datasets of normalised log-mels for unpaired voice conversion (CycleGAN-style training).

* :class:`UnpairedMelDataset` — random ``segment_frames`` crops of speaker A and speaker B, each
  with a MaskCycleGAN-VC "filling in frames" mask (a random contiguous run of frames set to 0).
* :class:`MelClips` — whole clips of one speaker (validation), batch size 1.

Log-mels of every file are computed once and kept in memory, normalised per band with the
speaker's :class:`~voicegen.audio.stats.SpeakerStats` (computed from the same files unless given).
All randomness of an item (file, crop, mask) comes from the per-item seed the Trainer passes
(``takes_seed = True``; see ``voicegen.train.data``), so a resumed run sees exactly the same items.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from voicegen.audio.datasets import check_repeats
from voicegen.audio.f0 import F0Config, f0_rows
from voicegen.audio.features import FeatureConfig, MelSpectrogram, log_floor_value
from voicegen.audio.io import load_audio
from voicegen.audio.stats import (
    SpeakerStats,
    compute_stats,
    list_audio_files,
    normalize,
)
from voicegen.errors import AudioError, ConfigError
from voicegen.progress import progress_bar

DEFAULT_SEGMENT_FRAMES = 64  # ~1 s at 16 kHz / hop 256 (MaskCycleGAN-VC's crop)
MAX_SEGMENT_FRAMES = 4096
"""Longest training crop (frames; ~65 s at 16 kHz / hop 256): longer crops of speech clips are
padding, and a batch of them would not fit in memory."""


def check_segment_frames(segment_frames: int, repeats: int) -> None:
    """ConfigError (one line) for a crop length outside 1..MAX_SEGMENT_FRAMES or repeats outside
    1..MAX_REPEATS (:func:`voicegen.audio.datasets.check_repeats`)."""
    if not 1 <= segment_frames <= MAX_SEGMENT_FRAMES:
        raise ConfigError(f"data.segment_frames must be in 1..{MAX_SEGMENT_FRAMES} (the limit, "
                          f"voicegen.audio.mel_datasets.MAX_SEGMENT_FRAMES); got {segment_frames}")
    check_repeats(repeats)
DEFAULT_MASK_MAX_FRAMES = 25  # MaskCycleGAN-VC fills in up to 25 of 64 frames


def load_mels(files: Sequence[Path], config: FeatureConfig, *, progress: bool = False,
              desc: str = "log-mels") -> list[np.ndarray]:
    """Log-mels ``(n_mels, frames)`` float32 of ``files`` (loaded at the contract's rate)."""
    module = MelSpectrogram(config)
    mels = []
    for path in progress_bar(list(files), desc=desc, unit="file", enabled=progress):
        wav = load_audio(path, config.sample_rate, min_samples=config.n_fft)
        with torch.no_grad():
            mels.append(module(torch.from_numpy(wav)).numpy())
    return mels


def frame_mask(n_mels: int, frames: int, max_masked: int, generator: torch.Generator) -> torch.Tensor:
    """A ``(n_mels, frames)`` float32 mask of ones with one random run of frames set to 0.

    The run length is uniform in ``[0, max_masked]`` (capped at ``frames``) and its start uniform
    over the positions where it fits; every mel band of a masked frame is 0 (MaskCycleGAN-VC's FIF).
    """
    if max_masked < 0:
        raise ValueError(f"max_masked must be >= 0, got {max_masked}")
    length = int(torch.randint(0, min(max_masked, frames) + 1, (1,), generator=generator))
    start = int(torch.randint(0, frames - length + 1, (1,), generator=generator))
    mask = torch.ones(n_mels, frames)
    mask[:, start:start + length] = 0.0
    return mask


def _crop(mel: np.ndarray, frames: int, fill: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """A random ``frames``-long crop of ``mel`` (n_mels, F); shorter mels are padded with ``fill`` per band."""
    total = mel.shape[1]
    if total >= frames:
        start = int(torch.randint(0, total - frames + 1, (1,), generator=generator))
        return mel[:, start:start + frames]
    out = np.repeat(fill[:, None], frames, axis=1).astype(np.float32)
    offset = int(torch.randint(0, frames - total + 1, (1,), generator=generator))
    out[:, offset:offset + total] = mel
    return out


class _SpeakerMels:
    """One speaker's normalised mels, their stats, and the normalised value of silence per band."""

    def __init__(self, files: Sequence[Path], config: FeatureConfig, stats: SpeakerStats | None,
                 progress: bool, name: str) -> None:
        if not files:
            raise AudioError(f"speaker {name}: no audio files to train on")
        self.files = [Path(p) for p in files]
        if stats is None:
            stats = compute_stats(self.files, config, progress=progress)
        elif stats.features.diff(config):
            raise ConfigError(f"speaker {name}: the given stats were computed with other mel settings "
                              f"({', '.join(stats.features.diff(config))} differ); recompute them")
        self.stats = stats
        self.mels = [normalize(mel, stats) for mel in load_mels(self.files, config, progress=progress,
                                                                  desc=f"log-mels {name}")]
        self.silence = normalize(np.full((config.n_mels, 1), log_floor_value(config), dtype=np.float32), stats)[:, 0]
        lengths = np.array([mel.shape[1] for mel in self.mels], dtype=np.float64)
        self.weights = torch.from_numpy(lengths / lengths.sum())

    def sample(self, frames: int, generator: torch.Generator) -> np.ndarray:
        """A crop from a file chosen with probability proportional to its length (every frame equally likely)."""
        return self.crop(self.pick(generator), frames, generator)

    def pick(self, generator: torch.Generator) -> int:
        """A file index drawn with probability proportional to its length."""
        return int(torch.multinomial(self.weights, 1, generator=generator))

    def crop(self, index: int, frames: int, generator: torch.Generator) -> np.ndarray:
        """A random ``frames``-long crop of file ``index`` (padded with silence when shorter)."""
        return _crop(self.mels[index], frames, self.silence, generator)


class UnpairedMelDataset(Dataset):
    """Random crops of two speakers' normalised log-mels, with filling-in-frames masks.

    ``dataset[(index, item_seed)]`` -> ``{"a": (n_mels, segment_frames), "b": ..., "mask_a": ...,
    "mask_b": ...}`` float32: unmasked normalised mels of speaker A and B and each one's mask
    (see :func:`frame_mask`; ``mask_max_frames=0`` gives all-ones masks). The item's files, crops and
    masks follow from ``item_seed`` alone; ``index`` only counts items. One epoch has
    ``max(files_a, files_b) * repeats`` items.

    Args:
        files_a, files_b: audio files (or a folder, searched recursively) of speaker A and B.
        stats_a, stats_b: per-speaker statistics; ``None`` computes them from these files.
    """

    takes_seed = True

    def __init__(
        self,
        files_a: str | Path | Sequence[str | Path],
        files_b: str | Path | Sequence[str | Path],
        config: FeatureConfig,
        *,
        segment_frames: int = DEFAULT_SEGMENT_FRAMES,
        mask_max_frames: int = DEFAULT_MASK_MAX_FRAMES,
        stats_a: SpeakerStats | None = None,
        stats_b: SpeakerStats | None = None,
        repeats: int = 1,
        progress: bool = False,
    ) -> None:
        check_segment_frames(segment_frames, repeats)  # before any file is read
        if not 0 <= mask_max_frames <= segment_frames:
            raise ValueError(f"mask_max_frames must be in [0, segment_frames={segment_frames}], got {mask_max_frames}")
        self.config = config
        self.segment_frames = segment_frames
        self.mask_max_frames = mask_max_frames
        self.repeats = repeats
        self.speaker_a = _SpeakerMels(_files(files_a), config, stats_a, progress, "A")
        self.speaker_b = _SpeakerMels(_files(files_b), config, stats_b, progress, "B")

    @property
    def stats_a(self) -> SpeakerStats:
        return self.speaker_a.stats

    @property
    def stats_b(self) -> SpeakerStats:
        return self.speaker_b.stats

    def __len__(self) -> int:
        return max(len(self.speaker_a.mels), len(self.speaker_b.mels)) * self.repeats

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        _, seed = key
        generator = torch.Generator().manual_seed(seed)
        frames, n_mels = self.segment_frames, self.config.n_mels
        mel_a = self.speaker_a.sample(frames, generator)
        mel_b = self.speaker_b.sample(frames, generator)
        return {
            "a": torch.from_numpy(np.ascontiguousarray(mel_a, dtype=np.float32)),
            "b": torch.from_numpy(np.ascontiguousarray(mel_b, dtype=np.float32)),
            "mask_a": frame_mask(n_mels, frames, self.mask_max_frames, generator),
            "mask_b": frame_mask(n_mels, frames, self.mask_max_frames, generator),
        }


class MelClips(Dataset):
    """Whole normalised log-mels of one speaker: ``dataset[i] -> {"a": (n_mels, F), "index": i}``
    (and ``"f0": (2, F)``, the clip's F0 rows of :mod:`voicegen.audio.f0`, with ``f0`` settings:
    what a pitch-conditioned vocoder needs to render the conversion; and ``"reference": (T,)``,
    the other speaker's recording of the same sentence, with ``references``: parallel validation).

    Use batch size 1 (clip lengths differ). ``max_frames`` cuts each clip to its first frames.
    """

    def __init__(self, files: Sequence[str | Path], config: FeatureConfig, stats: SpeakerStats, *,
                 max_frames: int | None = None, f0: F0Config | None = None,
                 references: Sequence[str | Path] | None = None) -> None:
        self.files = [Path(p) for p in files]
        if references is not None and len(references) != len(self.files):
            raise ValueError(f"MelClips: {len(references)} references for {len(self.files)} clips")
        self.references = ([load_audio(path, config.sample_rate, min_samples=config.min_samples) for path in references]
                           if references is not None else None)
        mels = load_mels(self.files, config)
        self.mels = [np.ascontiguousarray(normalize(mel, stats)[:, :max_frames], dtype=np.float32) for mel in mels]
        self.rows = None
        if f0 is not None:
            self.rows = [np.ascontiguousarray(f0_rows(load_audio(path, config.sample_rate), config.sample_rate,
                                                      config.hop_length, f0)[:, :mel.shape[1]])
                         for path, mel in zip(self.files, self.mels)]

    def __len__(self) -> int:
        return len(self.mels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        item = {"a": torch.from_numpy(self.mels[index]), "index": index}
        if self.rows is not None:
            item["f0"] = torch.from_numpy(self.rows[index])
        if self.references is not None:
            item["reference"] = torch.from_numpy(self.references[index])
        return item


def _files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(source, (str, Path)):
        return list_audio_files(source)
    return [Path(p) for p in source]
