"""Write audio files atomically: a temporary name beside the destination, renamed on success.

:func:`save_audio` writes a whole waveform, :class:`AudioWriter` block by block (optionally with
the clip guard of model outputs: a waveform beyond full scale is scaled down as a whole, with an
:class:`~voicegen.audio.io.AudioWarning`). The format follows the extension (.wav, .flac, .ogg,
.mp3). Every failure is one :class:`~voicegen.errors.AudioError` line naming the file.
Reading lives in :mod:`voicegen.audio.io`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from voicegen.audio.io import (
    DEFAULT_BLOCK_SECONDS,
    MAX_QUIET_CLIPPED_SAMPLES,
    AudioWarning,
    positive_int,
)
from voicegen.errors import AudioError
from voicegen.fileutil import atomic_path, temporary_beside
from voicegen.interrupts import held
from voicegen.pathcheck import check_not_input

# AudioWriter with a peak guard: the first pass keeps 32-bit float samples in this container
# (Sony Wave64: no 4 GB limit), the second scales them into the requested format.
_RAW_FORMAT, _RAW_SUBTYPE = "W64", "FLOAT"
# The peak guard scales a waveform that exceeds full scale down to this peak.
GUARD_PEAK = 0.99
# save_audio: (default subtype, allowed subtypes) per output extension.
_WRITE_FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    ".wav": ("WAV", "PCM_16", ("PCM_16", "PCM_24", "FLOAT")),
    ".flac": ("FLAC", "PCM_16", ("PCM_16", "PCM_24")),
    ".ogg": ("OGG", "VORBIS", ("VORBIS",)),
    ".mp3": ("MP3", "MPEG_LAYER_III", ("MPEG_LAYER_III",)),
}


def save_audio(
    path: str | os.PathLike,
    wav: np.ndarray,
    sample_rate: int,
    *,
    overwrite: bool = False,
    subtype: str | None = None,
) -> Path:
    """Write ``wav`` (``(T,)`` mono or ``(T, C)``, float in [-1, 1]) atomically; return the path.

    The format follows the extension (.wav, .flac, .ogg, .mp3); ``subtype`` defaults to 16-bit PCM
    for wav/flac (``"FLOAT"`` keeps 32-bit float in a wav). Parent folders are created. The file
    is written to a temporary name in the same folder and renamed into place, so a crash never
    leaves a half-written file. Samples beyond [-1, 1] are clipped, with an AudioWarning when more
    than a few of them are. :class:`AudioWriter` writes block by block.
    """
    if hasattr(wav, "detach"):  # a torch tensor: no torch import needed here
        wav = wav.detach().float().cpu().numpy()
    wav = np.asarray(wav, dtype=np.float32)
    channels = wav.shape[1] if wav.ndim == 2 else 1
    if wav.ndim not in (1, 2) or wav.shape[0] == 0:
        raise AudioError(f"{path}: nothing to write: expected samples shaped (T,) or (T, C) with "
                         f"T > 0, got {wav.shape}")
    with AudioWriter(path, sample_rate, overwrite=overwrite, subtype=subtype, channels=channels) as writer:
        writer.write(wav)
    return Path(path)


class AudioWriter:
    """Write a file block by block, atomically (a temporary name beside it, renamed on success).

        with AudioWriter("out.wav", 16000, guard="in.wav") as out:
            for block in blocks:
                out.write(block)
            out.pad_to(total_samples)       # optional: zero-pad to a length

    Same formats, subtypes and errors as :func:`save_audio`; an error or an exception inside the
    ``with`` leaves nothing (no partial file, no temporary). Without ``guard``, samples beyond
    [-1, 1] are clipped (AudioWarning when more than a few are). With ``guard`` (the input file the
    output is made from, named in the message), a waveform whose peak exceeds full scale is scaled
    down as a whole to a ``GUARD_PEAK`` peak with an AudioWarning; that needs the global peak, so the
    samples go to a float temporary first and are converted in a second pass (memory stays one
    block). An output that is the ``guard`` input itself is refused (OutputError), even with
    ``overwrite``: it would destroy the input.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, *, overwrite: bool = False,
                 subtype: str | None = None, channels: int = 1, guard: str | None = None) -> None:
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in _WRITE_FORMATS:
            raise AudioError(f"{self.path}: cannot write '{ext or '(no extension)'}' files; use one of "
                             f"{' '.join(_WRITE_FORMATS)}")
        self.format, default_subtype, allowed = _WRITE_FORMATS[ext]
        self.subtype = subtype or default_subtype
        if self.subtype not in allowed:
            raise AudioError(f"{self.path}: subtype {self.subtype!r} is not available for {ext}; use one of "
                             f"{', '.join(allowed)}")
        self.sample_rate = positive_int(sample_rate, "sample_rate")
        if guard is not None:
            check_not_input(self.path, guard)
        self.overwrite, self.channels, self.guard = overwrite, channels, guard
        self.samples, self.peak, self.n_clipped = 0, 0.0, 0
        self._stack = contextlib.ExitStack()
        self._file: sf.SoundFile | None = None
        self._final: Path | None = None
        self._raw: Path | None = None

    def __enter__(self) -> AudioWriter:
        stack = contextlib.ExitStack()
        try:
            with held():  # a SIGTERM meanwhile is raised once every temporary is in the stack
                self._final = stack.enter_context(atomic_output(self.path, overwrite=self.overwrite))
                if self.guard is not None:
                    self._raw = stack.enter_context(temporary_beside(self.path, ".tmp.w64"))
                    self._file = stack.enter_context(self._open(self._raw, _RAW_FORMAT, _RAW_SUBTYPE))
                else:
                    self._file = stack.enter_context(self._open(self._final, self.format, self.subtype))
        except BaseException:
            stack.__exit__(*sys.exc_info())
            raise
        self._stack = stack
        return self

    def write(self, wav: np.ndarray) -> None:
        """Append ``(n,)`` (or ``(n, C)``) float samples; AudioError for NaN/Inf."""
        wav = np.asarray(wav, dtype=np.float32)
        if wav.shape[0] == 0:
            return
        if not np.isfinite(wav).all():
            raise AudioError(f"{self.path}: refusing to write NaN/Inf samples; the model output is broken "
                             f"(check the checkpoint and the input)")
        magnitude = np.abs(wav)
        self.peak = max(self.peak, float(magnitude.max()))
        self.n_clipped += int((magnitude > 1.0).sum())
        self._write_file(wav if self.guard is not None else np.clip(wav, -1.0, 1.0))
        self.samples += wav.shape[0]

    def pad_to(self, samples: int) -> None:
        """Append zeros up to ``samples`` in total (nothing when already that long)."""
        while self.samples < samples:
            self.write(np.zeros((min(samples - self.samples, 1 << 16),) + ((self.channels,) if self.channels > 1
                                                                          else ()), dtype=np.float32))

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool | None:
        if exc_type is None:
            try:
                self._finish()
            except BaseException:
                self._stack.__exit__(*sys.exc_info())
                raise
        return self._stack.__exit__(exc_type, exc, tb)

    def _finish(self) -> None:
        if self.samples == 0:
            raise AudioError(f"{self.path}: nothing to write: expected samples shaped (T,) or (T, C) with "
                             f"T > 0, got {(0,) if self.channels == 1 else (0, self.channels)}")
        assert self._file is not None and self._final is not None
        self._file.close()
        if self.guard is None:
            if self.n_clipped > MAX_QUIET_CLIPPED_SAMPLES:
                warnings.warn(f"{self.path}: {self.n_clipped} samples beyond [-1, 1] were clipped; lower the "
                              f"gain to avoid distortion", AudioWarning, stacklevel=3)
            return
        gain = guard_gain(self.peak, self.guard)
        assert self._raw is not None
        with self._open(self._final, self.format, self.subtype) as out, sf.SoundFile(str(self._raw)) as raw:
            self._file = out
            for block in raw.blocks(blocksize=int(DEFAULT_BLOCK_SECONDS * self.sample_rate), dtype="float32"):
                self._write_file(np.clip(block * np.float32(gain), -1.0, 1.0) if gain != 1.0 else block)

    def _open(self, path: Path, fmt: str, subtype: str) -> sf.SoundFile:
        try:
            return sf.SoundFile(str(path), "w", self.sample_rate, self.channels, subtype=subtype, format=fmt)
        except (OSError, sf.LibsndfileError) as err:
            raise _write_error(self.path, err) from None

    def _write_file(self, wav: np.ndarray) -> None:
        assert self._file is not None
        try:
            self._file.write(wav)
        except (OSError, sf.LibsndfileError) as err:
            raise _write_error(self.path, err) from None


def guard_gain(peak: float, where: str) -> float:
    """The clip guard's gain for a model output peaking at ``peak``: 1.0 within full scale, else
    ``GUARD_PEAK / peak`` with an AudioWarning naming ``where`` (the input the output came from)."""
    if peak <= 1.0:
        return 1.0
    gain = GUARD_PEAK / peak
    warnings.warn(f"{where}: vocoder output peaks at {peak:.2f} (beyond full scale); scaled down by "
                  f"{20 * np.log10(gain):.1f} dB to avoid clipping", AudioWarning, stacklevel=3)
    return gain


def _write_error(path: Path, err: BaseException) -> AudioError:
    reason = getattr(err, "strerror", None) or getattr(err, "error_string", None) or str(err)
    return AudioError(f"{path}: cannot write ({reason}); check free space and permissions")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path`` (atomic).

    Refuses an existing ``path`` unless ``overwrite`` (AudioError naming ``--overwrite``); creates
    parent folders; removes the temporary file if the body raises (via
    :func:`voicegen.fileutil.atomic_path`, which keeps the extension for format-sniffing writers).
    """
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a folder; give a file name to write")
    if path.exists() and not overwrite:
        raise AudioError(f"{path}: already exists; pass --overwrite (overwrite=True) to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AudioError(f"{path}: cannot create its folder ({err.strerror}); check the path and "
                         f"permissions") from None
    with atomic_path(path) as tmp:
        yield tmp
