"""Vocode: log-mel (+ F0) -> waveform with an exported ``vocoder`` artifact (:mod:`voicegen.formats.vocoder`).

    vocoder = load_vocoder("runs/vocoder16k/export")
    wav = vocoder.wav_from_mel(mel)                       # (n_mels, frames) -> (frames * hop,)
    wav = vocoder.wav_from_mel(mel, f0=rows)              # pitch-conditioned: + F0 rows (2, frames)
    vocode_to("in.wav", "out.wav", vocoder)               # copy-synthesis: wav -> mel (+ F0) -> wav

(Folders, globs and list files go through the batch engine: ``voicegen.infer.commands.run_vocode``.)

A pitch-conditioned vocoder (``vocoder.needs_f0``) takes the F0 rows of :mod:`voicegen.audio.f0`
(continuous log-F0 and voicing, one per mel frame) beside the log-mel; it adds the excitation
phase row itself (:class:`PhaseRows`) before the generator. ``semitones`` moves the F0 it is given
(the ``--pitch`` knob of ``voicegen vocode``): the pitch changes, the spectral envelope does not.

Long inputs are vocoded in chunks of mel frames with context on both sides that is computed and
thrown away, so memory stays bounded and the result equals vocoding the whole input at once (the
generators' receptive fields are shorter than the context).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.artifact_meta import read_artifact_meta
from voicegen.audio.contract import FeatureConfig
from voicegen.audio.f0 import F0_ROWS, LF0_ROW, F0Config, F0Stream, shift_lf0
from voicegen.audio.io import AudioReader
from voicegen.audio.logmel import MelStream
from voicegen.audio.writer import guard_gain
from voicegen.errors import AudioError, ConfigError
from voicegen.formats.vocoder import KIND as VOCODER_KIND  # noqa: F401  (re-exported)
from voicegen.formats.vocoder import vocoder_meta
from voicegen.infer.formant import check_formant, formant_shift
from voicegen.infer.nets import as_net, torch_device
from voicegen.infer.stream import (
    Chain,
    ContextChunks,
    Fork,
    Map,
    Net,
    SlidingChunks,
    Stage,
    run_whole,
    stream_to_file,
)
from voicegen.npyio import check_npy_path, load_npy

MEL_SUFFIX = ".npy"
NPY_MAGIC = b"\x93NUMPY"
OUTPUT_SUFFIX = ".wav"
# Chunking of long mels: frames vocoded per chunk, and frames of context on each side. Measured
# on the shipped generators (istft defaults, HiFi-GAN v1, v3, v1_istft): 16 frames of context
# already give the whole-input output to float rounding (~1e-7); 32 (0.5 s at 16 kHz) is margin.
# Generators that run at the frame rate (iSTFT, source-filter) take chunks of 1000 frames (the
# context then costs 6 % instead of 32 %: 60 s vocode 17 % faster with ONNX Runtime, measured);
# HiFi-GAN's activations at the sample rate keep its chunks at 200 frames.
DEFAULT_CHUNK_FRAMES = 200
FRAME_RATE_CHUNK_FRAMES = 1000
FRAME_RATE_KINDS: tuple[str, ...] = ("istft", "source_filter")
# The pitch knob moves F0 by at most two octaves either way.
MAX_SEMITONES = 24.0
DEFAULT_CONTEXT_FRAMES = 32


class PhaseRows:
    """Rows ``(n_mels + 2, n)`` (mel, lf0, vuv) -> ``(n_mels + 3, n)`` with the excitation phase at each
    frame centre appended (radians in [0, 2 pi); frame 0 at phase 0), carried across pushes: the
    streaming counterpart of :func:`voicegen.models.vocoder.frame_phase` (same recurrence, float64)."""

    def __init__(self, n_mels: int, sample_rate: int, hop_length: int) -> None:
        self.lf0_row = n_mels + LF0_ROW
        self.scale = 2 * math.pi * hop_length * 0.5 / sample_rate
        self.phase: float | None = None
        self.f0 = 0.0

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        f0 = np.exp(x[self.lf0_row].astype(np.float64))
        if f0.shape[0] == 0:
            return np.zeros((x.shape[0] + 1, 0), dtype=np.float32)
        previous = np.concatenate([[self.f0 if self.phase is not None else f0[0]], f0[:-1]])
        steps = self.scale * (previous + f0)
        if self.phase is None:
            steps[0] = 0.0
        phase = np.mod((self.phase or 0.0) + np.cumsum(steps), 2 * math.pi)
        self.phase, self.f0 = float(phase[-1]), float(f0[-1])
        return np.concatenate([x, phase[None].astype(np.float32)], axis=0)

    def finish(self) -> np.ndarray:
        return np.zeros((self.lf0_row + F0_ROWS + 1, 0), dtype=np.float32)


@dataclass
class Vocoder:
    """A loaded vocoder: ``generator`` (a float32 PyTorch module in eval mode on ``device``, or an ONNX
    Runtime graph on the CPU), its mel contract and, for a pitch-conditioned one, how its F0 rows
    are made (``f0_config``)."""

    generator: Any
    feature_config: FeatureConfig
    generator_kind: str
    device: Any
    path: Path | None = None
    runtime: str = "torch"
    """``torch`` (eager PyTorch) or ``onnx`` (ONNX Runtime, CPU; see ``voicegen.infer.onnx_runtime``)."""
    f0_config: F0Config | None = None

    @property
    def sample_rate(self) -> int:
        return self.feature_config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.feature_config.hop_length

    @property
    def needs_f0(self) -> bool:
        """Whether the generator takes F0 rows beside the log-mel."""
        return self.f0_config is not None

    @property
    def in_rows(self) -> int:
        """Rows :meth:`stream` takes: ``n_mels``, plus 2 F0 rows for a pitch-conditioned vocoder."""
        return self.feature_config.n_mels + (F0_ROWS if self.needs_f0 else 0)

    def with_f0_method(self, method: str | None) -> Vocoder:
        """This vocoder tracking F0 with ``method`` (``dio`` | ``harvest``) instead of its artifact's
        (None: unchanged). Harvest follows voicing through transitions better and is ~30x slower."""
        if method is None or (self.f0_config is not None and method == self.f0_config.method):
            return self
        if self.f0_config is None:
            raise ConfigError(f"--f0-method {method}: this vocoder ({self.generator_kind}) takes no F0")
        return dataclasses.replace(self, f0_config=dataclasses.replace(self.f0_config, method=method))

    def f0_stream(self, **blocks: int) -> F0Stream:
        """Samples at the vocoder's rate -> its F0 rows (ValueError for a mel-only vocoder); ``blocks``:
        :class:`voicegen.audio.f0.F0Stream`'s block, context and lookahead sizes (live use)."""
        if self.f0_config is None:
            raise ValueError("this vocoder takes no F0")
        return F0Stream(self.sample_rate, self.hop_length, self.f0_config, **blocks)

    def analysis(self, semitones: float = 0.0, formant: float = 0.0) -> Stage:
        """Samples -> the rows :meth:`stream` takes: the log-mel (its envelope moved by ``formant`` semitones,
        :mod:`voicegen.infer.formant`; pitch-conditioned vocoders only), and the (optionally shifted) F0 rows."""
        mel = MelStream(self.feature_config)
        if not self.needs_f0:
            check_formant_knob(self, formant)
            return mel
        f0: Stage = self.f0_stream()
        if not formant:
            if semitones:
                f0 = Chain([f0, Map(lambda r: shift_lf0(r, semitones), F0_ROWS)])
            return Fork([(None, mel), (None, f0)])
        # a formant shift splits each frame by the F0 its harmonics have, so it runs before the pitch shift
        n_mels = self.feature_config.n_mels
        stages: list[Stage] = [Fork([(None, mel), (None, f0)]), formant_stage(self.feature_config, formant)]
        if semitones:
            stages.append(Map(lambda r: np.concatenate([r[:n_mels], shift_lf0(r[n_mels:], semitones)]),
                              n_mels + F0_ROWS))
        return Chain(stages)

    def check_contract(self, feature_config: FeatureConfig) -> None:
        """ConfigError (one line, naming the differing fields) unless ``feature_config`` is this vocoder's."""
        differ = self.feature_config.diff(feature_config)
        if differ:
            mine, theirs = self.feature_config.to_dict(), feature_config.to_dict()
            parts = ", ".join(f"{name} {theirs[name]!r} vs {mine[name]!r}" for name in differ)
            where = f"vocoder {self.path}" if self.path is not None else "the vocoder"
            raise ConfigError(f"mel contract mismatch with {where}: {parts} (required vs vocoder); "
                              "use a vocoder trained on the same features")

    def wav_from_mel(
        self,
        mel: Any,
        f0: np.ndarray | None = None,
        *,
        chunk_frames: int | None = None,
        context_frames: int = DEFAULT_CONTEXT_FRAMES,
    ) -> np.ndarray:
        """Log-mel ``(n_mels, frames)`` (+ F0 rows ``(2, frames)`` for a pitch-conditioned vocoder)
        -> waveform ``(frames * hop_length,)`` float32 (not clipped).

        Chunks of ``chunk_frames`` frames (None: :attr:`chunk_frames`) are vocoded with
        ``context_frames`` extra frames on each side (where the input has them), whose samples are dropped.
        """
        mel = np.asarray(mel.detach().cpu() if hasattr(mel, "detach") else mel, dtype=np.float32)  # numpy or torch
        n_mels = self.feature_config.n_mels
        if mel.ndim != 2 or mel.shape[0] != n_mels or mel.shape[1] < 1:
            raise ValueError(f"expected a log-mel shaped ({n_mels}, frames), got {tuple(mel.shape)}")
        if self.needs_f0:
            if f0 is None:
                raise ValueError("this vocoder is pitch-conditioned: pass the F0 rows (2, frames) of "
                                 "voicegen.audio.f0 beside the mel")
            f0 = np.asarray(f0, dtype=np.float32)
            if f0.shape != (F0_ROWS, mel.shape[1]):
                raise ValueError(f"expected F0 rows shaped ({F0_ROWS}, {mel.shape[1]}), got {f0.shape}")
            mel = np.concatenate([mel, f0], axis=0)
        elif f0 is not None:
            raise ValueError("this vocoder takes no F0 (a mel-only generator)")
        return run_whole(self.stream(chunk_frames=chunk_frames, context_frames=context_frames), mel)

    @property
    def chunk_frames(self) -> int:
        """Frames per chunk of the offline stages: 1000 for frame-rate generators, 200 for HiFi-GAN."""
        return FRAME_RATE_CHUNK_FRAMES if self.generator_kind in FRAME_RATE_KINDS else DEFAULT_CHUNK_FRAMES

    def stream(self, *, chunk_frames: int | None = None,
               context_frames: int = DEFAULT_CONTEXT_FRAMES) -> Stage:
        """:meth:`wav_from_mel` as a streaming stage (:mod:`voicegen.infer.stream`): rows (log-mel,
        and F0 rows when pitch-conditioned) in blocks, samples out as soon as a chunk's right context
        has arrived; the same output."""
        chunk_frames = chunk_frames or self.chunk_frames
        return self._rows_stage(lambda fn, rows: ContextChunks(fn, rows, self.hop_length, chunk_frames, context_frames))

    def live_stream(self, *, context_frames: int, lookahead_frames: int) -> Stage:
        """:meth:`stream` for live use (:class:`voicegen.infer.stream.SlidingChunks`): at each push,
        every frame whose ``lookahead_frames`` have arrived is vocoded at once."""
        return self._rows_stage(lambda fn, rows: SlidingChunks(fn, rows, context_frames, lookahead_frames,
                                                               scale=self.hop_length))

    def _rows_stage(self, chunks: Callable[[Net, int], Stage]) -> Stage:
        """The generator as a stage over its input rows, cut by ``chunks(fn, rows)``; a pitch-conditioned
        vocoder's rows first get the excitation phase row (:class:`PhaseRows`)."""
        net = as_net(self.generator, self.device)

        def vocode(rows: np.ndarray) -> np.ndarray:
            return net(rows[None])[0, 0]

        n_mels = self.feature_config.n_mels
        if not self.needs_f0:
            return chunks(vocode, n_mels)
        return Chain([PhaseRows(n_mels, self.sample_rate, self.hop_length), chunks(vocode, self.in_rows + 1)])


def load_vocoder(path: str | os.PathLike, device: Any = "cpu", runtime: str = "auto") -> Vocoder:
    """Load a ``vocoder`` artifact folder onto ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    ``runtime``: ``torch``; ``onnx`` (the folder's ONNX graph from ``voicegen export vocoder
    --artifact <folder> --onnx``, CPU only, torch-free); ``auto`` = ONNX Runtime on the CPU where the
    folder has an up-to-date graph, else torch (:func:`voicegen.infer.onnx_runtime.choose_runtime`).
    """
    from voicegen.infer import onnx_runtime

    artifact_meta = read_artifact_meta(path)
    meta = vocoder_meta(artifact_meta, path)
    if onnx_runtime.choose_runtime(runtime, str(device), path, artifact_meta) == "onnx":
        graphs = onnx_runtime.load_onnx_graphs(path, artifact_meta, "vocoder")
        return Vocoder(generator=graphs.net("generator"), feature_config=meta.feature_config,
                       generator_kind=meta.generator_kind, device="cpu", path=Path(path), runtime="onnx",
                       f0_config=meta.f0)
    target = torch_device(device)
    from voicegen.formats.vocoder import load_vocoder_artifact, load_vocoder_generator

    artifact, meta = load_vocoder_artifact(path)
    generator = load_vocoder_generator(artifact, meta)
    return Vocoder(generator=generator.to(target), feature_config=meta.feature_config,
                   generator_kind=meta.generator_kind, device=target, path=artifact.path, f0_config=meta.f0)


def clip_guard(wav: np.ndarray, where: str) -> np.ndarray:
    """``wav`` scaled down to a ``GUARD_PEAK`` peak (with an AudioWarning) if it exceeds full scale
    (:func:`voicegen.audio.writer.guard_gain`; what :class:`~voicegen.audio.writer.AudioWriter` does with
    ``guard`` for streamed outputs)."""
    gain = guard_gain(float(np.abs(wav).max()) if wav.size else 0.0, where)
    return wav if gain == 1.0 else (wav * gain).astype(np.float32)


def load_mel_file(path: str | os.PathLike, n_mels: int, f0_rows: int = 0) -> np.ndarray:
    """A ``.npy`` log-mel ``(n_mels, frames)`` as float32 (``(n_mels + f0_rows, frames)`` for a
    pitch-conditioned vocoder: the mel, then its F0 rows); AudioError naming the file otherwise."""
    path = Path(path)
    rows = n_mels + f0_rows
    expected = (f"expected a 2-D log-mel shaped ({n_mels}, frames) for this vocoder" if not f0_rows else
                f"this vocoder is pitch-conditioned: expected a log-mel plus F0 rows shaped ({rows}, frames)")
    make = "make it with `voicegen features" + (" --f0`" if f0_rows else "`")
    try:
        with open(check_npy_path(path), "rb") as handle:
            if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
                raise AudioError(f"{path}: not a NumPy .npy file (no .npy header); {expected}")
        mel = load_npy(path)  # the header's shape is checked against the file and a limit first
    except (OSError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise AudioError(f"{path}: cannot read the .npy file ({reason}); {expected}") from None
    if mel.ndim != 2 or mel.shape[0] != rows or mel.shape[1] < 1:
        raise AudioError(f"{path}: {expected}, got shape {mel.shape}; {make} (or give audio)")
    if not np.issubdtype(mel.dtype, np.floating) or not np.isfinite(mel).all():
        raise AudioError(f"{path}: {expected} of finite floats, got dtype {mel.dtype} "
                         f"{'with NaN/Inf' if np.issubdtype(mel.dtype, np.floating) else ''}".rstrip())
    return mel.astype(np.float32)


def vocode_file(in_path: str | os.PathLike, out_path: str | os.PathLike, vocoder: Vocoder, *,
                overwrite: bool = False, semitones: float = 0.0, formant: float = 0.0) -> Path:
    """Vocode one file: a ``.npy`` log-mel (+ F0 rows), or audio (copy-synthesis at the vocoder's rate,
    streamed block by block: memory does not grow with the file's length). Output clip-guarded,
    atomic. ``semitones`` moves the F0 a pitch-conditioned vocoder is given, ``formant`` the mel's
    envelope (semitones; ConfigError for either with a mel-only vocoder)."""
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.exists() and not overwrite:
        raise AudioError(f"{out_path}: already exists; pass --overwrite (overwrite=True) to replace it")
    check_pitch_knob(vocoder, semitones)
    check_formant_knob(vocoder, formant)
    if in_path.suffix.lower() == MEL_SUFFIX:
        rows = load_mel_file(in_path, vocoder.feature_config.n_mels, vocoder.in_rows - vocoder.feature_config.n_mels)
        n_mels = vocoder.feature_config.n_mels
        if formant:  # before the pitch shift: the mel's harmonics are at the F0 given with it
            rows = formant_shift(vocoder.feature_config, formant).rows(rows)
        if semitones:
            rows = np.concatenate([rows[:n_mels], shift_lf0(rows[n_mels:], semitones)])
        stream_to_file([rows], vocoder.stream(), out_path, vocoder.sample_rate, overwrite=overwrite,
                       guard=str(in_path))
        return out_path
    reader = AudioReader(in_path, vocoder.sample_rate, min_samples=vocoder.feature_config.min_samples)
    stream_to_file(reader, Chain([vocoder.analysis(semitones, formant), vocoder.stream()]), out_path,
                   vocoder.sample_rate, overwrite=overwrite, guard=str(in_path), length=lambda: reader.samples)
    return out_path


def formant_stage(config: FeatureConfig, semitones: float) -> Map:
    """A stage over a pitch-conditioned vocoder's input rows (log-mel, lf0, vuv) that moves the log-mel's
    envelope by ``semitones``, each frame split by its F0 (:class:`voicegen.infer.formant.FormantShift`)."""
    return Map(formant_shift(config, float(semitones)).rows, config.n_mels + F0_ROWS)


def check_formant_knob(vocoder: Vocoder, semitones: float) -> None:
    """ConfigError (one line) for a formant shift out of range, or any with a mel-only vocoder (whose mel
    carries the pitch, which the shift would move too)."""
    check_formant(semitones)
    if semitones and not vocoder.needs_f0:
        where = f"{vocoder.path}" if vocoder.path is not None else "this vocoder"
        raise ConfigError(f"{where} is mel-only ({vocoder.generator_kind}): its mel carries the pitch, which "
                          "--formant would move too; use a pitch-conditioned (source_filter) vocoder")


def check_pitch_knob(vocoder: Vocoder, semitones: float) -> None:
    """ConfigError (one line) for a pitch shift a mel-only vocoder cannot make, or a non-finite/huge one."""
    if not math.isfinite(semitones) or abs(semitones) > MAX_SEMITONES:
        raise ConfigError(f"--pitch must be a number of semitones within +-{MAX_SEMITONES:g}, got {semitones}")
    if semitones and not vocoder.needs_f0:
        where = f"{vocoder.path}" if vocoder.path is not None else "this vocoder"
        raise ConfigError(f"{where} is mel-only ({vocoder.generator_kind}): it cannot move pitch; "
                          "use a pitch-conditioned (source_filter) vocoder")


def vocode_to(in_path: str | os.PathLike, out_path: str | os.PathLike, vocoder: Vocoder, *,
              overwrite: bool = False, semitones: float = 0.0, formant: float = 0.0) -> Path:
    """Vocode one audio or ``.npy`` file into ``out_path`` (a folder: the input's name with ``.wav``).

    An existing output is refused before any work unless ``overwrite``. Returns the written path.
    Folders, globs and list files: :func:`voicegen.infer.commands.run_vocode` (the batch engine).
    """
    in_path, out_path = Path(in_path), Path(out_path)
    if not in_path.is_file():
        state = "is a folder: vocode folders with voicegen.infer.commands.run_vocode" if in_path.is_dir() else \
            "not found; pass an audio file or a .npy log-mel"
        raise AudioError(f"{in_path}: {state}")
    if out_path.is_dir():
        out_path = out_path / in_path.with_suffix(OUTPUT_SUFFIX).name
    if out_path.exists() and not overwrite:
        raise AudioError(f"{out_path}: already exists; pass --overwrite (overwrite=True) to replace it")
    return vocode_file(in_path, out_path, vocoder, overwrite=overwrite, semitones=semitones, formant=formant)
