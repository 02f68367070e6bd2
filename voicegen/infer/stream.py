"""Streaming stages: long inputs go through the models block by block, with bounded memory.

A *stage* turns a stream of arrays into another stream along the last axis:
``push(x) -> y`` returns what is complete so far (possibly nothing), ``finish() -> y`` the rest.
Samples -> log-mel frames is :class:`voicegen.audio.logmel.MelStream`; the two model stages are

* :class:`CrossfadeChunks` (frames -> frames): a model applied to overlapping chunks of a fixed
  size, joined with linear crossfades (the CycleGAN and VAE converters, whose outputs depend on
  the whole chunk);
* :class:`ContextChunks` (frames -> samples): a model applied to chunks with context frames on
  both sides, whose samples are dropped (the vocoders, whose outputs depend on nearby frames only).

Both give exactly the output of their whole-input counterparts (same chunks, same arithmetic in
the same order), whatever the block sizes pushed: the whole-input functions are themselves one
``push`` + ``finish``. Each keeps at most about two chunks of input and output between calls.

    stages = Chain([MelStream(fc), converter.mel_stream("SF1", "TM1"), vocoder.stream()])
    for block in AudioReader("long.flac", fc.sample_rate):
        writer.write(stages.push(block))
    writer.write(stages.finish())
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicegen.audio.writer import AudioWriter


class Stage(Protocol):
    def push(self, x: np.ndarray) -> np.ndarray: ...

    def finish(self) -> np.ndarray: ...


Net = Callable[[np.ndarray], np.ndarray]
"""A model as the chunkers call it: float32 numpy in, numpy out, wherever it runs (a PyTorch module on
any device or an ONNX Runtime session; :mod:`voicegen.infer.nets`)."""


@dataclass(frozen=True)
class Refine:
    """A frame-wise stage run on a chunk function's output (a converter's frame bank): ``fn`` maps frames
    ``(C, n)`` to ``(C, n)``, and an output frame depends only on the input frames up to ``context`` on
    either side (the ends of its input repeated), so it can run on just the frames a chunker keeps."""

    fn: Net
    context: int

    def after(self, convert: Net) -> Net:
        """``convert`` followed by this stage on its whole output (how an offline chunk runs it)."""
        return lambda x: self.fn(convert(x))


Chunker = Callable[[Net, int, np.ndarray, "Refine | None"], Stage]
"""How a converter's chunk function becomes a stage: ``chunker(fn, channels, rest, refine)`` (e.g. live
:class:`SlidingChunks` instead of the offline :class:`CrossfadeChunks`); ``rest`` ``(channels,)`` is
the source speaker's mean frame in the units ``fn`` takes (what a live chunk's future padding decays to);
``refine`` (or None) a :class:`Refine` to run on ``fn``'s output, only where the chunker needs it."""


class Chain:
    """Stages one after the other, itself a stage (``finish`` flushes them in order)."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    def push(self, x: np.ndarray) -> np.ndarray:
        for stage in self.stages:
            x = stage.push(x)
        return x

    def finish(self) -> np.ndarray:
        tail: np.ndarray | None = None
        for stage in self.stages:
            done = stage.push(tail) if tail is not None and tail.shape[-1] else None
            rest = stage.finish()
            tail = rest if done is None else np.concatenate([done, rest], axis=-1)
        assert tail is not None, "a Chain needs at least one stage"
        return tail


class Map:
    """An elementwise (per-frame) function as a stage, e.g. normalisation with fixed statistics."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], channels: int) -> None:
        self.fn, self.channels = fn, channels

    def push(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x)

    def finish(self) -> np.ndarray:
        return np.zeros((self.channels, 0), dtype=np.float32)


class Fork:
    """Several stages side by side, their outputs stacked as rows: itself a stage.

    Each branch is ``(select, stage)``: ``select(x)`` is the part of the input that branch sees
    (``None``: all of it). Branches may run with different delays; the fork returns the frames
    every branch has produced so far (buffering the rest), so the stacked rows stay aligned, e.g.
    ``Fork([(None, MelStream(fc)), (None, F0Stream(...))])`` turns samples into mel + F0 rows and
    ``Fork([(rows(0, 80), converter), (rows(80, 82), f0_map)])`` treats rows apart.
    """

    def __init__(self, branches: Sequence[tuple[Callable[[np.ndarray], np.ndarray] | None, Stage]]) -> None:
        if not branches:
            raise ValueError("Fork needs at least one branch")
        self.branches = list(branches)
        self._pending: list[list[np.ndarray]] = [[] for _ in branches]

    def push(self, x: np.ndarray) -> np.ndarray:
        for i, (select, stage) in enumerate(self.branches):
            self._pending[i].append(_as_rows(stage.push(x if select is None else select(x))))
        return self._emit(final=False)

    def finish(self) -> np.ndarray:
        for i, (_, stage) in enumerate(self.branches):
            self._pending[i].append(_as_rows(stage.finish()))
        return self._emit(final=True)

    def _emit(self, *, final: bool) -> np.ndarray:
        joined = [np.concatenate(parts, axis=1) for parts in self._pending]
        count = min(part.shape[1] for part in joined)
        if final and any(part.shape[1] != count for part in joined):
            lengths = ", ".join(str(part.shape[1]) for part in joined)
            raise ValueError(f"Fork: branches ended with different frame counts ({lengths})")
        self._pending = [[part[:, count:]] for part in joined]
        return np.concatenate([part[:, :count] for part in joined], axis=0)


def rows(start: int, stop: int) -> Callable[[np.ndarray], np.ndarray]:
    """A :class:`Fork` selector: rows ``start:stop`` of a ``(C, n)`` block."""
    return lambda x: x[start:stop]


def _as_rows(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y[None] if y.ndim == 1 else y


class Record:
    """A stage that also keeps everything that went through it (``array()``), e.g. for a plot."""

    def __init__(self, stage: Stage) -> None:
        self.stage, self.parts = stage, []

    def push(self, x: np.ndarray) -> np.ndarray:
        return self._keep(self.stage.push(x))

    def finish(self) -> np.ndarray:
        return self._keep(self.stage.finish())

    def array(self) -> np.ndarray:
        return np.concatenate(self.parts, axis=-1)

    def _keep(self, y: np.ndarray) -> np.ndarray:
        self.parts.append(y)
        return y


def run_whole(stage: Stage, x: np.ndarray) -> np.ndarray:
    """``stage`` over one whole input: ``push(x)`` then ``finish()``, concatenated."""
    return np.concatenate([stage.push(x), stage.finish()], axis=-1)


class CrossfadeChunks:
    """Frames ``(C, n)`` -> frames ``(C, n)``: ``fn`` ((C, k) array -> (C, k)) on chunks of at most
    ``chunk_frames`` that overlap by at least ``overlap_frames``, crossfaded linearly.

    Layout: full chunks start at 0, hop, 2 hop, ... (hop = chunk - overlap) as long as another full
    chunk follows; the rest (between one and two chunks' worth) becomes one chunk, or two of equal
    length (at least ``(chunk + overlap) / 2`` frames each) that overlap by at least ``overlap``. An
    input of at most ``chunk_frames`` frames is one chunk. So every frame is computed at most
    ~1.15 times (not up to twice, as a last chunk of full length ending at the last frame would), and
    the layout depends only on the input's length, not on the blocks pushed. A frame is returned
    once no later chunk can reach it.
    """

    def __init__(self, fn: Net, channels: int, chunk_frames: int, overlap_frames: int) -> None:
        if not (chunk_frames >= 1 and 0 <= overlap_frames < chunk_frames):
            raise ValueError(f"need chunk_frames >= 1 and 0 <= overlap_frames < chunk_frames, got {chunk_frames} "
                             f"and {overlap_frames}")
        self.fn, self.chunk, self.overlap = fn, chunk_frames, overlap_frames
        self.frames = 0  # frames pushed so far
        self._in = np.zeros((channels, 0), dtype=np.float32)
        self._in_start = 0  # frame index of _in[:, 0]
        self._acc = np.zeros((channels, 0), dtype=np.float32)
        self._weight = np.zeros(0, dtype=np.float32)
        self._acc_start = 0  # frame index of _acc[:, 0] (= frames returned so far)
        self._next = 0  # start of the next full chunk

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        self._in = np.concatenate([self._in, x], axis=1)
        self.frames += x.shape[1]
        emit_to = self._acc_start
        hop = self.chunk - self.overlap
        while self._next + self.chunk + hop <= self.frames:  # another full chunk follows this one
            self._run(self._next, self._next + self.chunk, first=self._next == 0, last=False)
            self._next += hop
            emit_to = self._next  # later chunks start here or after
        self._drop_input(self._next)
        return self._emit(emit_to)

    def finish(self) -> np.ndarray:
        if self.frames == 0:
            return self._emit(0)
        rest = self.frames - self._next
        if rest <= self.chunk:
            self._run(self._next, self.frames, first=self._next == 0, last=True)
        else:  # two chunks of equal length, overlapping by at least `overlap`
            length = -(-(rest + self.overlap) // 2)
            self._run(self._next, self._next + length, first=self._next == 0, last=False)
            self._run(self.frames - length, self.frames, first=False, last=True)
        return self._emit(self.frames)

    def _run(self, start: int, stop: int, *, first: bool, last: bool) -> None:
        y = np.asarray(self.fn(self._in[:, start - self._in_start:stop - self._in_start]), dtype=np.float32)
        weight = crossfade_weights(stop - start, self.overlap, first=first, last=last)
        if stop > self._acc_start + self._acc.shape[1]:  # grow the accumulators to cover the chunk
            grow = stop - self._acc_start - self._acc.shape[1]
            self._acc = np.concatenate([self._acc, np.zeros((self._acc.shape[0], grow), dtype=np.float32)], axis=1)
            self._weight = np.concatenate([self._weight, np.zeros(grow, dtype=np.float32)])
        lo, hi = start - self._acc_start, stop - self._acc_start
        self._acc[:, lo:hi] += y * weight
        self._weight[lo:hi] += weight

    def _emit(self, upto: int) -> np.ndarray:
        count = max(0, upto - self._acc_start)
        out = self._acc[:, :count] / self._weight[:count]
        self._acc, self._weight = self._acc[:, count:], self._weight[count:]
        self._acc_start += count
        return out

    def _drop_input(self, keep_from: int) -> None:
        drop = max(0, keep_from - self._in_start)
        if drop:
            self._in = self._in[:, drop:]
            self._in_start += drop


def crossfade_weights(length: int, overlap: int, *, first: bool, last: bool) -> np.ndarray:
    """``(length,)`` float32 weights: linear ramps over ``overlap`` frames at inner edges, 1 elsewhere (> 0 everywhere)."""
    weight = np.ones(length, dtype=np.float32)
    ramp_len = min(overlap, length)
    if ramp_len:
        ramp = (np.arange(ramp_len, dtype=np.float32) + 0.5) / np.float32(ramp_len)
        if not first:
            weight[:ramp_len] = np.minimum(weight[:ramp_len], ramp)
        if not last:
            weight[-ramp_len:] = np.minimum(weight[-ramp_len:], ramp[::-1])
    return weight


class ContextChunks:
    """Frames ``(C, n)`` -> samples ``(n * hop,)``: ``fn`` ((C, k) array -> (k * hop,) array) on
    chunks of ``chunk_frames`` with up to ``context_frames`` extra frames on each side, whose
    samples are dropped. A chunk runs as soon as its right context has arrived."""

    def __init__(self, fn: Net, channels: int, hop: int, chunk_frames: int, context_frames: int) -> None:
        if chunk_frames < 1 or context_frames < 0:
            raise ValueError(f"need chunk_frames >= 1 and context_frames >= 0, got {chunk_frames}, {context_frames}")
        self.fn, self.hop, self.chunk, self.context = fn, hop, chunk_frames, context_frames
        self.frames = 0
        self._in = np.zeros((channels, 0), dtype=np.float32)
        self._in_start = 0
        self._next = 0  # first frame not vocoded yet

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        self._in = np.concatenate([self._in, x], axis=1)
        self.frames += x.shape[1]
        pieces = []
        while self._next + self.chunk + self.context <= self.frames:
            pieces.append(self._run(self._next, self._next + self.chunk))
        return self._join(pieces)

    def finish(self) -> np.ndarray:
        pieces = []
        while self._next < self.frames:
            pieces.append(self._run(self._next, min(self._next + self.chunk, self.frames)))
        return self._join(pieces)

    def _run(self, start: int, stop: int) -> np.ndarray:
        lo, hi = max(0, start - self.context), min(self.frames, stop + self.context)
        wav = self.fn(self._in[:, lo - self._in_start:hi - self._in_start])
        self._next = stop
        keep_from = max(0, stop - self.context)
        self._in, self._in_start = self._in[:, keep_from - self._in_start:], keep_from
        return np.asarray(wav[(start - lo) * self.hop:(stop - lo) * self.hop], dtype=np.float32)

    @staticmethod
    def _join(pieces: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


class SlidingChunks:
    """Frames ``(C, n)`` -> frames ``(C, n)``, or samples ``(n * scale,)``, for live use.

    At each push, every frame whose ``lookahead_frames`` future frames have arrived goes through
    ``fn`` at once ((C, k) array -> (C, k) frames, or (k * scale,) samples when ``scale`` > 1), with
    up to ``context_frames`` past frames before and the lookahead after; their part of the output is
    returned, its first ``crossfade_frames`` frames crossfaded linearly from what the previous run
    computed for them (its lookahead). So a stage adds only its lookahead to the latency, whatever
    the block sizes pushed. Unlike :class:`CrossfadeChunks` and :class:`ContextChunks` the output
    depends on the push sizes (a model sees less context than offline): the live counterpart of
    both (``scale`` = hop for a vocoder). ``align``: runs start on multiples of it (a model that
    downsamples time by it then sees its input on the same grid every run, as offline);
    ``pad_frames``: frames appended to each run's input (and their output dropped), so the newest
    frames are not made at the model's edge: copies of the last frame, or with ``pad_decay`` > 0 the
    last frame decaying to ``pad_rest`` (``(C,)``, default zeros) with that time constant in frames
    (pad frame ``j`` = ``rest + (last - rest) * exp(-j / pad_decay)``, ``j`` = 1, 2, ...).
    ``refine``: a :class:`Refine` run on ``fn``'s output frames, only on those a run returns or keeps for
    the next crossfade (with its context either side): the same frames as running it on the whole
    run's output, for a fraction of the cost (frames out only, ``scale`` 1).
    """

    def __init__(self, fn: Net, channels: int, context_frames: int, lookahead_frames: int,
                 crossfade_frames: int = 0, *, scale: int = 1, align: int = 1, pad_frames: int = 0,
                 pad_decay: float = 0.0, pad_rest: np.ndarray | None = None, refine: Refine | None = None) -> None:
        if context_frames < 0 or not 0 <= crossfade_frames <= lookahead_frames:
            raise ValueError(f"need context_frames >= 0 and 0 <= crossfade_frames <= "
                             f"lookahead_frames, got {context_frames}, {crossfade_frames}, "
                             f"{lookahead_frames}")
        if pad_decay < 0:
            raise ValueError(f"need pad_decay >= 0, got {pad_decay}")
        if refine is not None and scale != 1:
            raise ValueError(f"refine runs on frames: need scale 1, got {scale}")
        self.refine = refine
        self.fn, self.context, self.lookahead, self.crossfade = fn, context_frames, lookahead_frames, crossfade_frames
        self.scale, self.align, self.pad = scale, align, pad_frames
        self._pad_weights = None
        if pad_frames and pad_decay > 0:
            self._pad_weights = np.exp(-np.arange(1, pad_frames + 1) / pad_decay)[None].astype(np.float32)
            rest = np.zeros(channels) if pad_rest is None else np.asarray(pad_rest, dtype=np.float64).reshape(-1)
            if rest.shape != (channels,):
                raise ValueError(f"pad_rest must have {channels} values, got {rest.shape[0]}")
            self._pad_rest = rest.astype(np.float32)[:, None]
        self.frames = 0
        self._in = np.zeros((channels, 0), dtype=np.float32)
        self._in_start = 0
        self._next = 0  # first frame not returned yet
        self._tail: np.ndarray | None = None  # the previous run's output for frames _next.. (its lookahead)

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        self._in = np.concatenate([self._in, x], axis=1)
        self.frames += x.shape[1]
        if self.frames - self.lookahead <= self._next:
            return self._empty()
        return self._run(self.frames - self.lookahead, self.frames)

    def finish(self) -> np.ndarray:
        if self._next >= self.frames:
            return self._empty()
        return self._run(self.frames, self.frames)

    def _empty(self) -> np.ndarray:
        return np.zeros(0 if self.scale > 1 else (self._in.shape[0], 0), dtype=np.float32)

    def _run(self, stop: int, end: int) -> np.ndarray:
        start, k = self._next, self.scale
        lo = max(0, start - self.context)
        lo -= lo % self.align  # a model that downsamples by `align` sees its input on the same grid each run
        x = self._in[:, lo - self._in_start:end - self._in_start]
        if self._pad_weights is not None:  # the last frame fading to the rest frame: a future that calms down
            x = np.concatenate([x, self._pad_rest + (x[:, -1:] - self._pad_rest) * self._pad_weights], axis=1)
        elif self.pad:  # hold the last frame: a model sees a steady future instead of its zero padding
            x = np.concatenate([x, np.repeat(x[:, -1:], self.pad, axis=1)], axis=1)
        y = np.asarray(self.fn(x), dtype=np.float32)
        if self.refine is not None:  # only on the frames kept below, with the refiner's context either side
            a, b, c = start - lo, end - lo, self.refine.context
            first = max(0, a - c)
            part = np.asarray(self.refine.fn(y[:, first:b + c]), dtype=np.float32)
            y = y.copy()
            y[:, a:b] = part[:, a - first:b - first]
        y = y[..., :(end - lo) * k]
        out = y[..., (start - lo) * k:(stop - lo) * k].copy()
        if self._tail is not None and self.crossfade:
            n = min(self.crossfade * k, self._tail.shape[-1], out.shape[-1])
            ramp = (np.arange(n, dtype=np.float32) + 0.5) / np.float32(n)
            out[..., :n] = self._tail[..., :n] * (1 - ramp) + out[..., :n] * ramp
        self._tail = y[..., (stop - lo) * k:(end - lo) * k]
        self._next = stop
        keep_from = max(0, stop - self.context)
        keep_from -= keep_from % self.align
        self._in, self._in_start = self._in[:, keep_from - self._in_start:], keep_from
        return out


def stream_to_file(blocks: Iterable[np.ndarray], stage: Stage, out: str | os.PathLike, sample_rate: int, *,
                   overwrite: bool = False, guard: str | None = None,
                   length: Callable[[], int] | None = None) -> int:
    """Push ``blocks`` through ``stage`` (ending in samples) into the audio file ``out``, atomically.

    ``length()`` (when given) is the number of input samples read so far: the output is trimmed to
    it and, at the end, zero-padded to it (the output keeps the input's length). ``guard``: see
    :class:`voicegen.audio.writer.AudioWriter` (the clip guard of model outputs). Returns the samples
    written. Memory: one block plus the stages' buffers, whatever the file's length.
    """

    def write(writer: AudioWriter, wav: np.ndarray) -> None:
        if length is not None:
            wav = wav[:max(0, length() - writer.samples)]
        writer.write(wav)

    with AudioWriter(out, sample_rate, overwrite=overwrite, guard=guard) as writer:
        for block in blocks:
            write(writer, stage.push(block))
        write(writer, stage.finish())
        if length is not None:
            writer.pad_to(length())
    return writer.samples
