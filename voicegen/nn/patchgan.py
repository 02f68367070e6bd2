"""PatchGAN discriminator (Isola et al., pix2pix) for ``(B, C, T)`` signals and ``(B, C, H, W)`` images/mels.

Layout: ``n_layers`` stride-2 convs (the first without norm), one stride-1 conv with norm, and a
stride-1 conv to one logit channel; every hidden layer ends in a leaky ReLU. Each output logit
judges one receptive-field patch of the input, so the output is a map ``(B, 1, *patch)``.
"""

from __future__ import annotations

from typing import Literal, Union

import torch
from torch import nn

from voicegen.nn.activation import DEFAULT_NEGATIVE_SLOPE
from voicegen.nn.blocks import ConvBlock
from voicegen.nn.conv import conv
from voicegen.nn.utils import check_dims

PatchNorm = Literal["instance", "batch", "none"]
PatchConvNorm = Literal["none", "spectral"]

PATCH_NORMS = ("instance", "batch", "none")
PATCH_CONV_NORMS = ("none", "spectral")
DOWNSAMPLE_STRIDE = 2


class PatchGANDiscriminator(nn.Module):
    """Patch discriminator: ``(B, in_channels, *S) -> logits (B, 1, *patch)`` (+ hidden features).

    Channels double per stride-2 layer from ``base_channels``, capped at ``max_channels``. Every conv
    uses ``kernel_size`` and padding ``(kernel_size - 1) // 2``; with the default ``kernel_size=4``
    each stride-2 layer maps ``L -> floor(L / 2)`` and each stride-1 layer ``L -> L - 1``, so the
    patch map is about ``S / 2**n_layers - 2`` per axis. Inputs too small for that raise a ``ValueError``.

    Args:
        dims: 1 for signals ``(B, C, T)``, 2 for images/mels ``(B, C, H, W)``.
        norm: norm of all hidden layers but the first (``"instance"`` by default, as in CycleGAN).
        conv_norm: ``"spectral"`` wraps every conv in spectral norm.
        return_features: ``forward`` returns ``(logits, features)`` where ``features`` is the list of
            ``n_layers + 1`` hidden activations (after each leaky ReLU), for feature matching.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        base_channels: int = 64,
        n_layers: int = 3,
        max_channels: int = 512,
        kernel_size: int = 4,
        norm: PatchNorm = "instance",
        conv_norm: PatchConvNorm = "none",
        return_features: bool = False,
        negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims, "PatchGANDiscriminator")
        if norm not in PATCH_NORMS:
            raise ValueError(f"PatchGANDiscriminator: norm must be one of {PATCH_NORMS}, got {norm!r}")
        if conv_norm not in PATCH_CONV_NORMS:
            raise ValueError(f"PatchGANDiscriminator: conv_norm must be one of {PATCH_CONV_NORMS}, got {conv_norm!r}")
        if n_layers < 1 or kernel_size < 2:
            raise ValueError(
                f"PatchGANDiscriminator: need n_layers >= 1 and kernel_size >= 2, got {n_layers}, {kernel_size}"
            )
        self.kernel_size = kernel_size
        self.padding = (kernel_size - 1) // 2
        self.n_layers = n_layers
        self.return_features = return_features
        # A conv right before a mean-subtracting norm does not need its own bias.
        hidden_bias = norm == "none"

        def block(c_in: int, c_out: int, stride: int, layer_norm: PatchNorm, bias: bool) -> ConvBlock:
            return ConvBlock(
                dims, c_in, c_out, kernel_size, stride, layer_norm, "leaky_relu", conv_norm,
                padding=self.padding, bias=bias, negative_slope=negative_slope,
            )

        channels = min(base_channels, max_channels)
        layers = [block(in_channels, channels, DOWNSAMPLE_STRIDE, "none", True)]
        for _ in range(1, n_layers):
            nxt = min(channels * 2, max_channels)
            layers.append(block(channels, nxt, DOWNSAMPLE_STRIDE, norm, hidden_bias))
            channels = nxt
        nxt = min(channels * 2, max_channels)
        layers.append(block(channels, nxt, 1, norm, hidden_bias))
        self.layers = nn.ModuleList(layers)
        self.out = conv(dims, nxt, 1, kernel_size, padding=self.padding, norm=conv_norm)

    def output_size(self, size: int) -> int:
        """Patch-map length along one axis for an input of ``size`` along that axis."""
        for stride in [DOWNSAMPLE_STRIDE] * self.n_layers + [1, 1]:
            size = (size + 2 * self.padding - self.kernel_size) // stride + 1
        return size

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, tuple[torch.Tensor, list[torch.Tensor]]]:
        """``(B, in_channels, *S) -> (B, 1, *patch)``, or ``(logits, features)`` with ``return_features``."""
        if x.dim() != self.dims + 2:
            raise ValueError(
                f"PatchGANDiscriminator({self.dims}-D): expected a {self.dims + 2}-D input, got shape {tuple(x.shape)}"
            )
        spatial = tuple(x.shape[2:])
        if any(self.output_size(s) < 1 for s in spatial):
            raise ValueError(
                f"PatchGANDiscriminator: input size {spatial} is too small for n_layers={self.n_layers} "
                f"and kernel_size={self.kernel_size}; use larger inputs or fewer layers"
            )
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        logits = self.out(x)
        return (logits, features) if self.return_features else logits
