"""The mel 2-1-2D generator of CycleGAN-VC2 / MaskCycleGAN-VC (Kaneko et al. 2019, 2021).

Data flow for a mel ``(B, n_mels, F)`` and its mask ``(B, n_mels, F)`` (1 = keep, 0 = a frame the
generator must fill in)::

    [mel * mask, mask]                      (B, 2, n_mels, F')      F' = F padded to a multiple of 4
    2-D conv + GLU                           (B, base, n_mels, F')
    2 x 2-D stride-2 conv + IN + GLU         (B, down, n_mels/4, F'/4)
    reshape to 1-D, 1x1 conv + IN            (B, bottleneck, F'/4)
    n_residual x gated 1-D residual block    (B, bottleneck, F'/4)
    1x1 conv + IN, reshape to 2-D            (B, down, n_mels/4, F'/4)
    2 x conv + pixel shuffle 2x + IN + GLU   (B, up[1], n_mels, F')
    2-D conv to one channel, crop            (B, n_mels, F)

The 2-D parts see local time-frequency patterns; the 1-D middle mixes all bands at each frame
with a wide temporal context. Frames are padded by repeating the edge frames (and at least to
``MIN_FRAMES``, since instance norm needs two positions per channel), then cropped back, so any
frame count works. Mels are normalised log-mels (per-speaker mean 0, std 1 per band).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.models.cyclegan.config import (
    MEL_GENERATOR_STRIDE,
    CycleGANGeneratorConfig,
)
from voicegen.nn import GLU, ConvBlock, ResidualBlock, Upsample, conv, norm_layer

# Instance norm needs more than one position per channel: at F' / 4 >= 2 frames.
MIN_FRAMES = 2 * MEL_GENERATOR_STRIDE
DOWNSAMPLE_STRIDE = 2
UPSAMPLE_FACTOR = 2


class UpsampleGLU(nn.Module):
    """conv -> pixel shuffle (2x on both axes) -> instance norm -> GLU: ``(B, in, H, W) -> (B, out, 2H, 2W)``."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int) -> None:
        super().__init__()
        self.up = Upsample(2, in_ch, 2 * out_ch, UPSAMPLE_FACTOR, kind="pixel_shuffle", kernel_size=kernel_size)
        self.norm = norm_layer("instance", 2, 2 * out_ch)
        self.act = GLU(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.up(x)))


class MelCycleGANGenerator(nn.Module):
    """Masked mel-to-mel generator ``(B, n_mels, F) -> (B, n_mels, F)``; see the module docstring.

    ``forward(mel, mask=None)``: ``mask`` (same shape as ``mel``, or broadcastable such as
    ``(B, 1, F)``) marks kept bins with 1; the generator zeroes the rest itself, so callers may
    pass masked or unmasked mels. ``None`` (inference) means all ones.
    """

    takes_mask = True

    def __init__(self, config: CycleGANGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        bands_low = c.n_mels // MEL_GENERATOR_STRIDE
        self.input = ConvBlock(2, 2, c.base_channels, c.in_kernel, act="glu")
        # Convs followed by instance norm need no bias (the norm removes it).
        self.down = nn.Sequential(
            ConvBlock(2, c.base_channels, c.down_channels, c.down_kernel, DOWNSAMPLE_STRIDE, "instance", "glu",
                      bias=False),
            ConvBlock(2, c.down_channels, c.down_channels, c.down_kernel, DOWNSAMPLE_STRIDE, "instance", "glu",
                      bias=False),
        )
        flat = c.down_channels * bands_low
        self.to_1d = ConvBlock(1, flat, c.bottleneck_channels, 1, norm="instance", bias=False)
        self.residual = nn.Sequential(*(
            ResidualBlock(1, c.bottleneck_channels, c.residual_kernel, norm="instance", gated=True,
                          hidden_channels=c.residual_channels)
            for _ in range(c.n_residual)
        ))
        self.to_2d = ConvBlock(1, c.bottleneck_channels, flat, 1, norm="instance", bias=False)
        self.up = nn.Sequential(
            UpsampleGLU(c.down_channels, c.up_channels[0], c.up_kernel),
            UpsampleGLU(c.up_channels[0], c.up_channels[1], c.up_kernel),
        )
        self.output = conv(2, c.up_channels[1], 1, c.out_kernel)

    def forward(self, mel: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        n_mels = self.config.n_mels
        if mel.dim() != 3 or mel.shape[1] != n_mels:
            raise ValueError(f"MelCycleGANGenerator: expected a mel (B, {n_mels}, frames), "
                             f"got shape {tuple(mel.shape)}")
        batch, _, frames = mel.shape
        if mask is None:
            mask = torch.ones_like(mel)
        else:
            try:
                mask = mask.to(mel.dtype).expand_as(mel)
            except RuntimeError:
                raise ValueError(f"MelCycleGANGenerator: mask of shape {tuple(mask.shape)} does not broadcast to "
                                 f"the mel {tuple(mel.shape)}") from None
        x = torch.stack([mel * mask, mask], dim=1)  # (B, 2, n_mels, F)
        padded = max(-(-frames // MEL_GENERATOR_STRIDE) * MEL_GENERATOR_STRIDE, MIN_FRAMES)
        if padded != frames:
            x = F.pad(x, (0, padded - frames, 0, 0), mode="replicate")
        h = self.down(self.input(x))  # (B, down, n_mels/4, F'/4)
        b, c, bands, steps = h.shape
        h = self.to_2d(self.residual(self.to_1d(h.reshape(b, c * bands, steps))))
        h = self.up(h.reshape(b, c, bands, steps))
        return self.output(h)[:, 0, :, :frames].reshape(batch, n_mels, frames)
