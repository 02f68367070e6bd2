"""Read audio files: mono float32 in [-1, 1], one clear error line per bad file.

Every failure a user can cause with a file (missing, a folder, empty, not audio, corrupt,
zero-length, NaN/Inf, too short) is an :class:`~voicegen.errors.AudioError` whose message names
the file and says what to do; library tracebacks never reach the user. Suspicious-but-usable
input (all silence, clipping) gives an :class:`AudioWarning`.

Decoding is done by libsndfile (through ``soundfile``): WAV, FLAC, OGG/Vorbis, Opus, AIFF, AU and,
with libsndfile >= 1.1, MP3. Resampling uses soxr at its "very high quality" setting.
Writing (atomic saves, the clip guard) lives in :mod:`voicegen.audio.writer`.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from voicegen.audio.headers import check_soundfile
from voicegen.errors import AudioError
from voicegen.pathcheck import not_regular_message, special_file_kind

# Extensions we hand to the decoder; anything else is refused before opening the file.
AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au",
)
# A 16-bit PCM file saturates at 32767/32768 (positive) and -1.0 (negative).
PCM16_FULL_SCALE = 32767.0 / 32768.0
# Up to this many samples at/over full scale pass as isolated peaks; more count as clipping.
MAX_QUIET_CLIPPED_SAMPLES = 3
# A peak at or below one 16-bit step is digital silence.
SILENCE_PEAK = 1.0 / 32768.0
RESAMPLE_QUALITY = "VHQ"  # soxr's best setting; costs ~2 ms per second of 16 kHz audio
# AudioReader (and AudioWriter): seconds of audio per block (10 s of 16 kHz float32 = 0.64 MB).
DEFAULT_BLOCK_SECONDS = 10.0
# ...and at most this many samples (all channels) per block read, whatever the rate and channels.
MAX_BLOCK_SAMPLES = 1 << 22
# Magic numbers of files that are often renamed to .wav by mistake.
_NOT_AUDIO_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
)
_SNIFF_BYTES = 512


class AudioWarning(UserWarning):
    """The file is usable but suspicious (all silence, clipped)."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, as read from its header and samples.

    ``peak`` is the largest absolute sample over all channels (1.0 = full scale); ``format`` and
    ``subtype`` are libsndfile's names (e.g. ``"WAV"``, ``"PCM_16"``).
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    duration_seconds: float
    peak: float
    format: str
    subtype: str


def load_audio(
    path: str | os.PathLike, sample_rate: int | None = None, *, min_samples: int = 0
) -> np.ndarray:
    """Load a file as mono float32 samples in [-1, 1], shape ``(T,)``.

    Channels are averaged. When ``sample_rate`` is given and differs from the file's rate the
    signal is resampled (soxr VHQ); ``None`` keeps the file's rate. ``min_samples`` (counted at the
    returned rate, usually one analysis frame ``n_fft``) rejects clips too short to analyse.

    Raises AudioError for a missing/folder/special (FIFO, device)/empty/non-audio/corrupt/zero-length/
    NaN/too-short file and for an implausible header (see :mod:`voicegen.audio.headers`); warns
    (AudioWarning) for all-silence, for clipping in the source and for a header that declares more
    audio than the file holds (truncated). The whole file in memory:
    :class:`AudioReader` reads the same samples block by block.
    """
    blocks = list(AudioReader(path, sample_rate, min_samples=min_samples))
    return np.ascontiguousarray(np.concatenate(blocks)) if len(blocks) > 1 else blocks[0]


class AudioReader:
    """A file as consecutive mono float32 blocks in [-1, 1] at ``sample_rate`` (bounded memory).

    ``for block in AudioReader("long.flac", 16000): ...`` yields ``(n,)`` arrays of up to about
    ``block_seconds`` each; their concatenation is exactly what :func:`load_audio` returns (soxr's
    streaming resampler gives the same samples as a whole-file resample). The checks are the same
    as load_audio's: the header and format before the first block, NaN/Inf per block, empty,
    too-short, silence and clipping at the end (so a generator consumer sees the error before it
    finishes). ``samples`` counts the samples yielded so far; ``rate`` is the output rate,
    ``file_rate`` the file's (both known after construction).
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int | None = None, *, min_samples: int = 0,
                 block_seconds: float = DEFAULT_BLOCK_SECONDS) -> None:
        self.path = Path(path)
        _check_openable(self.path)
        with _decode_errors(self.path), sf.SoundFile(str(self.path)) as f:
            self.file_rate = int(f.samplerate)
            channels = _check_header(self.path, f)
        self.rate = self.file_rate if sample_rate is None else positive_int(sample_rate, "sample_rate")
        self.min_samples = min_samples
        self.block_frames = _block_frames(block_seconds * self.file_rate, channels)
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        path, stats = self.path, _SampleStats()
        resampler = (soxr.ResampleStream(self.file_rate, self.rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)
                     if self.rate != self.file_rate else None)
        self.samples = 0
        with _decode_errors(path), sf.SoundFile(str(path)) as f:
            for data in f.blocks(blocksize=self.block_frames, dtype="float32", always_2d=True):
                if data.shape[0] == 0:
                    continue
                stats.add(path, data)
                wav = data.mean(axis=1, dtype=np.float64).astype(np.float32) if data.shape[1] > 1 else data[:, 0]
                if resampler is not None:
                    wav = resampler.resample_chunk(wav)
                if wav.size:
                    yield self._emit(wav)
            if stats.frames == 0:
                raise AudioError(f"{path}: contains no audio (0 frames); re-export or remove it")
            if resampler is not None:
                tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
                if tail.size:
                    yield self._emit(tail)
        stats.warn(path)
        if self.samples < self.min_samples:
            rate, need = self.rate, self.min_samples
            raise AudioError(
                f"{path}: too short ({self.samples} samples = {1000 * self.samples / rate:.0f} ms at "
                f"{rate} Hz); need at least {need} samples ({1000 * need / rate:.0f} ms); use a longer clip"
            )

    def _emit(self, wav: np.ndarray) -> np.ndarray:
        # Out-of-range float sources, and soxr's tiny overshoot near full scale, go back into range.
        wav = np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0)
        self.samples += wav.shape[0]
        return wav


def check_audio_file(path: str | os.PathLike) -> None:
    """The checks :func:`load_audio` makes before decoding (file type, extension, content sniffing,
    header plausibility), without decoding: a command calls this to refuse its input before it
    loads a model. AudioError (one line) for a file load_audio would refuse at once."""
    path = Path(path)
    _check_openable(path)
    with _decode_errors(path), sf.SoundFile(str(path)) as f:
        _check_header(path, f, warn=False)


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Describe a file (rate, channels, frames, duration, peak, format); same errors as load_audio."""
    path = Path(path)
    _check_openable(path)
    stats = _SampleStats()
    with _decode_errors(path), sf.SoundFile(str(path)) as f:
        rate, channels, fmt, subtype = int(f.samplerate), _check_header(path, f), f.format, f.subtype
        for data in f.blocks(blocksize=_block_frames(DEFAULT_BLOCK_SECONDS * rate, channels), dtype="float32",
                             always_2d=True):
            stats.add(path, data, check=False)
    if stats.frames == 0:
        raise AudioError(f"{path}: contains no audio (0 frames); re-export or remove it")
    return AudioInfo(path=path, sample_rate=rate, channels=channels, frames=stats.frames,
                     duration_seconds=stats.frames / rate, peak=stats.peak, format=fmt, subtype=subtype)


def is_audio_file(path: str | os.PathLike) -> bool:
    """True when ``path`` has one of :data:`AUDIO_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def positive_int(value: object, name: str) -> int:
    """``value`` as an int; ValueError naming ``name`` unless it is a positive integer (not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_openable(path: Path) -> None:
    """One AudioError for a path that is not an audio file we can open (before decoding)."""
    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path")
    kind = special_file_kind(path)
    if kind is not None:  # opening a FIFO blocks; a device never ends
        raise AudioError(not_regular_message(path, kind))
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file; pass a file (the batch "
                         f"command takes folders)")
    if path.suffix.lower() == ".mp3" and "MP3" not in sf.available_formats():
        raise AudioError(f"{path}: this libsndfile ({sf.__libsndfile_version__}) cannot read MP3; "
                         f"upgrade soundfile (>= 0.12) or convert the file to WAV/FLAC")
    if not is_audio_file(path):
        raise AudioError(f"{path}: unsupported audio format '{path.suffix or '(no extension)'}'; "
                         f"use one of {' '.join(AUDIO_EXTENSIONS)}")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as err:
        raise AudioError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None
    if size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes); re-export or remove it")
    kind = _sniff_not_audio(head)
    if kind is not None:
        raise AudioError(f"{path}: is {kind}, not audio; check the file (wrong extension?)")


def _check_header(path: Path, f: sf.SoundFile, *, warn: bool = True) -> int:
    """Refuse an implausible header; warn when it declares more audio than the file holds
    (:func:`voicegen.audio.headers.check_soundfile`). Returns the channel count."""
    note = check_soundfile(path, f)
    if note is not None and warn:
        warnings.warn(note, AudioWarning, stacklevel=4)
    return int(f.channels)


def _block_frames(frames: float, channels: int) -> int:
    """Frames per block read: ``frames`` within MAX_BLOCK_SAMPLES samples over all ``channels``."""
    return max(1, min(int(frames), MAX_BLOCK_SAMPLES // max(1, channels)))


@contextlib.contextmanager
def _decode_errors(path: Path) -> Iterator[None]:
    """Turn the decoder's exceptions inside the block into one AudioError naming ``path``."""
    try:
        yield
    except sf.LibsndfileError as err:
        reason = err.error_string.strip().rstrip(".") or "unknown decoder error"
        raise AudioError(f"{path}: cannot decode audio ({reason}); the file is corrupt, truncated "
                         f"or not really {path.suffix}; re-export it") from None
    except (RuntimeError, ValueError, TypeError) as err:
        raise AudioError(f"{path}: cannot decode audio ({type(err).__name__}); the file is corrupt "
                         f"or truncated; re-export it") from None


class _SampleStats:
    """Running checks over a file's ``(frames, channels)`` blocks: NaN/Inf refused at once; frames,
    peak and clipped samples counted for the end-of-file warnings (all silence, clipping)."""

    def __init__(self) -> None:
        self.frames, self.peak, self.n_clipped = 0, 0.0, 0

    def add(self, path: Path, data: np.ndarray, *, check: bool = True) -> None:
        if check and not np.isfinite(data).all():
            raise AudioError(f"{path}: contains NaN or Inf samples; re-export it (e.g. as 16-bit PCM)")
        magnitude = np.abs(data)
        self.frames += data.shape[0]
        self.peak = max(self.peak, float(magnitude.max()))
        self.n_clipped += int((magnitude >= PCM16_FULL_SCALE).sum())

    def warn(self, path: Path) -> None:
        if self.peak <= SILENCE_PEAK:
            warnings.warn(f"{path}: is all silence (peak {self.peak:.1e}); it adds nothing to training or "
                          f"conversion", AudioWarning, stacklevel=3)
        elif self.peak > 1.0 or self.n_clipped > MAX_QUIET_CLIPPED_SAMPLES:
            warnings.warn(f"{path}: is clipped ({self.n_clipped} samples at or beyond full scale, peak "
                          f"{self.peak:.3f}); expect distortion", AudioWarning, stacklevel=3)


def _sniff_not_audio(head: bytes) -> str | None:
    """Name a common non-audio file type from its first bytes, or None."""
    for magic, kind in _NOT_AUDIO_SIGNATURES:
        if head.startswith(magic):
            return kind
    # Audio containers always hold binary bytes early on; pure printable text is not audio.
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:  # not just a character cut at the end of the sniffed bytes
            return None
        text = head[: err.start].decode("utf-8")
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "a text file"
    return None
