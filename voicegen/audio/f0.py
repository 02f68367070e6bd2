"""Frame-level F0 for pitch-conditioned vocoders: the F0 contract, extraction, and its stream.

A source-filter vocoder (``voicegen.models.vocoder.source_filter``) takes, beside every log-mel
frame, two rows: ``lf0`` (natural log of F0 in Hz, *continuous*: unvoiced gaps are filled) and
``vuv`` (1.0 voiced, 0.0 unvoiced). Those rows are part of the vocoder's contract, so
:class:`F0Config` is stored in its artifact beside the mel contract.

Alignment: mel frame ``i`` (``center=False``, ``(n_fft - hop) / 2`` samples of padding) is centred
on sample ``i * hop + hop / 2``; F0 frame ``i`` is centred there too (WORLD's DIO + StoneMask run
on the signal from sample ``hop / 2`` on, with a frame period of one hop), and there are
``T // hop`` frames, as many as mel frames.

Extraction is measured on this project's 2-core CPU (VCC 2016 dev sentences, 53 s, one thread,
frame period 16 ms): DIO + StoneMask RTF 0.0045, Harvest 0.146; DIO's F0 is within 20 % of
Harvest's on 98.8 % of the frames both call voiced, but it calls fewer frames voiced (they
disagree on 22 % of frames). The vocoder therefore gets a continuous contour and decides itself
how harmonic each frame is: it sees ``vuv`` and the mel. YIN (``voicegen.audio.pitch``) was
faster (0.0015) but made 2.4x as many gross errors against Harvest.

Gap filling (the same arithmetic whole or streamed): an unvoiced run of at most ``fill_frames``
frames between two voiced frames is interpolated linearly in log-F0; a longer run holds the last
voiced value; frames before the first voiced one take it when it comes within ``fill_frames``
frames, else ``default_hz``.

:class:`F0Stream` computes the rows block by block (fixed blocks of frames with context samples
on both sides, placed by absolute frame index), so its output does not depend on how the input
is pushed, and :func:`f0_rows` (a whole waveform) is the stream run once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from voicegen.errors import ConfigError

F0_METHODS = ("dio", "harvest")
# Frames analysed per call of the tracker, and frames of context on each side (their F0 is
# recomputed by the neighbouring block and dropped here): 0.26 s of context at 16 kHz / hop 256
# covers DIO's longest analysis filter at a 50 Hz floor several times over. A block with its
# context spans 256 frames (65 536 samples at hop 256), a power of two for DIO's FFTs.
BLOCK_FRAMES = 224
CONTEXT_FRAMES = 16
# Rows of the F0 conditioning, in order.
LF0_ROW, VUV_ROW = 0, 1
F0_ROWS = 2


@dataclass(frozen=True)
class F0Config:
    """How F0 rows are made from a waveform (stored in pitch-conditioned vocoder artifacts).

    Args:
        method: ``dio`` (WORLD DIO refined by StoneMask; fast) or ``harvest`` (WORLD Harvest; ~30x slower).
        f0_min, f0_max: search range in Hz (50-800 covers speech and most singing).
        fill_frames: unvoiced runs up to this many frames between voiced frames are interpolated.
        default_hz: F0 of leading frames with no voiced frame within ``fill_frames``.
        voicing_threshold: DIO's voiced/unvoiced threshold (WORLD's ``allowed_range``): higher calls
            more frames voiced. 0.1 is WORLD's default; 0.2 calls about as many frames voiced as
            Harvest does (``recipes/vocoder16k/README.md``). Ignored by Harvest.
        dio_speed: DIO analyses the signal decimated by this factor (WORLD's ``speed``, 1-12): 2
            halves its cost. Ignored by Harvest.
        dio_subframes: DIO + StoneMask run at this many frames per hop, and each hop's F0 is the
            median of the voiced ones among the ``2 * (subframes // 2) + 1`` centred on it
            (unvoiced unless most of them are voiced). DIO's contour repair assumes frames a few ms
            apart (WORLD's default period is 5 ms); at a 16 ms hop, 4 sub-frames cut the frames more
            than 20 % from Harvest's F0 from 6.8 % to 4.0 % (LJ Speech + VCC SF1) for ~1.4x the
            cost. Ignored by Harvest.
    """

    method: str = "dio"
    f0_min: float = 50.0
    f0_max: float = 800.0
    fill_frames: int = 32
    default_hz: float = 120.0
    voicing_threshold: float = 0.1
    dio_speed: int = 1
    dio_subframes: int = 1

    def __post_init__(self) -> None:
        if self.method not in F0_METHODS:
            raise ConfigError(f"f0.method must be one of {', '.join(F0_METHODS)}, got {self.method!r}")
        if not (0 < self.f0_min < self.f0_max) or not math.isfinite(self.f0_max):
            raise ConfigError(f"f0 needs 0 < f0_min < f0_max, got f0_min={self.f0_min}, f0_max={self.f0_max}")
        _check_int("fill_frames", self.fill_frames, 0)
        if not self.f0_min <= self.default_hz <= self.f0_max:
            raise ConfigError(f"f0.default_hz {self.default_hz} must lie in [f0_min, f0_max]")
        if isinstance(self.voicing_threshold, bool) or not isinstance(self.voicing_threshold, (int, float)) or \
                not 0 < self.voicing_threshold <= 1:
            raise ConfigError(f"f0.voicing_threshold must be a number in (0, 1], got {self.voicing_threshold!r}")
        _check_int("dio_speed", self.dio_speed, 1, 12)
        _check_int("dio_subframes", self.dio_subframes, 1, 16)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> F0Config:
        """Strict: unknown keys are a ConfigError naming them."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"f0 settings must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - {f for f in cls.__dataclass_fields__})
        if unknown:
            raise ConfigError(f"unknown f0 setting(s) {', '.join(unknown)}")
        return cls(**dict(data))


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    """ConfigError naming ``f0.<name>`` unless ``value`` is an integer (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise ConfigError(f"f0.{name} must be an integer {bound}, got {value!r}")


def track_f0(wav: np.ndarray, sample_rate: int, hop_length: int, config: F0Config) -> np.ndarray:
    """Raw F0 in Hz (0.0 = unvoiced) of frames centred on ``hop / 2, hop / 2 + hop, ...`` of ``wav``.

    Returns float64 ``(frames,)`` with ``frames = 1 + (len(wav) - hop // 2 - 1) // hop`` (at least 1).
    """
    import pyworld

    x = np.ascontiguousarray(np.asarray(wav, dtype=np.float64)[hop_length // 2:])
    if x.shape[0] == 0:
        return np.zeros(1)
    period_ms = 1000.0 * hop_length / sample_rate
    if config.method == "harvest":
        f0, _ = pyworld.harvest(x, sample_rate, f0_floor=config.f0_min, f0_ceil=config.f0_max,
                                frame_period=period_ms)
    else:
        sub = config.dio_subframes
        f0, times = pyworld.dio(x, sample_rate, f0_floor=config.f0_min, f0_ceil=config.f0_max,
                                frame_period=period_ms / sub, speed=config.dio_speed,
                                allowed_range=float(config.voicing_threshold))
        f0 = pyworld.stonemask(x, f0, times, sample_rate)
        if sub > 1:
            f0 = _subframe_median(np.asarray(f0, dtype=np.float64), sub, 1 + (x.shape[0] - 1) // hop_length)
    return np.asarray(f0, dtype=np.float64)


def _subframe_median(fine: np.ndarray, sub: int, frames: int) -> np.ndarray:
    """Frame ``i``'s F0 from sub-frames ``i * sub - sub // 2 .. i * sub + sub // 2`` (missing ones unvoiced):
    the median of the voiced ones when they are the majority, else 0 (unvoiced)."""
    half = sub // 2
    width = 2 * half + 1
    padded = np.zeros((frames - 1) * sub + width)  # exactly `frames` windows, `sub` apart
    count = min(fine.shape[0], padded.shape[0] - half)
    padded[half:half + count] = fine[:count]
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)[::sub]
    voiced = windows > 0
    majority = voiced.sum(axis=1) * 2 > width
    values = np.where(voiced, windows, np.nan)
    out = np.zeros(frames)
    if majority.any():
        out[majority] = np.nanmedian(values[majority], axis=1)
    return out


class GapFill:
    """Raw F0 ``(n,)`` in Hz (0 = unvoiced) -> rows ``(2, n)``: continuous ``lf0`` and ``vuv``.

    A stage (``push``/``finish``) that delays an unvoiced run until it ends or grows beyond
    ``fill_frames``; see the module doc for the rule.
    """

    def __init__(self, config: F0Config) -> None:
        self.fill = config.fill_frames
        self.default = math.log(config.default_hz)
        self.last: float | None = None  # log-F0 of the last voiced frame
        self.pending = 0  # unvoiced frames waiting for the end of their run
        self.holding = False  # inside a run longer than fill_frames

    def push(self, f0_hz: np.ndarray) -> np.ndarray:
        out: list[tuple[float, float]] = []
        for value in np.asarray(f0_hz, dtype=np.float64).reshape(-1):
            if value > 0:
                lf0 = math.log(value)
                if self.pending:
                    start = self.last if self.last is not None else lf0
                    steps = self.pending + 1
                    out.extend((start + (lf0 - start) * k / steps, 0.0) for k in range(1, steps))
                    self.pending = 0
                out.append((lf0, 1.0))
                self.last, self.holding = lf0, False
            elif self.holding:
                out.append((self._hold(), 0.0))
            else:
                self.pending += 1
                if self.pending > self.fill:
                    out.extend([(self._hold(), 0.0)] * self.pending)
                    self.pending, self.holding = 0, True
        return _rows(out)

    def finish(self) -> np.ndarray:
        out = [(self._hold(), 0.0)] * self.pending
        self.pending = 0
        return _rows(out)

    def _hold(self) -> float:
        return self.last if self.last is not None else self.default


def _rows(values: list[tuple[float, float]]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).reshape(-1, F0_ROWS).T.copy()


class F0Stream:
    """Samples in blocks -> F0 rows ``(2, frames)`` (``lf0``, ``vuv``), ``T // hop`` frames in all.

    The tracker runs on fixed blocks of ``block_frames`` (:data:`BLOCK_FRAMES`) frames with
    ``context_frames`` (:data:`CONTEXT_FRAMES`) frames of samples before them and
    ``lookahead_frames`` (default: ``context_frames``) after, so the rows do not depend on the push
    sizes; memory stays about one block of samples. ``block_frames=None`` (live conversion) tracks
    every frame whose lookahead has arrived at each push instead (rows then depend on the push
    sizes); with a short lookahead (its latency) and ``config.fill_frames = 0`` nothing is delayed.
    """

    def __init__(self, sample_rate: int, hop_length: int, config: F0Config, *, block_frames: int | None = BLOCK_FRAMES,
                 context_frames: int = CONTEXT_FRAMES, lookahead_frames: int | None = None) -> None:
        if (block_frames is not None and block_frames < 1) or context_frames < 0 or \
                (lookahead_frames is not None and lookahead_frames < 0):
            raise ValueError(f"F0Stream: need block_frames >= 1 and context/lookahead frames >= 0, got "
                             f"{block_frames}, {context_frames}, {lookahead_frames}")
        self.sample_rate, self.hop, self.config = sample_rate, hop_length, config
        self.block, self.context = block_frames, context_frames
        self.lookahead = context_frames if lookahead_frames is None else lookahead_frames
        self.samples = 0
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute sample index of _buf[0]
        self._next = 0  # first frame not tracked yet
        self._fill = GapFill(config)

    def push(self, wav: np.ndarray) -> np.ndarray:
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        self._buf = np.concatenate([self._buf, wav])
        self.samples += wav.shape[0]
        parts = []
        if self.block is None:  # live: every frame whose lookahead has arrived, at once
            stop = (self.samples - self.hop // 2) // self.hop - self.lookahead
            if stop > self._next:
                parts.append(self._fill.push(self._track(self._next, stop)))
        # A block can run once the samples of its right context have arrived.
        while self.block is not None and self._centre(self._next + self.block + self.lookahead) <= self.samples:
            parts.append(self._fill.push(self._track(self._next, self._next + self.block)))
        return _concat(parts)

    def finish(self) -> np.ndarray:
        total = self.samples // self.hop
        parts = []
        while self._next < total:
            stop = total if self.block is None else min(self._next + self.block, total)
            parts.append(self._fill.push(self._track(self._next, stop)))
        parts.append(self._fill.finish())
        return _concat(parts)

    def _centre(self, frame: int) -> int:
        return frame * self.hop + self.hop // 2

    def _track(self, start: int, stop: int) -> np.ndarray:
        """Raw F0 of frames ``start..stop-1``, tracked on frames ``start - context .. stop + lookahead``."""
        first = max(0, start - self.context)
        lo = first * self.hop  # track_f0 drops the first hop // 2 samples: frame `first` is centred there
        hi = min(self.samples, self._centre(stop + self.lookahead))
        f0 = track_f0(self._buf[lo - self._buf_start:hi - self._buf_start], self.sample_rate, self.hop, self.config)
        got = f0[start - first:stop - first]
        if got.shape[0] < stop - start:  # the last frames of a file may lack a tracker frame
            got = np.pad(got, (0, stop - start - got.shape[0]))
        self._next = stop
        keep = max(0, stop - self.context) * self.hop
        self._buf, self._buf_start = self._buf[keep - self._buf_start:], keep
        return got


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.shape[1]]
    return np.concatenate(parts, axis=1) if parts else np.zeros((F0_ROWS, 0), dtype=np.float32)


def f0_rows(wav: np.ndarray, sample_rate: int, hop_length: int, config: F0Config) -> np.ndarray:
    """F0 rows ``(2, len(wav) // hop)`` float32 of a whole mono waveform (:class:`F0Stream` run once)."""
    stream = F0Stream(sample_rate, hop_length, config)
    return _concat([stream.push(wav), stream.finish()])


def shift_lf0(rows: np.ndarray, semitones: float) -> np.ndarray:
    """F0 rows with ``lf0`` moved by ``semitones`` (F0 scaled by ``2 ** (semitones / 12)``); ``vuv`` kept."""
    out = np.array(rows, dtype=np.float32, copy=True)
    out[LF0_ROW] += semitones * math.log(2.0) / 12.0
    return out


def log_gaussian(source_mean: float, source_std: float, target_mean: float, target_std: float,
                 semitones: float = 0.0) -> tuple[float, float]:
    """``(scale, offset)`` of the log-Gaussian F0 transform ``lf0' = (lf0 - mu_s) / sigma_s * sigma_t +
    mu_t`` (natural log of Hz) plus ``semitones``, as ``lf0' = scale * lf0 + offset``."""
    scale = target_std / source_std
    return scale, target_mean - scale * source_mean + semitones * math.log(2.0) / 12.0


def affine_lf0(rows: np.ndarray, scale: float, offset: float) -> np.ndarray:
    """F0 rows with ``lf0`` replaced by ``scale * lf0 + offset``; ``vuv`` kept (a copy)."""
    out = np.array(rows, dtype=np.float32, copy=True)
    out[LF0_ROW] = scale * out[LF0_ROW] + offset
    return out
