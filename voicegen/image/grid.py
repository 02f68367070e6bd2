"""Sample grids: many images ``(N, C, H, W)`` in [-1, 1] tiled into one picture, saved as PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from voicegen.image.io import ImageError, image_to_uint8, save_image

DEFAULT_PADDING = 2
# Grid lines are mid-grey, so both black-background digits and white-background images stand out.
GRID_VALUE = 0.0


def make_grid(images: torch.Tensor, nrow: int, *, padding: int = DEFAULT_PADDING,
              pad_value: float = GRID_VALUE) -> torch.Tensor:
    """Tile ``images`` ``(N, C, H, W)`` row by row, ``nrow`` per row: ``(C, rows*(H+p)+p, nrow*(W+p)+p)``.

    Image ``i`` goes to row ``i // nrow``, column ``i % nrow``; a short last row is left as padding.
    """
    if images.dim() != 4 or images.shape[0] < 1:
        raise ImageError(f"make_grid: expected a batch (N, C, H, W) with N >= 1, got shape {tuple(images.shape)}")
    if nrow < 1 or padding < 0:
        raise ImageError(f"make_grid: need nrow >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    n, c, h, w = images.shape
    rows = -(-n // nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value,
                      dtype=torch.float32)
    for index in range(n):
        top = padding + (index // nrow) * (h + padding)
        left = padding + (index % nrow) * (w + padding)
        grid[:, top:top + h, left:left + w] = images[index].detach().float().cpu()
    return grid


def upscale(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour ``factor``x enlargement of ``(C, H, W)`` (crisp pixels for small digits)."""
    if factor < 1:
        raise ImageError(f"upscale factor must be >= 1, got {factor}")
    return image.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1) if factor > 1 else image


def save_grid(path: str | os.PathLike, images: torch.Tensor, nrow: int, *, scale: int = 1,
              padding: int = DEFAULT_PADDING, overwrite: bool = False) -> Path:
    """Write ``make_grid(images, nrow)`` (enlarged ``scale`` x) to ``path`` (PNG/JPEG); return the path."""
    return save_image(path, upscale(make_grid(images, nrow, padding=padding), scale), overwrite=overwrite)


def grid_figure(grid: torch.Tensor, title: str = "") -> Any:
    """A matplotlib ``Figure`` showing ``grid`` ``(C, H, W)`` pixel for pixel (for training logs)."""
    from matplotlib.figure import Figure

    pixels = image_to_uint8(grid)
    height, width = pixels.shape[:2]
    dpi = 100
    fig = Figure(figsize=(max(width, 64) / dpi, max(height, 64) / dpi + (0.3 if title else 0.0)), dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 if not title else height / (height + 30)))
    ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=8)
    return fig
