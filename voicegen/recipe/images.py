"""Stage 1 of the image recipes: MNIST's IDX files and the UCI optical digits as ``.npz`` arrays.

The image recipes (``recipes/mnist``, ``recipes/digits_cyclegan``) read ``.npz`` files holding
``x`` uint8 ``(N, H, W)``, ``y`` uint8 class labels ``(N,)`` and ``index`` int64 ``(N,)`` (each
image's position in the file it came from), through ``voicegen.image`` (``ImageSourceConfig``).
:func:`prepare_digits` builds one from a corpus as its distributor ships it:

* **MNIST** (``kind="mnist"``): ``{split}-images-idx3-ubyte.gz`` and ``{split}-labels-idx1-ubyte.gz``
  (split ``t10k`` or ``train``; unzipped copies are read too). The IDX format: a big-endian header
  of two zero bytes, the element type (``0x08``: unsigned byte) and the number of dimensions, then
  one big-endian uint32 per dimension, then the elements in row-major order; images carry the
  magic number ``0x00000803`` (3 dimensions: N x 28 x 28), labels ``0x00000801`` (N). See
  :func:`read_idx` / :func:`write_idx`.
* **UCI optical digits** (``kind="optdigits"``): ``optdigits.tes`` (split ``tes``, 1797 digits by
  13 writers: the copy scikit-learn ships as its ``digits``) or ``optdigits.tra`` (``tra``, 3823
  digits by 30 others): one digit per line, 64 comma-separated counts 0-16 (an 8 x 8 grid,
  row-major) and the class 0-9. See :func:`read_optdigits`.

The source may also be an ``.npz`` already in this layout (``../shared/data``); it is checked and
written again in the same layout. Numpy and the standard library only (no torch).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicegen.errors import ConfigError
from voicegen.fileutil import atomic_path
from voicegen.image.io import ImageError

KINDS = ("mnist", "optdigits")
SPLITS = {"mnist": ("t10k", "train"), "optdigits": ("tes", "tra")}
"""Each kind's splits; the first is the default (the one the recipes use)."""
IDX_UBYTE = 0x08
IDX_MAGIC_LABELS = 0x00000801
IDX_MAGIC_IMAGES = 0x00000803
IDX_MAGIC_BYTES = 4
IDX_DIM_BYTES = 4
GZIP_MAGIC = b"\x1f\x8b"
MNIST_SIDE = 28
OPTDIGITS_SIDE = 8
OPTDIGITS_MAX = 16
OPTDIGITS_FIELDS = OPTDIGITS_SIDE * OPTDIGITS_SIDE + 1
NUM_CLASSES = 10
NPZ_SUFFIX = ".npz"


@dataclass(frozen=True)
class Digits:
    """Digit images ``x`` uint8 ``(N, side, side)``, labels ``y`` uint8 ``(N,)`` in 0-9, and
    ``index`` int64 ``(N,)``: each image's position in its source file."""

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def head(self, count: int) -> Digits:
        """The first ``count`` digits."""
        return Digits(self.x[:count], self.y[:count], self.index[:count])


@dataclass(frozen=True)
class PreparedDigits:
    """What :func:`prepare_digits` wrote: the ``.npz``, how many digits, their side in pixels, and the file read."""

    out: Path
    count: int
    side: int
    source: Path


def read_idx(path: str | os.PathLike, *, magic: int | None = None) -> np.ndarray:
    """The uint8 array of an IDX file (gzip-compressed or not), shaped as its header says.

    ``magic``: the expected magic number (:data:`IDX_MAGIC_IMAGES`, :data:`IDX_MAGIC_LABELS`);
    None accepts any unsigned-byte IDX file. ImageError (one line naming the file) for a missing,
    damaged or truncated file, another magic number, or a size that disagrees with the header.
    """
    path = Path(path)
    raw = _read_maybe_gzip(path)
    if len(raw) < IDX_MAGIC_BYTES:
        raise ImageError(f"{path}: not an IDX file ({len(raw)} bytes); download it again")
    found = int.from_bytes(raw[:IDX_MAGIC_BYTES], "big")
    zeros, element_type, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zeros != 0 or element_type != IDX_UBYTE or ndim == 0 or (magic is not None and found != magic):
        expected = f"0x{magic:08x}" if magic is not None else "0x000008NN (unsigned bytes, NN dimensions)"
        raise ImageError(f"{path}: bad IDX magic number 0x{found:08x}, expected {expected}; the file is "
                         "damaged or not the one its name says: download it again")
    header_end = IDX_MAGIC_BYTES + IDX_DIM_BYTES * ndim
    if len(raw) < header_end:
        raise ImageError(f"{path}: IDX header cut short ({len(raw)} bytes for {ndim} dimensions); download it again")
    dims = struct.unpack_from(f">{ndim}I", raw, IDX_MAGIC_BYTES)
    expected_bytes = math.prod(dims)
    if len(raw) - header_end != expected_bytes:
        raise ImageError(f"{path}: the IDX header says {' x '.join(map(str, dims))} = {expected_bytes} bytes of "
                         f"data but the file holds {len(raw) - header_end}; download it again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(dims).copy()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when ``path`` ends in ``.gz``), atomically.

    The inverse of :func:`read_idx`: images ``(N, H, W)`` get magic ``0x00000803``, labels ``(N,)``
    ``0x00000801``. ValueError for another dtype or no dimensions.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim == 0:
        raise ValueError(f"write_idx needs a uint8 array with >= 1 dimension, got {array.dtype} {array.shape}")
    header = bytes([0, 0, IDX_UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def read_mnist(folder: str | os.PathLike, split: str = "t10k") -> Digits:
    """MNIST's ``split`` (``t10k`` or ``train``) from the IDX files in ``folder``; ImageError when they
    are missing or disagree (28 x 28 images, as many labels as images, classes 0-9)."""
    folder = Path(folder)
    images_path = _find_idx(folder, f"{split}-images-idx3-ubyte")
    labels_path = _find_idx(folder, f"{split}-labels-idx1-ubyte")
    x = read_idx(images_path, magic=IDX_MAGIC_IMAGES)
    y = read_idx(labels_path, magic=IDX_MAGIC_LABELS)
    if x.shape[1:] != (MNIST_SIDE, MNIST_SIDE):
        raise ImageError(f"{images_path}: MNIST images are {MNIST_SIDE} x {MNIST_SIDE}, this file holds "
                         f"{x.shape[1]} x {x.shape[2]}; check the file")
    if y.shape[0] != x.shape[0]:
        raise ImageError(f"{labels_path}: {y.shape[0]} labels for the {x.shape[0]} images of {images_path.name}; "
                         "the two files are from different splits or damaged: download them again")
    _check_labels(y, labels_path)
    return Digits(x, y, np.arange(len(x), dtype=np.int64))


def read_optdigits(path: str | os.PathLike) -> Digits:
    """The digits of ``optdigits.tes`` / ``optdigits.tra``: ``x`` ``(N, 8, 8)`` counts 0-16, ``y`` 0-9.

    ImageError naming the file and line for a line that is not 65 comma-separated integers
    (64 counts in 0-16 and a class in 0-9).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ImageError(f"{path}: file not found; run stage 0 to download the UCI optical digits, "
                         "or check --data-dir") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ImageError(f"{path}: cannot read as text ({err}); download it again") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            values = [int(field) for field in fields]
        except ValueError:
            values = []
        if len(values) != OPTDIGITS_FIELDS:
            raise ImageError(f"{path}: line {number} is not {OPTDIGITS_FIELDS} comma-separated integers "
                             f"(64 counts 0-{OPTDIGITS_MAX} and the class 0-9): {line[:40]!r}")
        if not all(0 <= v <= OPTDIGITS_MAX for v in values[:-1]) or not 0 <= values[-1] < NUM_CLASSES:
            raise ImageError(f"{path}: line {number} has a count outside 0-{OPTDIGITS_MAX} or a class "
                             f"outside 0-9: {line[:40]!r}")
        rows.append(values)
    if not rows:
        raise ImageError(f"{path}: holds no digits; download it again")
    table = np.asarray(rows, dtype=np.uint8)
    x = table[:, :-1].reshape(-1, OPTDIGITS_SIDE, OPTDIGITS_SIDE)
    return Digits(x, table[:, -1].copy(), np.arange(len(table), dtype=np.int64))


def read_digits_npz(path: str | os.PathLike) -> Digits:
    """Digits from an ``.npz`` in the recipes' layout (``x`` uint8 ``(N, H, W)``, ``y``, optional
    ``index``: 0..N-1 when absent); ImageError when it does not fit. Never unpickles."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise ImageError(f"{path}: .npz file not found; check --data-dir") from None
    except (OSError, ValueError) as err:
        raise ImageError(f"{path}: cannot read as .npz ({' '.join(str(err).split())})") from None
    x, y = arrays.get("x"), arrays.get("y")
    if x is None or y is None or x.dtype != np.uint8 or x.ndim != 3 or y.shape != (x.shape[0],):
        found = ", ".join(f"{k} {v.dtype} {v.shape}" for k, v in arrays.items()) or "nothing"
        raise ImageError(f"{path}: expected x uint8 (N, H, W) and y (N,), found {found}")
    index = arrays.get("index", np.arange(len(x)))
    if index.shape != y.shape:
        raise ImageError(f"{path}: index has shape {index.shape}, expected {y.shape}")
    y = y.astype(np.uint8)
    _check_labels(y, path)
    return Digits(x, y, index.astype(np.int64))


def prepare_digits(kind: str, source: str | os.PathLike, out: str | os.PathLike, *, split: str | None = None,
                   first: int | None = None, overwrite: bool = False) -> PreparedDigits:
    """Write ``kind``'s digits from ``source`` into the ``.npz`` ``out`` (``x``, ``y``, ``index``).

    source: a folder holding the distribution's files (MNIST's IDX files of ``split``, or
        ``optdigits.<split>``), the ``optdigits.tes``/``.tra`` file itself, or an ``.npz`` already in
        the layout (then ``split`` does not apply).
    split: see :data:`SPLITS` [default: ``t10k`` for mnist, ``tes`` for optdigits].
    first: keep the first ``first`` digits (the recipes' fixed splits are positions in this order);
        more than the source holds is an error, not a shorter file.
    ConfigError for bad arguments or an existing ``out`` without ``overwrite``; ImageError for bad data.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    split = split if split is not None else SPLITS[kind][0]
    if split not in SPLITS[kind]:
        raise ConfigError(f"--split {split!r} is not a split of {kind}; use one of {', '.join(SPLITS[kind])}")
    if first is not None and first < 1:
        raise ConfigError(f"--first must be >= 1, got {first}")
    out, source = Path(out), Path(source)
    if out.suffix != NPZ_SUFFIX:
        raise ConfigError(f"{out}: the output must be an {NPZ_SUFFIX} file")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists; pass --overwrite to replace it")
    digits, read_from = _read_source(kind, source, split)
    side = MNIST_SIDE if kind == "mnist" else OPTDIGITS_SIDE
    if digits.x.shape[1:] != (side, side):
        raise ImageError(f"{read_from}: {kind} digits are {side} x {side} pixels, this holds "
                         f"{digits.x.shape[1]} x {digits.x.shape[2]}; is it the other data set?")
    if kind == "optdigits" and digits.x.max(initial=0) > OPTDIGITS_MAX:
        raise ImageError(f"{read_from}: UCI optical digits hold counts 0-{OPTDIGITS_MAX}, found "
                         f"{int(digits.x.max())}; is it the other data set?")
    if first is not None:
        if first > len(digits):
            raise ImageError(f"{read_from}: holds {len(digits)} digits, fewer than --first {first}")
        digits = digits.head(first)
    with atomic_path(out) as tmp:
        np.savez_compressed(tmp, x=digits.x, y=digits.y, index=digits.index)
    return PreparedDigits(out, len(digits), side, read_from)


def _read_source(kind: str, source: Path, split: str) -> tuple[Digits, Path]:
    if source.is_file() and source.suffix == NPZ_SUFFIX:
        return read_digits_npz(source), source
    if kind == "optdigits" and source.is_file():
        return read_optdigits(source), source
    if not source.is_dir():
        raise ImageError(f"{source}: not found; run stage 0 to download the corpus, or check --data-dir")
    if kind == "mnist":
        return read_mnist(source, split), source
    return read_optdigits(source / f"optdigits.{split}"), source / f"optdigits.{split}"


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise ImageError(f"{folder}: no {stem}.gz (or {stem}); run stage 0 to download MNIST, or check --data-dir")


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:len(GZIP_MAGIC)] == GZIP_MAGIC else raw
    except FileNotFoundError:
        raise ImageError(f"{path}: file not found; run stage 0 to download it, or check --data-dir") from None
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise ImageError(f"{path}: cannot read ({err}); download it again") from None


def _check_labels(y: np.ndarray, path: Path) -> None:
    if len(y) and int(y.max()) >= NUM_CLASSES:
        raise ImageError(f"{path}: labels must be digits 0-9, found {int(y.max())}; check the file")
