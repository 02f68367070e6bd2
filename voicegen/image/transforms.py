"""Image transforms on torch tensors ``(C, H, W)`` or batches ``(N, C, H, W)``, values in [-1, 1].

Deterministic ones (:func:`resize`, :func:`pad`, :func:`center_crop`, :func:`to_channels`) prepare a
data source once; random ones (:func:`random_crop`, :func:`random_flip`) take an explicit
``torch.Generator`` so a dataset can draw them from its per-item seed (see ``voicegen.train.data``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from voicegen.image.io import ImageError

BLACK = -1.0
# ITU-R BT.601 luma weights for RGB -> grey (what Pillow's "L" conversion uses).
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
RESIZE_MODES = ("bilinear", "bicubic", "nearest", "area")


def _size_pair(size: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in pair):
        raise ImageError(f"{name} must be a positive int or (height, width), got {size!r}")
    return pair  # type: ignore[return-value]


def _batched(images: torch.Tensor, where: str) -> tuple[torch.Tensor, bool]:
    if images.dim() == 3:
        return images[None], True
    if images.dim() == 4:
        return images, False
    raise ImageError(f"{where}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {tuple(images.shape)}")


def resize(images: torch.Tensor, size: int | tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize to ``size`` (an int: square); antialiased when shrinking with bilinear/bicubic."""
    if mode not in RESIZE_MODES:
        raise ImageError(f"resize mode must be one of {', '.join(RESIZE_MODES)}, got {mode!r}")
    x, single = _batched(images, "resize")
    target = _size_pair(size, "resize size")
    if tuple(x.shape[-2:]) != target:
        smooth = mode in ("bilinear", "bicubic")
        x = F.interpolate(x.float(), size=target, mode=mode, antialias=smooth,
                          **({"align_corners": False} if smooth else {})).clamp(-1.0, 1.0)
    return x[0] if single else x


def pad(images: torch.Tensor, border: int, value: float = BLACK) -> torch.Tensor:
    """Add ``border`` pixels of ``value`` (black by default) on every side."""
    if border < 0:
        raise ImageError(f"pad border must be >= 0, got {border}")
    return F.pad(images, (border, border, border, border), value=value) if border else images


def center_crop(images: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """The centred ``size`` window (sizes larger than the image are an ImageError)."""
    h, w = _size_pair(size, "crop size")
    height, width = images.shape[-2:]
    if h > height or w > width:
        raise ImageError(f"crop size {(h, w)} is larger than the image {(height, width)}")
    top, left = (height - h) // 2, (width - w) // 2
    return images[..., top:top + h, left:left + w]


def random_crop(image: torch.Tensor, size: int | tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """A uniformly placed ``size`` window of ``image`` ``(C, H, W)``."""
    h, w = _size_pair(size, "crop size")
    height, width = image.shape[-2:]
    if h > height or w > width:
        raise ImageError(f"crop size {(h, w)} is larger than the image {(height, width)}")
    top = int(torch.randint(height - h + 1, (1,), generator=generator))
    left = int(torch.randint(width - w + 1, (1,), generator=generator))
    return image[..., top:top + h, left:left + w]


def random_flip(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``image`` mirrored left-right with probability 1/2."""
    return image.flip(-1) if bool(torch.randint(2, (1,), generator=generator)) else image


def random_shift(image: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """``image`` ``(C, H, W)`` moved by up to ``max_shift`` pixels along each axis (black fills in)."""
    if max_shift <= 0:
        return image
    return random_crop(pad(image, max_shift), tuple(image.shape[-2:]), generator)


def from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Bernoulli decoder logits -> the mean image in [-1, 1]: ``2 sigmoid(l) - 1 = tanh(l / 2)``."""
    return torch.tanh(logits * 0.5)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey <-> RGB: 1 -> 3 repeats the plane, 3 -> 1 takes the BT.601 luma."""
    have = images.shape[-3]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return images.expand(*images.shape[:-3], 3, *images.shape[-2:]).clone()
    if have == 3 and channels == 1:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device).view(3, 1, 1)
        return (images * weights).sum(dim=-3, keepdim=True)
    raise ImageError(f"cannot convert {have}-channel images to {channels} channels (use 1 or 3)")
