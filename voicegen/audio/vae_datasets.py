"""Multi-speaker datasets of normalised log-mels for training a speaker-conditioned VAE.

* :func:`pool_stats` — one :class:`~voicegen.audio.stats.SpeakerStats` for several speakers
  (frame-weighted, exact for the pooled frames), used to normalise every speaker alike so that
  speaker differences stay in the mels (the decoder's speaker embedding explains them).
* :class:`MultiSpeakerMelDataset` — random ``segment_frames`` crops with their speaker id.
* :class:`MultiSpeakerMelClips` — whole held-out clips with their speaker id (validation, batch 1).

All randomness of an item comes from the per-item seed the Trainer passes (``takes_seed = True``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from voicegen.audio.features import FeatureConfig
from voicegen.audio.mel_datasets import (
    DEFAULT_SEGMENT_FRAMES,
    _crop,
    _SpeakerMels,
    check_segment_frames,
    load_mels,
)
from voicegen.audio.stats import SpeakerStats, normalize
from voicegen.errors import AudioError, ConfigError


def pool_stats(stats: Sequence[SpeakerStats]) -> SpeakerStats:
    """Statistics of the union of several speakers' frames (means and variances weighted by frames).

    Equal to computing the stats over all files at once; log-F0 pools the voiced frames likewise.
    """
    if not stats:
        raise ValueError("pool_stats: give at least one speaker's stats")
    config = stats[0].features
    for item in stats[1:]:
        if item.features.diff(config):
            raise ConfigError(f"pool_stats: speakers' stats use different mel settings "
                              f"({', '.join(item.features.diff(config))}); recompute them")
    frames = np.array([s.num_frames for s in stats], dtype=np.float64)
    means = np.stack([np.asarray(s.mel_mean, dtype=np.float64) for s in stats])
    second = np.stack([np.square(np.asarray(s.mel_std, dtype=np.float64)) for s in stats]) + np.square(means)
    mel_mean = (frames[:, None] * means).sum(0) / frames.sum()
    mel_var = (frames[:, None] * second).sum(0) / frames.sum() - np.square(mel_mean)
    voiced = [(s.num_voiced_frames, s.log_f0_mean, s.log_f0_std) for s in stats if s.log_f0_mean is not None]
    log_f0_mean = log_f0_std = None
    if voiced:
        count = sum(v[0] for v in voiced)
        log_f0_mean = sum(n * m for n, m, _ in voiced) / count
        log_f0_var = sum(n * (sd * sd + m * m) for n, m, sd in voiced) / count - log_f0_mean ** 2
        log_f0_std = math.sqrt(max(log_f0_var, 0.0))
    return SpeakerStats(mel_mean=mel_mean, mel_std=np.sqrt(np.maximum(mel_var, 0.0)), log_f0_mean=log_f0_mean,
                        log_f0_std=log_f0_std, num_files=sum(s.num_files for s in stats),
                        total_seconds=sum(s.total_seconds for s in stats), num_frames=int(frames.sum()),
                        num_voiced_frames=sum(s.num_voiced_frames for s in stats), features=config)


class MultiSpeakerMelDataset(Dataset):
    """Random crops of several speakers' log-mels, all normalised with the same ``stats``.

    ``dataset[(index, item_seed)]`` -> ``{"mel": (n_mels, segment_frames) float32, "speaker": ()
    int64}``: the speaker is drawn uniformly (balanced speakers), then a file with probability
    proportional to its length, then the crop (clips shorter than a segment are padded with the
    normalised value of silence). Speaker ids follow the order of ``speakers``. One epoch has
    ``total files * repeats`` items.

    ``input_mels`` (speaker name -> one list per training file of model-made log-mels ``(n_mels,
    frames)`` with the recording's frames, e.g. a converter's round trips of it,
    ``recipes/utils/converter_mels.py``) adds ``"input"``: for a share ``input_mel_share`` of the
    crops of files that have such mels, one of them (at random) cropped at the same frames and
    normalised alike; otherwise the crop itself. The model then learns to turn the model-made mel
    into the recording (a denoising fine-tune: a post-filter that knows its converter's errors).
    """

    takes_seed = True

    def __init__(self, speakers: Mapping[str, Sequence[str | Path]], config: FeatureConfig, stats: SpeakerStats, *,
                 segment_frames: int = DEFAULT_SEGMENT_FRAMES, repeats: int = 1, progress: bool = False,
                 input_mels: Mapping[str, Sequence[Sequence[np.ndarray]]] | None = None,
                 input_mel_share: float = 0.5) -> None:
        if not speakers:
            raise AudioError("MultiSpeakerMelDataset: no speakers given")
        check_segment_frames(segment_frames, repeats)  # before any file is read
        if not 0.0 <= input_mel_share <= 1.0:
            raise ConfigError(f"input_mel_share must be in [0, 1], got {input_mel_share}")
        self.names = list(speakers)
        self.segment_frames = segment_frames
        self.repeats = repeats
        self.speakers = [_SpeakerMels([Path(p) for p in files], config, stats, progress, name)
                         for name, files in speakers.items()]
        self.input_mel_share = input_mel_share
        # Per speaker, per file: the recording's mel stacked over its normalised input mels, (k + 1) * n_mels rows.
        self.stacked: list[list[np.ndarray | None]] | None = None
        if input_mels and any(any(groups) for groups in input_mels.values()):
            unknown = sorted(set(input_mels) - set(self.names))
            if unknown:
                raise ConfigError(f"input mels for unknown speaker(s) {', '.join(unknown)}")
            self.stacked = [self._stack(held, input_mels.get(name, []))
                            for name, held in zip(self.names, self.speakers)]

    @staticmethod
    def _stack(held: _SpeakerMels, groups: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray | None]:
        if groups and len(groups) != len(held.files):
            raise ValueError(f"input_mels: {len(groups)} lists for {len(held.files)} files")
        out: list[np.ndarray | None] = []
        for k, mel in enumerate(held.mels):
            group = groups[k] if groups else []
            for made in group:
                if made.shape != mel.shape:
                    raise AudioError(f"{held.files[k]}: its input mel is shaped {made.shape}, the recording's "
                                     f"log-mel {mel.shape}; re-make it from this recording (recipes/utils/converter_mels.py)")
            out.append(np.concatenate([mel] + [normalize(made, held.stats) for made in group]).astype(np.float32)
                       if group else None)
        return out

    def __len__(self) -> int:
        return sum(len(s.mels) for s in self.speakers) * self.repeats

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        _, seed = key
        generator = torch.Generator().manual_seed(seed)
        speaker = int(torch.randint(0, len(self.speakers), (1,), generator=generator))
        held = self.speakers[speaker]
        if self.stacked is None:
            mel = held.sample(self.segment_frames, generator)
            return {"mel": torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32)),
                    "speaker": torch.tensor(speaker, dtype=torch.long)}
        index = held.pick(generator)
        stacked = self.stacked[speaker][index]
        n_mels = held.silence.shape[0]
        use = float(torch.rand((), generator=generator)) < self.input_mel_share
        if stacked is None:
            mel = inp = held.crop(index, self.segment_frames, generator)
        else:
            k = stacked.shape[0] // n_mels - 1
            choice = 1 + int(torch.randint(0, k, (1,), generator=generator))
            crop = _crop(stacked, self.segment_frames, np.tile(held.silence, k + 1), generator)
            mel = crop[:n_mels]
            inp = crop[choice * n_mels:(choice + 1) * n_mels] if use else mel
        return {"mel": torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32)),
                "input": torch.from_numpy(np.ascontiguousarray(inp, dtype=np.float32)),
                "speaker": torch.tensor(speaker, dtype=torch.long)}


class MultiSpeakerMelClips(Dataset):
    """Whole normalised clips: ``dataset[i] -> {"mel": (n_mels, F), "speaker": id, "index": i}``.

    ``clips`` are ``(file, speaker id)`` pairs; ``max_frames`` cuts each clip to its first frames.
    Use batch size 1 (clip lengths differ).
    """

    def __init__(self, clips: Sequence[tuple[str | Path, int]], config: FeatureConfig, stats: SpeakerStats, *,
                 max_frames: int | None = None) -> None:
        self.speaker_ids = [int(speaker) for _, speaker in clips]
        mels = load_mels([Path(path) for path, _ in clips], config)
        self.mels = [np.ascontiguousarray(normalize(mel, stats)[:, :max_frames], dtype=np.float32) for mel in mels]

    def __len__(self) -> int:
        return len(self.mels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        return {"mel": torch.from_numpy(self.mels[index]),
                "speaker": torch.tensor(self.speaker_ids[index], dtype=torch.long), "index": index}
