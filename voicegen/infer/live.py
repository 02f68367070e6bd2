"""Live conversion: audio in short blocks -> converted audio with a bounded latency (`voicegen stream`).

The offline path (:meth:`voicegen.infer.convert.Converter.stages`) converts 1024-frame chunks and
tracks F0 on 224-frame blocks: exact, but a sample leaves seconds after it arrived. The live chain
is the same models, run at every pushed block on what has arrived:

* log-mel frames as :class:`voicegen.audio.features.MelStream` makes them (its centred STFT waits
  for half a window of future samples: one frame);
* beside mel -> converter, F0 rows tracked on the new frames with ``F0_CONTEXT_FRAMES`` past and as
  many future frames as that branch waits anyway (:attr:`LiveConverter.f0_lookahead_frames`: the
  converter's lookahead + 1, at least ``STAGE_LOOKAHEAD_FRAMES``), unvoiced frames not delayed
  (``fill_frames`` 0: the last voiced log-F0 is held instead of interpolated across the gap) with the
  vocoder's tracker settings (DIO at 4 sub-frames per hop for the shipped one), then the log-Gaussian
  transform;
* the converter on up to ``context_ms`` of past frames + the new frames + ``lookahead_frames``
  (:class:`voicegen.infer.stream.SlidingChunks`), its runs aligned to its 4-frame time stride and
  padded with the last frame fading to the source speaker's mean frame, the first ``crossfade_frames``
  of each block crossfaded with the previous run's lookahead; a bundle's frame bank
  (:mod:`voicegen.infer.framebank`) re-draws the frames each run keeps (``LiveSettings.frame_bank``;
  the newest frame's neighbour is the converter's frame for the first lookahead frame, so it adds no
  latency), the post-filter is left out;
* the vocoder on the new frames with ``VOCODER_CONTEXT_FRAMES`` past and ``STAGE_LOOKAHEAD_FRAMES``
  future frames; its excitation phase runs on across blocks.

So the algorithmic latency is the block plus ``1 + max(STAGE_LOOKAHEAD_FRAMES, lookahead_frames + 1) +
STAGE_LOOKAHEAD_FRAMES`` frames. It is measured, not computed: :meth:`LiveConverter.probe_latency` pushes silence through a
fresh chain and records the largest lag of output behind input. :class:`BlockTimer` keeps the
compute time of every block against the block's duration. The output differs from the offline
conversion where the converter lacks the future it sees offline (README, "Live conversion").
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from voicegen.errors import ConfigError
from voicegen.infer.convert import PITCH_NONE, Converter
from voicegen.infer.options import ConvertOptions
from voicegen.infer.stream import SlidingChunks, Stage

# Defaults chosen by benchmarks/stream.py on the shipped vcc2016_sf1_tm1 (see the README's
# "Live conversion" table): 5-frame (80 ms) blocks, 2 frames of converter lookahead: 176 ms (F0 beside the converter).
DEFAULT_BLOCK_MS = 80.0
DEFAULT_CONTEXT_MS = 512.0
DEFAULT_LOOKAHEAD_FRAMES = 2
DEFAULT_CROSSFADE_FRAMES = 2
F0_CONTEXT_FRAMES = 16
VOCODER_CONTEXT_FRAMES = 32
# F0 and the vocoder wait for 2 future frames each: the vocoder then matches its offline output at
# 26 dB (mel SNR; 16 dB with none) and live F0 follows a known glide within 20 cents.
STAGE_LOOKAHEAD_FRAMES = 2
# Converter runs start on multiples of 4 frames: the CycleGAN and VAE downsample time by 4.
CONVERTER_ALIGN = 4
# ... and see 16 padding frames after it: copies of their last frame took DNSMOS of the live conversion
# from 2.60 to 2.98 on 5 evaluation sentences (offline: 3.01; the models of 2026-11)...
CONVERTER_PAD_FRAMES = 16
# ... and, since 2026-12-06, the last frame fading to the source speaker's mean frame with a 4-frame time
# constant instead: on the 10 SF1 -> TM1 pairs DNSMOS 2.83 -> 3.09 (10/10), MCD 6.95 -> 6.80 dB (README,
# "Live conversion").
CONVERTER_PAD_DECAY_FRAMES = 4.0
MAX_BLOCK_MS = 2000.0
MAX_CONTEXT_MS = 8000.0
PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class LiveSettings:
    """Block and context sizes of the live chain (see the module doc). Times in milliseconds are
    rounded to whole mel frames (16 ms at the vc16k contract). ``frame_bank``: run the bundle's frame
    bank, if it has one (on the 10 SF1 -> TM1 evaluation pairs MCD 7.25 -> 6.80 dB, speaker similarity
    0.776 -> 0.794, DNSMOS 3.07 -> 3.09: README, "Live conversion")."""

    block_ms: float = DEFAULT_BLOCK_MS
    context_ms: float = DEFAULT_CONTEXT_MS
    lookahead_frames: int = DEFAULT_LOOKAHEAD_FRAMES
    crossfade_frames: int = DEFAULT_CROSSFADE_FRAMES
    frame_bank: bool = True

    def check(self) -> None:
        """ConfigError (one line, naming the option) for sizes out of range."""
        if not 0 < self.block_ms <= MAX_BLOCK_MS:
            raise ConfigError(f"--block-ms must be in (0, {MAX_BLOCK_MS:g}], got {self.block_ms:g}")
        if not 0 <= self.context_ms <= MAX_CONTEXT_MS:
            raise ConfigError(f"--context-ms must be in [0, {MAX_CONTEXT_MS:g}], got {self.context_ms:g}")
        if not 0 <= self.lookahead_frames <= 64:
            raise ConfigError(f"--lookahead-frames must be in [0, 64], got {self.lookahead_frames}")
        if not 0 <= self.crossfade_frames <= self.lookahead_frames:
            raise ConfigError(f"--crossfade-frames must be in [0, --lookahead-frames = {self.lookahead_frames}], "
                              f"got {self.crossfade_frames}")

    def frames(self, milliseconds: float, hop_length: int, sample_rate: int) -> int:
        """``milliseconds`` as whole frames of ``hop_length`` samples (at least 1)."""
        return max(1, round(milliseconds * sample_rate / 1000.0 / hop_length))


@dataclass
class BlockTimer:
    """Compute seconds per block against the block's duration; ``late`` counts blocks whose
    result came after the next block was due (real-time pace) or that took longer than a block."""

    block_seconds: float
    seconds: list[float] = field(default_factory=list)
    late: int = 0

    def add(self, seconds: float, *, late: bool | None = None) -> None:
        self.seconds.append(seconds)
        if (seconds > self.block_seconds) if late is None else late:
            self.late += 1

    def summary(self) -> dict[str, float]:
        """``blocks``, ``mean_ms``, ``p95_ms``, ``max_ms``, ``block_ms``, ``p95_fraction`` (p95 / block), ``late``."""
        if not self.seconds:
            return {"blocks": 0, "block_ms": 1000 * self.block_seconds, "late": 0}
        ms = np.asarray(self.seconds) * 1000.0
        p95 = float(np.percentile(ms, 95))
        return {"blocks": len(ms), "mean_ms": float(ms.mean()), "p95_ms": p95, "max_ms": float(ms.max()),
                "block_ms": 1000 * self.block_seconds, "p95_fraction": p95 / (1000 * self.block_seconds),
                "late": self.late}


class LiveConverter:
    """One live conversion with a loaded :class:`Converter` and the per-file options of ``voicegen
    convert`` (:class:`voicegen.infer.options.ConvertOptions`: source, target, pitch; its
    ``f0_method`` is the converter's, its ``plot`` unused): ``push(samples)`` returns the converted
    samples ready so far, ``finish()`` the rest. Blocks of any size may be pushed;
    :attr:`block_samples` is the size the settings name.

    A pitch other than ``none`` needs a pitch-conditioned vocoder (with a mel-only one, ``convert``
    pre-shifts the whole waveform, which a live input does not have). A bundle's post-filter
    (:mod:`voicegen.infer.postfilter`) is not run live; its frame bank is, unless ``settings.frame_bank``
    is False.
    """

    def __init__(self, converter: Converter, options: ConvertOptions, settings: LiveSettings = LiveSettings()) -> None:
        settings.check()
        converter.bundle.generator(options.source, options.target)  # validates the names
        self.converter, self.options, self.settings = converter, options, settings
        self.source, self.target, self.pitch = options.source, options.target, options.pitch
        fc = converter.feature_config
        self.sample_rate, self.hop = fc.sample_rate, fc.hop_length
        self.block_frames = settings.frames(settings.block_ms, self.hop, self.sample_rate)
        self.context_frames = settings.frames(settings.context_ms, self.hop, self.sample_rate) \
            if settings.context_ms > 0 else 0
        self.block_samples = self.block_frames * self.hop
        vocoder = converter.vocoder
        if not vocoder.needs_f0 and self.pitch != PITCH_NONE and self.pitch != 0.0:
            raise ConfigError(f"live conversion with a mel-only vocoder ({vocoder.generator_kind}) cannot move the "
                              "pitch (that needs the whole input); pass --pitch none, or use a pitch-conditioned "
                              "vocoder such as vocoder16k")
        self._stage = self._build()

    def _build(self) -> Stage:
        """:meth:`Converter.stages` with the live converter, F0 and vocoder stages."""
        s, vocoder = self.settings, self.converter.vocoder

        def chunker(fn, channels, rest, refine):
            return SlidingChunks(fn, channels, self.context_frames, s.lookahead_frames, s.crossfade_frames,
                                 align=CONVERTER_ALIGN, pad_frames=CONVERTER_PAD_FRAMES,
                                 pad_decay=CONVERTER_PAD_DECAY_FRAMES, pad_rest=rest, refine=refine)

        f0 = None
        if vocoder.needs_f0:
            assert vocoder.f0_config is not None
            # The vocoder's own tracker settings, its DIO sub-frames included (since 2026-12-06: 4 sub-frames
            # per hop put 0.6 % of SF1's voiced frames more than 100 cents from the offline F0 where one put
            # 6.7 %, and raised live DNSMOS on SF1 -> TM1, TM1 -> SF1 and LJ Speech -> TM1 by 0.015 / 0.066 /
            # 0.038 (4 framings); recipes/vcc2016/logs/2026-12-06_live_f0_subframes/); unvoiced runs not delayed.
            live_f0 = dataclasses.replace(vocoder, f0_config=dataclasses.replace(vocoder.f0_config, fill_frames=0))
            f0 = live_f0.f0_stream(block_frames=None, context_frames=F0_CONTEXT_FRAMES,
                                   lookahead_frames=self.f0_lookahead_frames)
        # A bundle's post-filter is left out live: run on blocks that end at the newest frame, its
        # encoder and decoder changed the joins audibly (a click on a steady tone), which the
        # generator alone does not.
        # A frame bank runs on the frames each converter run keeps (the chunker's refine stage,
        # ``settings.frame_bank``): the newest frame's neighbour is the converter's frame for the first
        # lookahead frame.
        bundle = self.converter.bundle
        chain, _, _ = self.converter.stages(
            self.source, self.target, pitch=self.pitch, f0=f0,
            mel_hat=bundle.mel_stream(self.source, self.target, chunker=chunker, postfilter=False,
                                      use_frame_bank=s.frame_bank),
            voice=vocoder.live_stream(context_frames=VOCODER_CONTEXT_FRAMES, lookahead_frames=STAGE_LOOKAHEAD_FRAMES),
            f0_beside=True, formant=self.options.formant)
        return chain

    @property
    def f0_lookahead_frames(self) -> int:
        """Future frames the F0 tracker waits for: as many as the mel -> converter branch beside it
        waits anyway (its lookahead + the mel's centred window), at least ``STAGE_LOOKAHEAD_FRAMES``.

        F0 runs beside mel -> converter (``Converter.stages(f0_beside=True)``), so this costs no latency
        unless the converter's lookahead is below 1. Since 2026-12-06 (thirteenth session; it ran before the
        converter with 2 frames): with the default lookahead F0 sees 3 future frames and the chain is one
        frame sooner; live DNSMOS (4 framings) SF1 -> TM1 3.080 -> 3.111, TM1 -> SF1 2.955 -> 2.998, LJ Speech
        -> TM1 3.237 -> 3.250, MCD -0.02 / -0.01 dB (recipes/vcc2016/logs/2026-12-06_live_f0_beside/)."""
        return max(STAGE_LOOKAHEAD_FRAMES, self.settings.lookahead_frames + 1)

    def push(self, samples: np.ndarray) -> np.ndarray:
        return np.asarray(self._stage.push(np.asarray(samples, dtype=np.float32).reshape(-1)), dtype=np.float32)

    def finish(self) -> np.ndarray:
        return np.asarray(self._stage.finish(), dtype=np.float32)

    def fresh(self) -> LiveConverter:
        """A new chain with the same models and settings (no state carried over)."""
        return LiveConverter(self.converter, self.options, self.settings)

    def probe_latency(self, seconds: float = PROBE_SECONDS) -> int:
        """Algorithmic latency in samples: blocks of :attr:`block_samples` of silence go through a fresh
        chain; a sample waits for its block to fill and then until the output reaches it, so the
        latency is the largest ``input so far - output before this block`` over the blocks."""
        chain = self.fresh()
        pushed = out = 0
        worst = 0
        for _ in range(max(2, math.ceil(seconds * self.sample_rate / self.block_samples))):
            before = out
            pushed += self.block_samples
            out += chain.push(np.zeros(self.block_samples, dtype=np.float32)).shape[0]
            worst = max(worst, pushed - before)
        return worst

    def run(self, blocks, write, *, realtime: bool = False, clock=time.perf_counter,
            sleep=time.sleep) -> BlockTimer:
        """Push every block of ``blocks`` (arrays of :attr:`block_samples` samples; the last may be
        shorter) and hand each result to ``write``; then the rest. With ``realtime`` the blocks are
        paced as a live input would deliver them, and a block is late when its result came after
        the next one was due. Returns the per-block timings."""
        timer = BlockTimer(self.block_samples / self.sample_rate)
        start = clock()
        due = start
        for block in blocks:
            if realtime:
                due += len(block) / self.sample_rate  # the block is complete at this time
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
            began = clock()
            result = self.push(block)
            ended = clock()
            timer.add(ended - began, late=(ended > due + timer.block_seconds) if realtime else None)
            write(result)
        write(self.finish())
        return timer
