"""Training datasets over folders of audio: random fixed-length waveform segments.

Clips are decoded once (mono float32 at the model's rate) and kept in memory: the corpora this
toolkit trains on in CPU-hours are minutes to a few hours of speech (an hour at 16 kHz is
230 MB of float32). Random crops draw from the per-item seed the Trainer passes
(``takes_seed``; see ``voicegen.train.data``), so a resumed run sees the same segments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import soxr
import torch
from torch.utils.data import Dataset

from voicegen.audio.f0 import F0_ROWS, LF0_ROW, VUV_ROW, F0Config, f0_rows
from voicegen.audio.io import RESAMPLE_QUALITY, load_audio
from voicegen.audio.stats import list_audio_files
from voicegen.errors import AudioError, ConfigError
from voicegen.npyio import load_npy
from voicegen.progress import progress_bar

MAX_SEGMENT_SAMPLES = 1 << 24
"""Longest training waveform segment (~17 min at 16 kHz); a batch of longer ones does not fit in memory."""
MAX_REPEATS = 10_000
"""Most passes over the data in one epoch (data.repeats): an epoch's order is one permutation held in memory."""


def check_repeats(repeats: int) -> None:
    """ConfigError (one line) for ``data.repeats`` outside 1..MAX_REPEATS (checked before any file is read)."""
    if not 1 <= repeats <= MAX_REPEATS:
        raise ConfigError(f"data.repeats must be in 1..{MAX_REPEATS} (the limit, voicegen.audio.datasets.MAX_REPEATS); "
                          f"got {repeats}")


def split_files(files: Sequence[Path], num_val: int) -> tuple[list[Path], list[Path]]:
    """Split ``files`` into (train, validation) deterministically, independent of listing order.

    Files are ranked by a hash of their name (not their position), so adding a file to the
    folder does not reshuffle the split of the others. ``num_val`` files go to validation.
    """
    if num_val < 0 or num_val >= len(files):
        raise AudioError(f"cannot hold out {num_val} validation files from {len(files)}; "
                         "lower the validation count or add audio")
    ranked = sorted(files, key=lambda p: hashlib.sha1(Path(p).name.encode()).hexdigest())
    val = sorted(ranked[:num_val])
    train = sorted(ranked[num_val:])
    return train, val


class AudioSegmentDataset(Dataset):
    """Random ``segment_samples``-long crops of in-memory clips.

    ``dataset[(index, item_seed)] -> wav (segment_samples,)`` float32 in [-1, 1]. Clips shorter
    than a segment are zero-padded at a random offset. ``repeats`` makes one epoch visit each
    clip several times (useful for small corpora and long clips).

    With ``f0`` (an :class:`~voicegen.audio.f0.F0Config`) and ``hop_length``, each clip's F0 rows
    are computed once at load, crops start on frame boundaries (a multiple of ``hop_length``;
    ``segment_samples`` must be one too), and items are ``{"wav": (segment_samples,),
    "f0": (2, segment_samples // hop_length)}``: the crop's mel frames and F0 frames line up.

    ``input_mels`` (one list per file of model-made log-mels ``(n_mels, frames)``, e.g. what two
    converters output for that recording, :func:`load_input_mels`; needs F0 and ``hop_length``)
    makes items also carry ``"mel"`` (the matching crop of one of the file's mels, drawn from the
    item seed, ``(n_mels, frames)``) and ``"use_mel"``: 1.0 for a share ``input_mel_share`` of the
    crops of clips that have any; 0.0 otherwise, when ``"mel"`` is a zero placeholder and the
    trainer computes the mel from the crop. Only the recordings as they are use them, never the
    speed copies.

    ``speed_factors`` adds, for each factor f other than 1, a copy of every clip played f times
    faster (resampled, so pitch and formants scale by f and the duration by 1/f): the same
    speakers heard as higher or lower voices (speed perturbation). A copy's F0 rows are the
    original's scaled by f and resampled in time (exact, where tracking the copy would add the
    tracker's own new errors). Factors below 1 leave the top of the band empty (above
    ``rate * f / 2``).
    """

    takes_seed = True

    def __init__(
        self,
        sources: str | Path | Sequence[str | Path],
        sample_rate: int,
        segment_samples: int,
        *,
        repeats: int = 1,
        min_samples: int = 0,
        progress: bool = False,
        f0: F0Config | None = None,
        hop_length: int | None = None,
        speed_factors: Sequence[float] = (1.0,),
        input_mels: Sequence[Sequence[np.ndarray]] | None = None,
        input_mel_share: float = 0.5,
    ) -> None:
        if segment_samples <= 0:
            raise ValueError(f"segment_samples must be positive, got {segment_samples}")
        if segment_samples > MAX_SEGMENT_SAMPLES:
            raise ConfigError(f"a training segment of {segment_samples} samples is beyond the limit of "
                              f"{MAX_SEGMENT_SAMPLES} (voicegen.audio.datasets.MAX_SEGMENT_SAMPLES); lower "
                              "data.segment_seconds")
        check_repeats(repeats)
        factors = check_speed_factors(speed_factors)
        if isinstance(sources, (str, Path)):
            self.files = list_audio_files(sources)
        else:
            self.files = [Path(p) for p in sources]
        if not self.files:
            raise AudioError(f"{sources}: no audio files to train on")
        self.sample_rate = sample_rate
        self.segment_samples = segment_samples
        self.repeats = repeats
        self.clips = [
            load_audio(path, sample_rate, min_samples=min_samples)
            for path in progress_bar(self.files, desc="loading audio", unit="file", enabled=progress)
        ]
        self.hop_length = hop_length
        self.f0_rows: list[np.ndarray] | None = None
        if f0 is not None:
            if not hop_length or segment_samples % hop_length:
                raise ValueError(f"F0 crops need segment_samples {segment_samples} to be a multiple of hop_length "
                                 f"{hop_length}")
            self.f0_rows = [f0_rows(clip, sample_rate, hop_length, f0)
                            for clip in progress_bar(self.clips, desc="tracking F0", unit="file", enabled=progress)]
        copies = [(f, k, clip if f == 1 else speed_change(clip, sample_rate, f))
                  for f in factors for k, clip in enumerate(self.clips)]
        if self.f0_rows is not None:
            self.f0_rows = [speed_rows(self.f0_rows[k], f, len(copy) // hop_length) for f, k, copy in copies]
        self.clips = [copy for _, _, copy in copies]
        self.input_mels: list[np.ndarray | None] | None = None  # per clip: its mels stacked, (k * n_mels, frames)
        self.input_mel_share = input_mel_share
        if input_mels is not None and any(input_mels):
            if self.f0_rows is None or len(input_mels) != len(self.files):
                raise ValueError("input_mels need F0 settings and one list (maybe empty) per file")
            for path, clip, mels in zip(self.files, self.clips, input_mels):
                for mel in mels:
                    if mel.shape[1] != len(clip) // hop_length:
                        raise AudioError(f"{path}: its input mel has {mel.shape[1]} frames but the recording has "
                                         f"{len(clip) // hop_length}; make the input mels from these recordings again")
            self.n_mels = next(mels[0].shape[0] for mels in input_mels if mels)
            self.input_mels = [np.concatenate(input_mels[k]) if f == 1 and input_mels[k] else None
                               for f, k, _ in copies]

    @property
    def total_seconds(self) -> float:
        """Total duration of the loaded clips in seconds."""
        return sum(len(clip) for clip in self.clips) / self.sample_rate

    def __len__(self) -> int:
        return len(self.clips) * self.repeats

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        index, seed = key
        k = index % len(self.clips)
        clip = self.clips[k]
        rng = np.random.default_rng(seed)
        if self.f0_rows is None:
            return torch.from_numpy(random_segment(clip, self.segment_samples, rng))
        rows = self.f0_rows[k]
        if self.input_mels is None:
            wav, rows = random_frame_segment(clip, rows, self.segment_samples, self.hop_length, rng)
            return {"wav": torch.from_numpy(wav), "f0": torch.from_numpy(rows)}
        mels = self.input_mels[k]
        has_mels = mels is not None
        if mels is None:  # cropped with the F0 rows below all the same, so that the random draws match
            mels = np.zeros((self.n_mels, rows.shape[1]), dtype=np.float32)
        wav, both = random_frame_segment(clip, np.concatenate([rows, mels]), self.segment_samples,
                                         self.hop_length, rng)
        mel = np.zeros((self.n_mels, self.segment_samples // self.hop_length), np.float32)
        use = has_mels and len(clip) >= self.segment_samples and rng.random() < self.input_mel_share
        if use:
            which = int(rng.integers(0, len(mels) // self.n_mels))
            mel = both[F0_ROWS + which * self.n_mels:F0_ROWS + (which + 1) * self.n_mels]
        return {"wav": torch.from_numpy(wav), "f0": torch.from_numpy(both[:F0_ROWS]),
                "mel": torch.from_numpy(np.ascontiguousarray(mel)), "use_mel": torch.tensor(float(use))}


def input_mel_files(files: Sequence[Path], folders: Mapping[str | Path, Sequence[str | Path]],
                    suffix: str = ".npy") -> list[list[Path]]:
    """For each audio file, its input mel files: ``folders`` maps audio folders to lists of mel
    folders, and a file ``AUDIO/sub/x.wav`` under a mapped folder has ``MELS/sub/x.npy`` in each of
    its mel folders; an empty list for other files."""
    pairs = [(Path(audio).expanduser().resolve(), [Path(m).expanduser() for m in mels])
             for audio, mels in folders.items()]
    out: list[list[Path]] = []
    for path in files:
        full = Path(path).resolve()
        out.append([(mels / full.relative_to(audio)).with_suffix(suffix)
                    for audio, folders_of in pairs if full.is_relative_to(audio) for mels in folders_of])
    return out


def load_input_mels(paths: Sequence[Sequence[Path]], n_mels: int) -> list[list[np.ndarray]]:
    """The ``.npy`` log-mels ``(n_mels, frames)`` at ``paths`` (lists per file) as float32; AudioError
    (one line, naming the file) for a missing or malformed one."""
    return [[_input_mel(path, n_mels) for path in group] for group in paths]


def _input_mel(path: Path, n_mels: int) -> np.ndarray:
    if not path.is_file():
        raise AudioError(f"{path}: input mel not found; make one .npy per training file "
                         "(recipes/utils/converter_mels.py) or remove its folder from data.input_mels")
    mel = load_npy(path)
    if mel.ndim != 2 or mel.shape[0] != n_mels or not np.issubdtype(mel.dtype, np.floating) \
            or not np.isfinite(mel).all():
        raise AudioError(f"{path}: expected a finite log-mel shaped ({n_mels}, frames), got {mel.dtype} {mel.shape}")
    return np.ascontiguousarray(mel, dtype=np.float32)


MAX_SPEED_FACTOR = 2.0


def check_speed_factors(factors: Sequence[float]) -> list[float]:
    """``factors`` as floats, or a ConfigError naming the bad one (each in [1/2, 2], no repeats)."""
    factors = [float(f) for f in factors]
    if not factors:
        raise ConfigError("data.speed_factors is empty; use [1.0] for the recordings as they are")
    for f in factors:
        if not 1 / MAX_SPEED_FACTOR <= f <= MAX_SPEED_FACTOR:
            raise ConfigError(f"data.speed_factors: {f} is outside [{1 / MAX_SPEED_FACTOR}, {MAX_SPEED_FACTOR}]")
    if len(set(factors)) != len(factors):
        raise ConfigError(f"data.speed_factors repeats a factor: {factors}")
    return factors


def speed_change(wav: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """``wav`` played ``factor`` times faster at the same rate: pitch and formants x factor."""
    out = soxr.resample(wav.astype(np.float32), sample_rate * factor, sample_rate, quality=RESAMPLE_QUALITY)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def speed_rows(rows: np.ndarray, factor: float, frames: int) -> np.ndarray:
    """F0 rows ``(2, n)`` of a clip -> the ``(2, frames)`` rows of that clip played ``factor`` times
    faster: frame j of the copy is centred at ``(j + 1/2) * hop * factor`` samples of the original,
    log-F0 interpolated there plus ``log(factor)``, voicing from the nearest original frame."""
    rows = np.asarray(rows, dtype=np.float32)
    if factor == 1 and rows.shape[1] == frames:
        return rows
    n = rows.shape[1]
    position = (np.arange(frames) + 0.5) * factor - 0.5  # in original frames
    out = np.empty((F0_ROWS, frames), dtype=np.float32)
    out[LF0_ROW] = np.interp(position, np.arange(n), rows[LF0_ROW]) + np.log(factor)
    out[VUV_ROW] = rows[VUV_ROW, np.clip(np.rint(position).astype(np.int64), 0, n - 1)]
    return out


def random_segment(wav: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample crop of ``wav`` (T,), zero-padded at a random offset if shorter."""
    if len(wav) >= length:
        start = int(rng.integers(0, len(wav) - length + 1))
        return np.ascontiguousarray(wav[start:start + length], dtype=np.float32)
    out = np.zeros(length, dtype=np.float32)
    offset = int(rng.integers(0, length - len(wav) + 1))
    out[offset:offset + len(wav)] = wav
    return out


def random_frame_segment(wav: np.ndarray, rows: np.ndarray, length: int, hop_length: int,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random crop of ``wav`` (T,) starting on a frame boundary and the matching columns of its F0
    ``rows`` (2, T // hop). A shorter clip is placed at a random frame offset in zeros; its F0 rows
    are extended with the edge ``lf0`` values and ``vuv`` 0."""
    frames = length // hop_length
    if len(wav) >= length:
        start = int(rng.integers(0, (len(wav) - length) // hop_length + 1))
        return (np.ascontiguousarray(wav[start * hop_length:start * hop_length + length], dtype=np.float32),
                np.ascontiguousarray(rows[:, start:start + frames], dtype=np.float32))
    have = min(rows.shape[1], frames)
    offset = int(rng.integers(0, frames - have + 1))
    out = np.zeros(length, dtype=np.float32)
    take = min(len(wav), length - offset * hop_length)
    out[offset * hop_length:offset * hop_length + take] = wav[:take]
    out_rows = np.zeros((rows.shape[0], frames), dtype=np.float32)
    out_rows[:, offset:offset + have] = rows[:, :have]
    if have:
        out_rows[LF0_ROW, :offset] = rows[LF0_ROW, 0]
        out_rows[LF0_ROW, offset + have:] = rows[LF0_ROW, have - 1]
    return out, out_rows
