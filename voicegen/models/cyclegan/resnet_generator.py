"""The image CycleGAN ResNet generator (Johnson et al. 2016, as used by Zhu et al. 2017).

``(B, in_channels, H, W) -> (B, out_channels, H, W)`` in [-1, 1]::

    c7s1-base (reflect pad, 7x7 conv, norm, ReLU)
    n_downsample x (3x3 stride-2 conv, norm, ReLU), channels doubling
    n_residual x residual block (reflect-padded 3x3 conv-norm-ReLU-conv-norm, plus the input)
    n_downsample x (3x3 stride-2 transposed conv, norm, ReLU), channels halving
    c7s1-out (reflect pad, 7x7 conv) + tanh

Images whose sides are not multiples of ``2 ** n_downsample`` are reflect-padded and cropped back.
It trains with the same ``CycleGANTask`` as the mel generator (it takes no mask: ``takes_mask``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.models.cyclegan.config import ResnetGeneratorConfig
from voicegen.nn import ConvBlock, ResidualBlock, conv

OUTER_KERNEL = 7
INNER_KERNEL = 3
STRIDE = 2


class ResnetGenerator(nn.Module):
    """Image-to-image generator; see the module docstring for the layout."""

    takes_mask = False

    def __init__(self, config: ResnetGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        bias = c.norm != "instance"  # the classic CycleGAN keeps biases only without instance norm
        layers: list[nn.Module] = [
            ConvBlock(2, c.in_channels, c.base_channels, OUTER_KERNEL, 1, c.norm, "relu", bias=bias,
                      padding_mode="reflect"),
        ]
        channels = c.base_channels
        for _ in range(c.n_downsample):
            layers.append(ConvBlock(2, channels, 2 * channels, INNER_KERNEL, STRIDE, c.norm, "relu", bias=bias))
            channels *= 2
        layers.extend(
            ResidualBlock(2, channels, INNER_KERNEL, norm=c.norm, act="relu", padding_mode="reflect")
            for _ in range(c.n_residual)
        )
        for _ in range(c.n_downsample):
            layers.append(ConvBlock(2, channels, channels // 2, INNER_KERNEL, STRIDE, c.norm, "relu", bias=bias,
                                    transposed=True))
            channels //= 2
        layers.append(conv(2, channels, c.out_channels, OUTER_KERNEL, padding_mode="reflect"))
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.multiple = STRIDE**c.n_downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"ResnetGenerator: expected images (B, {self.config.in_channels}, H, W), "
                             f"got shape {tuple(x.shape)}")
        height, width = x.shape[-2:]
        pad_h = -height % self.multiple
        pad_w = -width % self.multiple
        if pad_h or pad_w:
            mode = "reflect" if min(height, width) > max(pad_h, pad_w) else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        return self.net(x)[..., :height, :width]
