"""Reading ``.npy`` files whose header is checked first: a small file cannot ask for a huge array.

``np.load`` allocates what the header declares before reading the data, so 4 KB declaring shape
``(80, 10**11)`` asks for 29 TiB. :func:`load_npy` reads the header alone, refuses object arrays
(never unpickles), a declared size beyond :data:`MAX_NPY_BYTES` and one the file does not hold,
and only then loads. Errors are one-line :class:`~voicegen.errors.AudioError` messages naming the
file (a ``.npy`` here is a log-mel or latents: audio-side data).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from voicegen.errors import AudioError
from voicegen.pathcheck import not_regular_message, special_file_kind

MAX_NPY_BYTES = 1 << 30
"""Largest array a ``.npy`` input may hold (1 GiB: a float32 80-band log-mel of ~10 hours at a 10 ms
hop); split longer inputs."""
MAX_HEADER_BYTES = 10_000
"""Largest ``.npy`` header read (numpy's own default limit)."""


def check_npy_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path; AudioError when it is a FIFO, a device or a socket (opening may block)."""
    path = Path(path)
    kind = special_file_kind(path)
    if kind is not None:
        raise AudioError(not_regular_message(path, kind))
    return path


def npy_header(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data bytes held)`` from the header of the ``.npy`` file ``path``, after the
    checks of the module doc; AudioError otherwise."""
    path = check_npy_path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(handle, max_header_size=MAX_HEADER_BYTES)
            held = size - handle.tell()
    except (OSError, ValueError, SyntaxError, TypeError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise AudioError(f"{path}: not a readable .npy file ({reason}); write it with numpy.save") from None
    if dtype.hasobject:
        raise AudioError(f"{path}: holds Python objects ({dtype}); voicegen reads numeric arrays only (no pickle)")
    declared = math.prod(shape) * dtype.itemsize
    if declared > MAX_NPY_BYTES:
        raise AudioError(f"{path}: declares shape {shape} ({declared / 2**30:.1f} GiB), beyond the "
                         f"{MAX_NPY_BYTES / 2**30:.0f} GiB a .npy input may hold (voicegen.npyio.MAX_NPY_BYTES); "
                         "split the input")
    if declared > held:
        raise AudioError(f"{path}: header declares shape {shape} ({declared} bytes) but the file holds {held} "
                         "bytes of data; the file is truncated or its header is wrong")
    return tuple(shape), dtype, held


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """The array in the ``.npy`` file ``path`` (never unpickles), after :func:`npy_header`'s checks."""
    npy_header(path)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise AudioError(f"{path}: cannot read the .npy file ({reason}); write it with numpy.save") from None
