"""Up- and downsampling written once for 1-D and 2-D, with exact, documented output sizes.

* ``PixelShuffle`` / ``PixelUnshuffle``: channels <-> positions; in 1-D ``(B, C*r, T) <-> (B, C, T*r)``,
  in 2-D the same channel order as torch's ``nn.PixelShuffle`` (and per-axis factors are allowed).
* ``Downsample``: strided conv (kernel ``2 * factor + 1``) or average pooling (+ 1x1 conv);
  output length ``ceil(L / factor)``.
* ``Upsample``: transposed conv (kernel ``2 * factor``, HiFi-GAN style), conv + pixel shuffle, or
  nearest-neighbour + conv; output length exactly ``factor * L``.
"""

from __future__ import annotations

import math
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.nn.conv import ConvNorm, conv
from voicegen.nn.utils import IntOrTuple, check_dims, to_tuple, unwrap

DownsampleKind = Literal["conv", "avgpool"]
UpsampleKind = Literal["transposed", "pixel_shuffle", "nearest"]

DOWNSAMPLE_KINDS = ("conv", "avgpool")
UPSAMPLE_KINDS = ("transposed", "pixel_shuffle", "nearest")
# Kernel of the conv that follows a pixel shuffle or nearest-neighbour upsampling.
DEFAULT_SMOOTHING_KERNEL = 3


class PixelShuffle(nn.Module):
    """Move channels to positions: ``(B, C * prod(r), *S) -> (B, C, *(S * r))``.

    Channel ``c * prod(r) + offset`` lands at position ``s * r + offset`` (row-major offsets over
    the axes), which in 2-D is exactly ``torch.nn.PixelShuffle``. ``factor`` may differ per axis.
    """

    def __init__(self, dims: int, factor: IntOrTuple) -> None:
        super().__init__()
        self.dims = check_dims(dims, "PixelShuffle")
        self.factor = to_tuple(factor, dims, "PixelShuffle factor", minimum=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            raise ValueError(
                f"PixelShuffle({self.dims}-D): expected a {self.dims + 2}-D input, got shape {tuple(x.shape)}"
            )
        b, c, *spatial = x.shape
        block = math.prod(self.factor)
        if c % block:
            raise ValueError(f"PixelShuffle: {c} channels are not divisible by prod(factor)={block}")
        x = x.reshape(b, c // block, *self.factor, *spatial)
        # (B, C, r1..rn, s1..sn) -> (B, C, s1, r1, ..., sn, rn)
        n = self.dims
        order = [0, 1] + [i for axis in range(n) for i in (2 + n + axis, 2 + axis)]
        x = x.permute(order)
        return x.reshape(b, c // block, *(s * r for s, r in zip(spatial, self.factor)))

    def extra_repr(self) -> str:
        return f"dims={self.dims}, factor={unwrap(self.factor)}"


class PixelUnshuffle(nn.Module):
    """Inverse of ``PixelShuffle``: ``(B, C, *(S * r)) -> (B, C * prod(r), *S)``; sizes must divide."""

    def __init__(self, dims: int, factor: IntOrTuple) -> None:
        super().__init__()
        self.dims = check_dims(dims, "PixelUnshuffle")
        self.factor = to_tuple(factor, dims, "PixelUnshuffle factor", minimum=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            raise ValueError(
                f"PixelUnshuffle({self.dims}-D): expected a {self.dims + 2}-D input, got shape {tuple(x.shape)}"
            )
        b, c, *spatial = x.shape
        if any(s % r for s, r in zip(spatial, self.factor)):
            raise ValueError(f"PixelUnshuffle: spatial size {tuple(spatial)} is not divisible by factor {self.factor}")
        n = self.dims
        split = [v for s, r in zip(spatial, self.factor) for v in (s // r, r)]
        x = x.reshape(b, c, *split)
        # (B, C, s1, r1, ..., sn, rn) -> (B, C, r1..rn, s1..sn)
        order = [0, 1] + [2 + 2 * axis + 1 for axis in range(n)] + [2 + 2 * axis for axis in range(n)]
        x = x.permute(order)
        return x.reshape(b, c * math.prod(self.factor), *(s // r for s, r in zip(spatial, self.factor)))

    def extra_repr(self) -> str:
        return f"dims={self.dims}, factor={unwrap(self.factor)}"


class Downsample(nn.Module):
    """Reduce each spatial axis by ``factor``: ``(B, in_ch, *S) -> (B, out_ch, *ceil(S / factor))``.

    ``kind="conv"``: a strided conv with odd kernel ``2 * factor + 1`` (or ``kernel_size``) and
    ``"same"`` padding. ``kind="avgpool"``: average pooling over ``factor``-sized windows (the last
    partial window averages what it holds), then a 1x1 conv when ``in_ch != out_ch``.
    """

    def __init__(
        self,
        dims: int,
        in_ch: int,
        out_ch: int,
        factor: IntOrTuple,
        kind: DownsampleKind = "conv",
        conv_norm: ConvNorm = "none",
        kernel_size: Optional[IntOrTuple] = None,
    ) -> None:
        super().__init__()
        check_dims(dims, "Downsample")
        if kind not in DOWNSAMPLE_KINDS:
            raise ValueError(f"Downsample: kind must be one of {DOWNSAMPLE_KINDS}, got {kind!r}")
        factors = to_tuple(factor, dims, "Downsample factor", minimum=1)
        self.kind = kind
        if kind == "conv":
            kernel = tuple(2 * f + 1 for f in factors) if kernel_size is None else kernel_size
            self.pool: nn.Module = nn.Identity()
            self.conv = conv(dims, in_ch, out_ch, kernel, stride=factors, padding="same", norm=conv_norm)
        else:
            pool = nn.AvgPool1d if dims == 1 else nn.AvgPool2d
            self.pool = pool(unwrap(factors), stride=unwrap(factors), ceil_mode=True)
            self.conv = nn.Identity() if in_ch == out_ch else conv(dims, in_ch, out_ch, 1, norm=conv_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


class Upsample(nn.Module):
    """Grow each spatial axis by ``factor``: ``(B, in_ch, *S) -> (B, out_ch, *(S * factor))`` exactly.

    ``kind="transposed"``: transposed conv, kernel ``2 * factor`` (HiFi-GAN), padding
    ``ceil(factor / 2)`` and output padding ``factor % 2`` so odd factors are exact too.
    ``kind="pixel_shuffle"``: ``"same"`` conv to ``out_ch * prod(factor)`` channels, then ``PixelShuffle``.
    ``kind="nearest"``: nearest-neighbour repeat, then a ``"same"`` conv (no checkerboard artefacts).
    """

    def __init__(
        self,
        dims: int,
        in_ch: int,
        out_ch: int,
        factor: IntOrTuple,
        kind: UpsampleKind = "transposed",
        conv_norm: ConvNorm = "none",
        kernel_size: Optional[IntOrTuple] = None,
    ) -> None:
        super().__init__()
        check_dims(dims, "Upsample")
        if kind not in UPSAMPLE_KINDS:
            raise ValueError(f"Upsample: kind must be one of {UPSAMPLE_KINDS}, got {kind!r}")
        self.factor = to_tuple(factor, dims, "Upsample factor", minimum=1)
        self.kind = kind
        if kind == "transposed":
            if any(f < 2 for f in self.factor):
                raise ValueError(f"Upsample: transposed upsampling needs factor >= 2, got {factor!r}")
            kernel = tuple(2 * f for f in self.factor) if kernel_size is None else kernel_size
            self.conv = conv(
                dims, in_ch, out_ch, kernel, stride=self.factor, padding="same", norm=conv_norm, transposed=True
            )
            self.shuffle: nn.Module = nn.Identity()
        else:
            kernel = DEFAULT_SMOOTHING_KERNEL if kernel_size is None else kernel_size
            conv_out = out_ch * math.prod(self.factor) if kind == "pixel_shuffle" else out_ch
            self.conv = conv(dims, in_ch, conv_out, kernel, padding="same", norm=conv_norm)
            self.shuffle = PixelShuffle(dims, self.factor) if kind == "pixel_shuffle" else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "nearest":
            x = F.interpolate(x, scale_factor=tuple(float(f) for f in self.factor), mode="nearest")
        return self.shuffle(self.conv(x))
