"""ConvNeXt residual block (Liu et al. 2022), written once for 1-D and 2-D.

``x + gamma * pw2(gelu(pw1(norm(dwconv(x)))))``: a depthwise conv mixes positions, a channel
layer norm, then a pointwise MLP mixes channels; ``gamma`` is a learnt per-channel layer scale
started small so a deep stack starts close to the identity. Vocos uses a 1-D stack of these at
the mel frame rate. (A candidate for voicegen.nn if another model needs it.)
"""

from __future__ import annotations

import torch
from torch import nn

from voicegen.nn import ChannelLayerNorm, conv
from voicegen.nn.utils import check_dims

# Std of the truncated-normal init of conv weights in the frame-rate generators (ConvNeXt/Vocos).
INIT_STD = 0.02


def init_convnext_weights(module: nn.Module) -> None:
    """``module.apply`` hook of the frame-rate (iSTFT, source-filter) generators: 1-D conv weights
    from a truncated normal of std INIT_STD, biases zero."""
    if isinstance(module, nn.Conv1d):
        nn.init.trunc_normal_(module.weight, std=INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class ConvNeXtBlock(nn.Module):
    """``(B, channels, *spatial) -> (B, channels, *spatial)``.

    Args:
        dims: 1 for ``(B, C, T)``, 2 for ``(B, C, H, W)``.
        intermediate_channels: hidden width of the pointwise MLP.
        kernel_size: odd depthwise kernel (``"same"`` padding keeps the size).
        layer_scale: initial value of the per-channel residual scale ``gamma`` (e.g. ``1 / n_blocks``).
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        intermediate_channels: int,
        kernel_size: int = 7,
        layer_scale: float = 1e-6,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims, "ConvNeXtBlock")
        self.dwconv = conv(dims, channels, channels, kernel_size, groups=channels)
        self.norm = ChannelLayerNorm(channels)
        self.pwconv1 = conv(dims, channels, intermediate_channels, 1)
        self.act = nn.GELU()
        self.pwconv2 = conv(dims, intermediate_channels, channels, 1)
        self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pwconv2(self.act(self.pwconv1(self.norm(self.dwconv(x)))))
        return x + self.gamma.view(1, -1, *([1] * self.dims)) * h
