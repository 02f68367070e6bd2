"""Re-drawing converted frames from the target's own frames: the frame bank stage (numpy, torch-free).

A bundle's frame bank (:mod:`voicegen.formats.framebank`) holds log-mel frames of each target
speaker's recordings. :class:`FrameBank` replaces every frame the converter made by the mean of its
``k`` nearest bank frames (``mix`` of it; the rest is the converter's frame), both sides normalised
with the target's statistics and matched on the frame stacked with ``context`` frames either side
(Euclidean distance). The output is built from the target's real frames, so it keeps the target's
spectral detail; the converter only has to point at the right ones.
:meth:`voicegen.infer.cyclegan.CycleGANBundle.mel_stream` runs it on every chunk right after the
generator and before the VAE post-filter; a VAE bundle runs it after decoding (:func:`redraw_refiner`);
``--no-postfilter`` skips it (and the post-filter), ``--frame-bank-mix`` sets ``mix`` for one run
(:meth:`voicegen.infer.convert.Converter.set_frame_bank_mix`; 0 leaves it out); live conversion runs it inside each converter run, on
the frames that run returns and keeps (:class:`voicegen.infer.stream.Refine`; ``voicegen stream
--no-frame-bank`` leaves it out).
The defaults (``k`` 8, ``context`` 1, ``mix`` 0.7) are what the shipped SF1 <-> TM1 converter uses:
there it lowered MCD by 0.22 dB and raised speaker similarity by 0.011 at about the same DNSMOS
(``recipes/vcc2016/README.md``, "The frame bank").

:func:`bank_frames` makes a bank from a folder of audio (``voicegen bundle --frame-bank``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from voicegen.errors import ConfigError
from voicegen.infer.stream import Refine

QUERY_ROWS = 512
"""Converted frames matched per distance block (bounds the ``(rows, N)`` distance matrix)."""
GROUP = 128
"""Bank frames per group of :func:`smallest`'s search."""
DEFAULT_K = 8
DEFAULT_CONTEXT = 1
DEFAULT_MIX = 0.7
AUTO_BANK_FRAMES = 16384
"""Most frames per speaker an automatic stride keeps (~4.4 min of speech at 16 kHz / hop 256, 2.6 MB
in fp16): the shipped VCC 2016 banks (~4.5 min per speaker) come out at every 2nd frame."""


def smallest(dist: np.ndarray, k: int) -> np.ndarray:
    """Column indices ``(R, k)`` of the ``k`` smallest entries of each row of ``dist`` ``(R, N)``, smallest
    first (ties by lower index).

    Rows are cut into groups of ``GROUP`` columns: the ``k`` groups with the smallest minima hold the
    ``k`` smallest entries (each of those is at most the k-th smallest group minimum, so its group's
    minimum is too), so only they are searched; a fraction of a full partial sort of every row.
    """
    rows, n = dist.shape
    groups = -(-n // GROUP)
    if groups <= k:
        cols = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (rows, 1))
        values = np.take_along_axis(dist, cols, 1)
    else:
        padded = np.pad(dist, ((0, 0), (0, groups * GROUP - n)), constant_values=np.inf)
        minima = padded.reshape(rows, groups, GROUP).min(axis=2)
        chosen = np.argpartition(minima, k - 1, axis=1)[:, :k]
        candidates = (chosen[:, :, None] * GROUP + np.arange(GROUP)).reshape(rows, k * GROUP)
        values = np.take_along_axis(padded, candidates, 1)
        part = np.argpartition(values, k - 1, axis=1)[:, :k]
        cols, values = np.take_along_axis(candidates, part, 1), np.take_along_axis(values, part, 1)
    order = np.lexsort((cols, values), axis=1)
    return np.take_along_axis(cols, order, 1)


def prepare_bank(bank: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`nearest` computes from ``bank`` alone: the bank with its ends repeated ``context`` times
    and the squared norms of its rows (a fixed cost per call that a caller matching many short queries
    against one bank, as live conversion does, computes once)."""
    padded = np.pad(bank, ((context, context), (0, 0)), mode="edge") if context else bank
    return padded, (padded * padded).sum(1)


def nearest(query: np.ndarray, bank: np.ndarray, k: int, context: int = 0, *,
            prepared: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Indices ``(F, k)`` of the ``k`` rows of ``bank`` ``(N, d)`` nearest to each row of ``query`` ``(F, d)``,
    nearest first (ties by lower index): Euclidean distance between the rows each stacked with their
    ``context`` neighbours on either side (the first and last rows repeated at the ends). ``prepared``:
    :func:`prepare_bank` of the same ``bank`` and ``context`` (computed here when None).

    The stacked distance is the sum of the frame distances along a diagonal, so one product of the
    unstacked frames serves every context offset.
    """
    c = context
    qp = np.pad(query, ((c, c), (0, 0)), mode="edge") if c else query
    bp, bank_sq = prepare_bank(bank, c) if prepared is None else prepared
    n = len(bank)
    out = np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), QUERY_ROWS):
        rows = min(QUERY_ROWS, len(query) - start)
        frame = bank_sq[None, :] - 2.0 * (qp[start:start + rows + 2 * c] @ bp.T)  # + |q|^2: the same along a row
        dist = frame[:rows, :n].copy()
        for i in range(1, 2 * c + 1):
            dist += frame[i:i + rows, i:i + n]
        out[start:start + rows] = smallest(dist, k)
    return out


class FrameBank:
    """The loaded frame bank of a converter: per target, its frames normalised with that target's
    statistics; :meth:`project` re-draws a normalised converted mel from them.

    Args:
        frames: target -> ``(N, n_mels)`` log-mels (not normalised).
        stats: target -> :class:`voicegen.audio.stats.SpeakerStats` (the converter's).
        k, context: neighbours averaged; frames matched on either side.
        mix: share of the re-drawn frame in the output (the rest is the converter's frame).
    """

    def __init__(self, frames: Mapping[str, np.ndarray], stats: Mapping[str, object], *, k: int = DEFAULT_K,
                 context: int = DEFAULT_CONTEXT, mix: float = DEFAULT_MIX) -> None:
        from voicegen.audio.stats import normalize
        from voicegen.formats.framebank import check_settings

        check_settings(k, context, mix=mix)
        self.k, self.context, self.mix = k, context, float(mix)
        self.frames: dict[str, np.ndarray] = {}
        for target, array in frames.items():
            if len(array) < k:
                raise ConfigError(f"frame bank of {target!r}: {len(array)} frames, fewer than k={k}")
            self.frames[target] = normalize(np.asarray(array, dtype=np.float32).T, stats[target]).T.astype(np.float32)
        self._prepared = {target: prepare_bank(bank, context) for target, bank in self.frames.items()}

    def set_mix(self, mix: float) -> None:
        """Re-draw ``mix`` of each frame from now on (``0 < mix <= 1``; ConfigError otherwise): what
        ``voicegen convert --frame-bank-mix`` sets in place of the bundle's own share."""
        from voicegen.formats.framebank import check_settings

        check_settings(self.k, self.context, mix=mix)
        self.mix = float(mix)

    @property
    def targets(self) -> tuple[str, ...]:
        """The target speakers it re-draws."""
        return tuple(self.frames)

    def size(self, target: str) -> int:
        """Frames of ``target`` in the bank."""
        return len(self.frames[target])

    def project(self, mel: np.ndarray, target: str) -> np.ndarray:
        """A normalised log-mel ``(n_mels, F)`` of ``target`` -> the mean of each frame's ``k`` nearest
        bank frames (mixed with the frame itself when ``mix`` < 1), same shape (float32)."""
        bank = self.frames[target]
        mel = np.asarray(mel, dtype=np.float32)
        index = nearest(mel.T, bank, self.k, self.context, prepared=self._prepared[target])
        redrawn = bank[index].mean(axis=1).T
        if self.mix < 1.0:
            redrawn = self.mix * redrawn + (1.0 - self.mix) * mel
        return redrawn.astype(np.float32)

    def refiner(self, target: str) -> Refine | None:
        """``project`` for one target as a :class:`~voicegen.infer.stream.Refine` (a frame depends on its
        ``context`` neighbours), or None when the bank does not hold it."""
        if target not in self.frames:
            return None
        return Refine(lambda mel: self.project(mel, target), self.context)


def redraw_refiner(bank: FrameBank | None, target: str, stats: Mapping[str, object]) -> Refine | None:
    """``bank``'s re-draw of ``target`` on log-mels that are not normalised (it runs in that speaker's
    normalised units, ``stats[target]``), as a :class:`~voicegen.infer.stream.Refine`; None when there
    is no bank or it does not hold ``target``. How a VAE bundle runs its bank."""
    if bank is None or target not in bank.targets:
        return None
    from voicegen.audio.stats import denormalize, normalize

    speaker = stats[target]

    def redrawn(mel: np.ndarray) -> np.ndarray:
        made = normalize(mel, speaker).astype(np.float32)
        return denormalize(bank.project(made, target), speaker).astype(np.float32)

    return Refine(redrawn, bank.context)


def auto_stride(lengths: Sequence[int], budget: int = AUTO_BANK_FRAMES) -> int:
    """The smallest stride ``s`` that keeps every ``s``-th frame of files ``lengths`` frames long
    within ``budget`` frames in all (1 when they fit whole)."""
    stride = max(1, -(-sum(lengths) // budget))
    while sum(-(-n // stride) for n in lengths) > budget:
        stride += 1
    return stride


def bank_frames(folder: str | os.PathLike, feature_config, *, stride: int | None = 1,
                progress: bool = False) -> np.ndarray:
    """The log-mel frames ``(N, n_mels)`` of every audio file under ``folder`` (searched recursively,
    sorted), every ``stride``-th frame of each (None: :func:`auto_stride`, at most
    :data:`AUTO_BANK_FRAMES` frames); ConfigError (one line) when it holds no audio."""
    from voicegen.audio.io import load_audio
    from voicegen.audio.logmel import log_mel
    from voicegen.audio.stats import list_audio_files
    from voicegen.progress import progress_bar

    if stride is not None and stride < 1:
        raise ConfigError(f"frame bank stride must be >= 1, got {stride}")
    files: Sequence[Path] = list_audio_files(folder)  # AudioError (one line) for a missing or empty folder
    mels = [log_mel(load_audio(path, feature_config.sample_rate), feature_config)
            for path in progress_bar(files, desc=f"frame bank {Path(folder).name}", unit="file", enabled=progress)]
    if stride is None:
        stride = auto_stride([mel.shape[1] for mel in mels], AUTO_BANK_FRAMES)
    return np.concatenate([mel[:, ::stride] for mel in mels], axis=1).T.astype(np.float32)
