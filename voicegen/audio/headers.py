"""What an audio header claims, checked against what the file can hold, before any decoding.

libsndfile trusts a header's sample rate and clamps a data size that runs past the end of the file
without saying so; a 64 KB WAV that declares 1 Hz then becomes nine hours of audio, and a file cut
short after its header converts silently. :func:`check_header` refuses rates and channel counts
outside stated ranges and declared lengths no file of that size can decode to, and
:func:`declared_data_bytes` reads the data size a WAV/AIFF header declares (libsndfile does not
report it) so that the reader can warn about a truncated file.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from voicegen.errors import AudioError

MIN_SAMPLE_RATE = 4_000
"""Lowest file sample rate read (Hz): below it there is no speech band left to convert."""
MAX_SAMPLE_RATE = 768_000
"""Highest file sample rate read (Hz): the fastest rate recording hardware offers."""
MAX_CHANNELS = 64
"""Most channels read (they are mixed to mono); downmix larger recordings first."""
MAX_EXPANSION = 2_000
"""Most bytes of 16-bit samples a file may decode to per byte it holds. Uncompressed audio decodes
to about 1-2 bytes per byte, speech codecs to at most ~130 and FLAC digital silence to ~700; a header
claiming more is corrupt, or a decompression bomb."""
# Bytes per sample of the uncompressed libsndfile subtypes (decoded size = frames x channels x this).
SAMPLE_BYTES: dict[str, int] = {
    "PCM_S8": 1, "PCM_U8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
    "FLOAT": 4, "DOUBLE": 8,
}
# Data sizes that streaming writers put in a header they never finish (size unknown, not a lie).
_PLACEHOLDER_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 7, 0x7FFFFFFF - 7})
_MAX_CHUNKS = 64  # chunks walked to find the data chunk


def check_soundfile(path: Path, f: Any) -> str | None:
    """:func:`check_header` on an open ``soundfile.SoundFile`` ``f`` of ``path``; then the warning
    (one line) for a WAV/AIFF whose header declares more audio than the file holds, or None."""
    rate, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
    check_header(path, rate, channels, frames if 0 <= frames < 1 << 62 else 0, path.stat().st_size)
    declared = declared_data_bytes(path)
    width = SAMPLE_BYTES.get(f.subtype)
    if declared is None or declared[0] - declared[1] < channels * (width or 1):
        return None
    said, held = declared
    if width:
        said, held = (f"{size / (channels * width * rate):.3f} s" for size in (said, held))
    else:
        said, held = f"{said} bytes", f"{held} bytes"
    return f"{path}: header declares {said} of audio but the file holds {held} (truncated?); only the audio " \
           "present is used"


def check_header(path: Path, sample_rate: int, channels: int, frames: int, size: int) -> None:
    """AudioError (one line naming ``path``) for an implausible header: a rate outside
    [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE], channels outside [1, MAX_CHANNELS], or more declared audio
    than ``size`` bytes can decode to (MAX_EXPANSION)."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{path}: header declares a sample rate of {sample_rate} Hz, outside the {MIN_SAMPLE_RATE}"
                         f"-{MAX_SAMPLE_RATE} Hz voicegen reads; the header is corrupt, or resample the file")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{path}: header declares {channels} channels, outside the 1-{MAX_CHANNELS} voicegen "
                         "reads; the header is corrupt, or downmix the file first")
    if frames > 0 and size > 0 and frames * channels * 2 > MAX_EXPANSION * size:
        raise AudioError(f"{path}: header declares {frames / sample_rate:.1f} s of audio in only {size} bytes "
                         f"(more than {MAX_EXPANSION}x expansion); the header is corrupt or the file is a "
                         "decompression bomb; re-encode it")


def declared_data_bytes(path: Path) -> tuple[int, int] | None:
    """``(declared, held)``: the audio data size a WAV (RIFF/RIFX) or AIFF header declares and the
    bytes the file holds after that header; None for other formats, placeholder sizes, or a header
    this reader does not follow (libsndfile then decides)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            size = path.stat().st_size
            if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
                order, data_id, pad = ("<" if head[:4] == b"RIFF" else ">"), b"data", 2
            elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                order, data_id, pad = ">", b"SSND", 2
            else:
                return None
            offset = 12
            for _ in range(_MAX_CHUNKS):
                handle.seek(offset)
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                chunk_id, chunk_size = chunk[:4], struct.unpack(f"{order}I", chunk[4:])[0]
                if chunk_id == data_id:
                    if chunk_size in _PLACEHOLDER_SIZES:
                        return None
                    return chunk_size, size - offset - 8
                offset += 8 + chunk_size + (chunk_size % pad)
    except OSError:
        return None
    return None
