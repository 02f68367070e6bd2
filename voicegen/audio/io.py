"""Read and write audio files: mono float32 in [-1, 1], one clear error line per bad file.

Every failure a user can cause with a file (missing, a folder, empty, not audio, corrupt,
zero-length, NaN/Inf, too short) is an :class:`~voicegen.errors.AudioError` whose message names
the file and says what to do; library tracebacks never reach the user. Suspicious-but-usable
input (all silence, clipping) gives an :class:`AudioWarning`.

Decoding is done by libsndfile (through ``soundfile``): WAV, FLAC, OGG/Vorbis, Opus, AIFF, AU and,
with libsndfile >= 1.1, MP3. Resampling uses soxr at its "very high quality" setting.
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

from voicegen.errors import AudioError
from voicegen.fileutil import atomic_path

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
# save_audio: (default subtype, allowed subtypes) per output extension.
_WRITE_FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    ".wav": ("WAV", "PCM_16", ("PCM_16", "PCM_24", "FLOAT")),
    ".flac": ("FLAC", "PCM_16", ("PCM_16", "PCM_24")),
    ".ogg": ("OGG", "VORBIS", ("VORBIS",)),
    ".mp3": ("MP3", "MPEG_LAYER_III", ("MPEG_LAYER_III",)),
}
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

    Raises AudioError for a missing/folder/empty/non-audio/corrupt/zero-length/NaN/too-short file;
    warns (AudioWarning) for all-silence and for clipping in the source.
    """
    if sample_rate is not None:
        sample_rate = _positive_int(sample_rate, "sample_rate")
    path = Path(path)
    data, file_rate, _, _ = _read(path)
    _check_samples(path, data)
    wav = data.mean(axis=1, dtype=np.float64).astype(np.float32) if data.shape[1] > 1 else data[:, 0]
    out_rate = file_rate if sample_rate is None else sample_rate
    if out_rate != file_rate:
        wav = soxr.resample(wav, file_rate, out_rate, quality=RESAMPLE_QUALITY).astype(np.float32)
    # Out-of-range float sources, and soxr's tiny overshoot near full scale, go back into range.
    wav = np.clip(wav, -1.0, 1.0)
    if wav.shape[0] < min_samples:
        raise AudioError(
            f"{path}: too short ({wav.shape[0]} samples = {1000 * wav.shape[0] / out_rate:.0f} ms at "
            f"{out_rate} Hz); need at least {min_samples} samples "
            f"({1000 * min_samples / out_rate:.0f} ms); use a longer clip"
        )
    return np.ascontiguousarray(wav)


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Describe a file (rate, channels, frames, duration, peak, format); same errors as load_audio."""
    path = Path(path)
    data, file_rate, fmt, subtype = _read(path)
    return AudioInfo(
        path=path,
        sample_rate=file_rate,
        channels=int(data.shape[1]),
        frames=int(data.shape[0]),
        duration_seconds=data.shape[0] / file_rate,
        peak=float(np.abs(data).max()),
        format=fmt,
        subtype=subtype,
    )


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
    than a few of them are.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _WRITE_FORMATS:
        raise AudioError(f"{path}: cannot write '{ext or '(no extension)'}' files; use one of "
                         f"{' '.join(_WRITE_FORMATS)}")
    fmt, default_subtype, allowed = _WRITE_FORMATS[ext]
    subtype = subtype or default_subtype
    if subtype not in allowed:
        raise AudioError(f"{path}: subtype {subtype!r} is not available for {ext}; use one of "
                         f"{', '.join(allowed)}")
    sample_rate = _positive_int(sample_rate, "sample_rate")
    if hasattr(wav, "detach"):  # a torch tensor: no torch import needed here
        wav = wav.detach().float().cpu().numpy()
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim not in (1, 2) or wav.shape[0] == 0:
        raise AudioError(f"{path}: nothing to write: expected samples shaped (T,) or (T, C) with "
                         f"T > 0, got {wav.shape}")
    if not np.isfinite(wav).all():
        raise AudioError(f"{path}: refusing to write NaN/Inf samples; the model output is broken "
                         f"(check the checkpoint and the input)")
    n_clipped = int((np.abs(wav) > 1.0).sum())
    if n_clipped > MAX_QUIET_CLIPPED_SAMPLES:
        warnings.warn(f"{path}: {n_clipped} samples beyond [-1, 1] were clipped; lower the gain "
                      f"to avoid distortion", AudioWarning, stacklevel=2)
    wav = np.clip(wav, -1.0, 1.0)
    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            sf.write(str(tmp), wav, sample_rate, format=fmt, subtype=subtype)
    except (OSError, sf.LibsndfileError) as err:
        reason = getattr(err, "strerror", None) or getattr(err, "error_string", None) or str(err)
        raise AudioError(f"{path}: cannot write ({reason}); check free space and permissions") from None
    return path


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


def is_audio_file(path: str | os.PathLike) -> bool:
    """True when ``path`` has one of :data:`AUDIO_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _positive_int(value: object, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _read(path: Path) -> tuple[np.ndarray, int, str, str]:
    """Decode ``path`` to float32 ``(frames, channels)``, rate, format, subtype; or one AudioError."""
    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path")
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
    try:
        with sf.SoundFile(str(path)) as f:
            data = f.read(dtype="float32", always_2d=True)
            file_rate, fmt, subtype = f.samplerate, f.format, f.subtype
    except sf.LibsndfileError as err:
        reason = err.error_string.strip().rstrip(".") or "unknown decoder error"
        raise AudioError(f"{path}: cannot decode audio ({reason}); the file is corrupt, truncated "
                         f"or not really {path.suffix}; re-export it") from None
    except (RuntimeError, ValueError, TypeError) as err:
        raise AudioError(f"{path}: cannot decode audio ({type(err).__name__}); the file is corrupt "
                         f"or truncated; re-export it") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio (0 frames); re-export or remove it")
    return data, int(file_rate), fmt, subtype


def _check_samples(path: Path, data: np.ndarray) -> None:
    """Refuse NaN/Inf; warn on all-silence and on clipping in the source."""
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: contains NaN or Inf samples; re-export it (e.g. as 16-bit PCM)")
    magnitude = np.abs(data)
    peak = float(magnitude.max())
    if peak <= SILENCE_PEAK:
        warnings.warn(f"{path}: is all silence (peak {peak:.1e}); it adds nothing to training or "
                      f"conversion", AudioWarning, stacklevel=3)
        return
    n_clipped = int((magnitude >= PCM16_FULL_SCALE).sum())
    if peak > 1.0 or n_clipped > MAX_QUIET_CLIPPED_SAMPLES:
        warnings.warn(f"{path}: is clipped ({n_clipped} samples at or beyond full scale, peak "
                      f"{peak:.3f}); expect distortion", AudioWarning, stacklevel=3)


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
