"""Convolution blocks written once for 1-D and 2-D: conv -> norm -> act, residual and dilated stacks.

* ``ConvBlock``: conv -> norm -> activation (``act="glu"`` gives CycleGAN-VC's gated conv).
* ``ResidualBlock``: ``x + f(x)`` with f = conv-norm-act-conv-norm (image CycleGAN ResNet block) or
  its gated GLU variant (CycleGAN-VC 1-D block); one unit per entry of ``dilations``.
* ``DilatedResidualStack`` / ``MultiReceptiveField``: HiFi-GAN's pre-activation dilated residual
  stacks (ResBlock type 1 and 2) and the average over several of them (MRF).
"""

from __future__ import annotations

from typing import Literal, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.nn.activation import DEFAULT_NEGATIVE_SLOPE, ActName, activation
from voicegen.nn.conv import ConvNorm, Padding, PaddingMode, conv
from voicegen.nn.norm import NormKind, norm_layer
from voicegen.nn.utils import IntOrTuple, check_dims

# HiFi-GAN's leaky-ReLU slope inside its residual stacks.
HIFIGAN_NEGATIVE_SLOPE = 0.1


class ConvBlock(nn.Module):
    """conv -> norm -> activation, mapping ``(B, in_ch, *spatial) -> (B, out_ch, *spatial')``.

    With ``act="glu"`` the conv produces ``2 * out_ch`` channels, the norm runs over all of them
    (per-channel norms equal separate norms of the two halves) and the GLU gate halves them back
    to ``out_ch`` (CycleGAN-VC's gated convs). Spatial size follows ``conv`` (``"same"`` padding:
    ``ceil(L / stride)``; transposed ``"same"``: ``stride * L``).
    """

    def __init__(
        self,
        dims: int,
        in_ch: int,
        out_ch: int,
        kernel_size: IntOrTuple = 3,
        stride: IntOrTuple = 1,
        norm: NormKind = "none",
        act: ActName = "none",
        conv_norm: ConvNorm = "none",
        *,
        dilation: IntOrTuple = 1,
        padding: Padding = "same",
        padding_mode: PaddingMode = "zeros",
        groups: int = 1,
        bias: bool = True,
        transposed: bool = False,
        negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    ) -> None:
        super().__init__()
        check_dims(dims, "ConvBlock")
        conv_out = 2 * out_ch if act == "glu" else out_ch
        self.conv = conv(
            dims, in_ch, conv_out, kernel_size, stride=stride, dilation=dilation, padding=padding,
            groups=groups, bias=bias, norm=conv_norm, transposed=transposed, padding_mode=padding_mode,
        )
        self.norm = norm_layer(norm, dims, conv_out)
        self.act = activation(act, negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class ResidualBlock(nn.Module):
    """A stack of residual units ``x = x + f_d(x)``, one per dilation; shape ``(B, C, *spatial)`` kept.

    Plain (``gated=False``): ``f = conv(C->H, dilation d) -> norm -> act -> conv(H->C) -> norm``,
    no activation after the sum (the image CycleGAN ResNet block; use ``padding_mode="reflect"``).
    Gated (``gated=True``): the first conv is a GLU ``ConvBlock`` (``C -> 2H -> norm -> GLU -> H``),
    as in CycleGAN-VC's 1-D residual blocks. ``H = hidden_channels`` (default ``channels``).

    Args:
        act: activation of a plain block (default ``"relu"``); a gated block uses GLU, so ``act``
            must then be left ``None`` or be ``"glu"``.
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        kernel_size: IntOrTuple = 3,
        dilations: Sequence[int] = (1,),
        norm: NormKind = "none",
        act: Optional[ActName] = None,
        conv_norm: ConvNorm = "none",
        gated: bool = False,
        *,
        hidden_channels: Optional[int] = None,
        padding_mode: PaddingMode = "zeros",
        negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    ) -> None:
        super().__init__()
        check_dims(dims, "ResidualBlock")
        if gated and act not in (None, "glu"):
            raise ValueError(f"ResidualBlock: gated=True uses GLU; leave act unset instead of act={act!r}")
        if not dilations:
            raise ValueError("ResidualBlock: dilations must hold at least one dilation, e.g. (1,)")
        first_act: ActName = "glu" if gated else (act or "relu")
        hidden = channels if hidden_channels is None else hidden_channels
        self.units = nn.ModuleList(
            nn.Sequential(
                ConvBlock(
                    dims, channels, hidden, kernel_size, 1, norm, first_act, conv_norm, dilation=d,
                    padding_mode=padding_mode, negative_slope=negative_slope,
                ),
                ConvBlock(dims, hidden, channels, kernel_size, 1, norm, "none", conv_norm, padding_mode=padding_mode),
            )
            for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.units:
            x = x + unit(x)
        return x


class DilatedResidualStack(nn.Module):
    """HiFi-GAN residual stack over ``dilations``; ``(B, C, *spatial)`` shape kept.

    ``kind=1``: per dilation ``d``: ``x = x + conv_1(lrelu(conv_d(lrelu(x))))``.
    ``kind=2``: per dilation ``d``: ``x = x + conv_d(lrelu(x))``.
    All convs keep the size (``"same"`` padding, odd ``kernel_size``); ``conv_norm`` defaults to
    weight norm as in HiFi-GAN (strip it with ``remove_weight_norm`` for export).
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        kernel_size: IntOrTuple,
        dilations: Sequence[int],
        kind: Literal[1, 2] = 1,
        conv_norm: ConvNorm = "weight",
        negative_slope: float = HIFIGAN_NEGATIVE_SLOPE,
    ) -> None:
        super().__init__()
        check_dims(dims, "DilatedResidualStack")
        if kind not in (1, 2):
            raise ValueError(f"DilatedResidualStack: kind must be 1 or 2 (HiFi-GAN ResBlock1/2), got {kind!r}")
        if not dilations:
            raise ValueError("DilatedResidualStack: dilations must not be empty, e.g. (1, 3, 5)")
        self.kind = kind
        self.negative_slope = negative_slope
        self.convs1 = nn.ModuleList(
            conv(dims, channels, channels, kernel_size, dilation=d, norm=conv_norm) for d in dilations
        )
        n_second = len(dilations) if kind == 1 else 0
        self.convs2 = nn.ModuleList(
            conv(dims, channels, channels, kernel_size, norm=conv_norm) for _ in range(n_second)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, first in enumerate(self.convs1):
            h = first(F.leaky_relu(x, self.negative_slope))
            if self.kind == 1:
                h = self.convs2[i](F.leaky_relu(h, self.negative_slope))
            x = x + h
        return x


class MultiReceptiveField(nn.Module):
    """HiFi-GAN's MRF: the mean of ``DilatedResidualStack`` outputs with different kernels/dilations.

    ``kernel_sizes[i]`` pairs with ``dilations[i]``; shape ``(B, C, *spatial)`` is kept.
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        kernel_sizes: Sequence[int],
        dilations: Sequence[Sequence[int]],
        kind: Literal[1, 2] = 1,
        conv_norm: ConvNorm = "weight",
        negative_slope: float = HIFIGAN_NEGATIVE_SLOPE,
    ) -> None:
        super().__init__()
        if len(kernel_sizes) != len(dilations) or not kernel_sizes:
            raise ValueError(
                f"MultiReceptiveField: need one dilation list per kernel size, got {len(kernel_sizes)} kernel sizes "
                f"and {len(dilations)} dilation lists"
            )
        self.stacks = nn.ModuleList(
            DilatedResidualStack(dims, channels, k, tuple(d), kind, conv_norm, negative_slope)
            for k, d in zip(kernel_sizes, dilations)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = self.stacks[0](x)
        for stack in self.stacks[1:]:
            total = total + stack(x)
        return total / len(self.stacks)
