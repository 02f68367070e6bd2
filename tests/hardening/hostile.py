"""Helpers of the hostile-input tests (issue 18): crafted WAV files, CLI output checks, artifact copies.

Imported by the test modules as ``hostile`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_MODELS = REPO_ROOT / "voicegen" / "assets" / "models"
CONVERTER = PACKAGE_MODELS / "vcc2016_sf1_tm1"
VOCODER = PACKAGE_MODELS / "vocoder16k"
# Byte offsets of the canonical 44-byte PCM WAV header fields.
WAV_RATE, WAV_CHANNELS, WAV_DATA_SIZE, WAV_BLOCK_ALIGN, WAV_BITS = 24, 22, 40, 32, 34


def tone(seconds: float = 0.5, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A canonical 44-byte-header 16-bit mono WAV of a tone."""
    path = Path(tempfile.mkdtemp()) / "t.wav"
    try:
        sf.write(path, tone(seconds, rate), rate, subtype="PCM_16")
        data = path.read_bytes()
    finally:
        shutil.rmtree(path.parent)
    assert data[36:40] == b"data", "expected the canonical 44-byte header"
    return data


def patched_wav(path: Path, **fields: int) -> Path:
    """Write a 0.5 s WAV whose header fields (``rate``, ``channels``, ``data_size``, ``block_align``,
    ``bits``) say what ``fields`` say; returns ``path``."""
    data = bytearray(wav_bytes())
    offsets = {"rate": (WAV_RATE, "<I"), "channels": (WAV_CHANNELS, "<H"), "data_size": (WAV_DATA_SIZE, "<I"),
               "block_align": (WAV_BLOCK_ALIGN, "<H"), "bits": (WAV_BITS, "<H")}
    for name, value in fields.items():
        offset, fmt = offsets[name]
        struct.pack_into(fmt, data, offset, value)
    path.write_bytes(bytes(data))
    return path


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, rate), rate, subtype="PCM_16")
    return path


def can_create_in(folder: Path) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def one_error_line(output: str) -> str:
    """The ``Error: ...`` line of a CLI output, after checking there is exactly one and no traceback."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output
    return errors[0]


def copy_artifact(source: Path, dest: Path) -> Path:
    """A private copy of a shipped artifact (for tampering), without its vocoder subfolder."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".*"))
    return dest
