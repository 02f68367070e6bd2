"""Image files and arrays in, images ``(C, H, W)`` float32 in [-1, 1] out, and back.

* :func:`load_image` reads PNG/JPEG/BMP (Pillow) as grey (``channels=1``) or RGB (``channels=3``).
* :func:`load_npz` reads an ``.npz`` of stacked images, e.g. MNIST ``x`` uint8 ``(N, 28, 28)`` with
  labels ``y`` ``(N,)``; ``value_max`` maps the stored range onto [-1, 1] (255 for uint8, 16 for the
  UCI 8x8 digits).
* :func:`save_image` writes one image (PNG or JPEG by extension) atomically.

Pixel convention everywhere in voicegen: ``-1`` is black, ``+1`` white (what a ``tanh`` generator
outputs); :func:`to_unit` / :func:`from_unit` convert to and from [0, 1].
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.errors import VoicegenError
from voicegen.fileutil import atomic_path
from voicegen.pathcheck import require_regular_file

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg")
CHANNEL_MODES = {1: "L", 3: "RGB"}
UINT8_MAX = 255
JPEG_QUALITY = 95
NPZ_IMAGES_KEY = "x"
NPZ_LABELS_KEY = "y"
MAX_IMAGE_PIXELS = 4096 * 4096
"""Largest image read (pixels, checked from the header before decoding): a small PNG can declare
gigapixels (a decompression bomb). Resize larger images first."""


class ImageError(VoicegenError):
    """An image file or array cannot be used (missing, unreadable, wrong shape, NaN...)."""


def to_unit(x: Any) -> Any:
    """[-1, 1] -> [0, 1] (numpy array or torch tensor)."""
    return (x + 1.0) * 0.5


def from_unit(x: Any) -> Any:
    """[0, 1] -> [-1, 1] (numpy array or torch tensor)."""
    return x * 2.0 - 1.0


def is_image_file(path: str | os.PathLike) -> bool:
    """True when ``path`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursive, hidden entries skipped), sorted by path."""
    root = Path(folder)
    if not root.is_dir():
        raise ImageError(f"{root}: not a folder of images; check the path")
    files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_file(p)
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise ImageError(f"{root}: holds no {'/'.join(IMAGE_EXTENSIONS)} files")
    return files


def _check_channels(channels: int | None) -> None:
    if channels is not None and channels not in CHANNEL_MODES:
        raise ImageError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")


def load_image(path: str | os.PathLike, channels: int | None = None, *,
               max_pixels: int = MAX_IMAGE_PIXELS, limit_hint: str = "resize it first") -> np.ndarray:
    """The image at ``path`` as float32 ``(C, H, W)`` in [-1, 1].

    ``channels`` 1 or 3 converts (RGB -> grey uses ITU-R 601 luma); ``None`` keeps grey images grey
    and makes everything else RGB (alpha is dropped). An image of more than ``max_pixels`` pixels
    (by its header, before decoding) is refused, the message ending with ``limit_hint``.
    """
    from PIL import Image, UnidentifiedImageError

    _check_channels(channels)
    path = Path(path)
    require_regular_file(path, ImageError, "image not found; check the path")
    side = math.isqrt(max_pixels)
    try:
        with warnings.catch_warnings():  # Pillow's own bomb warning: the size is checked below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            handle = Image.open(path)
        with handle:
            width, height = handle.size
            if width * height > max_pixels:
                raise ImageError(f"{path}: {width} x {height} pixels, beyond the {max_pixels} pixels (e.g. {side} x "
                                 f"{side}) voicegen reads here; {limit_hint}")
            if channels is None:
                channels = 1 if handle.mode in ("1", "L", "I", "I;16", "F") else 3
            pixels = np.asarray(handle.convert(CHANNEL_MODES[channels]), dtype=np.float32)
    except Image.DecompressionBombError:  # Pillow refuses to open beyond twice its own limit
        raise ImageError(f"{path}: more than {2 * Image.MAX_IMAGE_PIXELS} pixels, beyond the {max_pixels} pixels "
                         f"(e.g. {side} x {side}) voicegen reads here; {limit_hint}") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ImageError(f"{path}: cannot read as an image ({' '.join(str(err).split())})") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return from_unit(pixels.transpose(2, 0, 1) / UINT8_MAX).astype(np.float32)


def load_npz(path: str | os.PathLike, *, images_key: str = NPZ_IMAGES_KEY, labels_key: str | None = NPZ_LABELS_KEY,
             value_max: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(images, labels)`` of an ``.npz``: images float32 ``(N, C, H, W)`` in [-1, 1], labels int64 ``(N,)``.

    Stored images may be ``(N, H, W)`` (grey), ``(N, H, W, C)`` or ``(N, C, H, W)`` with C in {1, 3}.
    ``value_max``: the stored value of white (default 255 for integer arrays, 1.0 for floats).
    ``labels`` is None when ``labels_key`` is None or absent from the file. Never unpickles.
    """
    path = Path(path)
    require_regular_file(path, ImageError, ".npz file not found; check the path")
    try:
        with np.load(path, allow_pickle=False) as data:
            if images_key not in data:
                raise ImageError(f"{path}: has no array {images_key!r} (has: {', '.join(data.files)})")
            raw = data[images_key]
            labels = data[labels_key] if labels_key is not None and labels_key in data else None
    except (OSError, ValueError) as err:
        raise ImageError(f"{path}: cannot read as .npz ({' '.join(str(err).split())})") from None
    images = _as_nchw(raw, path)
    if value_max is None:
        value_max = UINT8_MAX if np.issubdtype(raw.dtype, np.integer) else 1.0
    if not value_max > 0:
        raise ImageError(f"{path}: value_max must be > 0, got {value_max}")
    images = from_unit(images.astype(np.float32) / float(value_max))
    if labels is not None:
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if labels.shape[0] != images.shape[0]:
            raise ImageError(f"{path}: {labels.shape[0]} labels for {images.shape[0]} images")
    return np.clip(images, -1.0, 1.0), labels


def _as_nchw(raw: np.ndarray, path: Path) -> np.ndarray:
    if raw.ndim == 3:
        return raw[:, None]
    if raw.ndim == 4 and raw.shape[1] in CHANNEL_MODES:
        return raw
    if raw.ndim == 4 and raw.shape[3] in CHANNEL_MODES:
        return raw.transpose(0, 3, 1, 2)
    raise ImageError(f"{path}: images must be (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3, "
                     f"got shape {raw.shape}")


def image_to_uint8(image: Any) -> np.ndarray:
    """An image ``(C, H, W)`` in [-1, 1] (numpy or torch) as uint8 ``(H, W)`` or ``(H, W, 3)``; clipped."""
    if hasattr(image, "detach"):  # a torch tensor, without importing torch here
        image = image.detach().float().cpu().numpy()
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[0] not in CHANNEL_MODES:
        raise ImageError(f"expected an image (C, H, W) with C 1 or 3, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ImageError("refusing to write an image holding NaN/Inf values; the model output is broken")
    pixels = np.rint(np.clip(to_unit(image), 0.0, 1.0) * UINT8_MAX).astype(np.uint8)
    return pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)


def save_image(path: str | os.PathLike, image: Any, *, overwrite: bool = False) -> Path:
    """Write ``image`` ``(C, H, W)`` in [-1, 1] as PNG or JPEG (by extension), atomically; return the path.

    An existing file is refused unless ``overwrite``; parent folders are created.
    """
    from PIL import Image

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITE_EXTENSIONS:
        raise ImageError(f"{path}: cannot write '{ext or '(no extension)'}' files; use one of "
                         f"{' '.join(WRITE_EXTENSIONS)}")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder; give a file name to write")
    if path.exists() and not overwrite:
        raise ImageError(f"{path}: already exists; pass --overwrite (overwrite=True) to replace it")
    picture = Image.fromarray(image_to_uint8(image))
    options = {"quality": JPEG_QUALITY} if ext in (".jpg", ".jpeg") else {"optimize": True}
    try:
        with atomic_path(path) as tmp:
            picture.save(tmp, format="JPEG" if ext in (".jpg", ".jpeg") else "PNG", **options)
    except OSError as err:
        raise ImageError(f"{path}: cannot write ({err.strerror or err}); check free space and permissions") from None
    return path
