"""A fast CPU vocoder: ConvNeXt blocks at the mel frame rate and an inverse-STFT head (Vocos's idea).

HiFi-GAN spends most of its compute on convolutions at 2-8 kHz feature rates after upsampling.
This generator never upsamples: every conv runs at the frame rate (62.5 frames/s at 16 kHz, hop
256) and one inverse STFT with the mel contract's ``n_fft``/``hop_length``/window produces the
waveform, so it costs a small fraction of HiFi-GAN V1 per second of audio.
"""

from __future__ import annotations

import torch
from torch import nn

from voicegen.models.vocoder.config import ISTFTGeneratorConfig, hop_mismatch_message
from voicegen.models.vocoder.convnext import ConvNeXtBlock, init_convnext_weights
from voicegen.models.vocoder.generator import check_mel
from voicegen.models.vocoder.istft import ISTFTHead
from voicegen.nn import ChannelLayerNorm, conv, remove_weight_norm


class ISTFTGenerator(nn.Module):
    """Log-mel ``(B, n_mels, frames)`` -> waveform ``(B, 1, frames * hop_length)`` (unbounded, ~[-1, 1]).

    ``embed`` conv (kernel ``kernel_size``) -> layer norm -> ``n_blocks`` ConvNeXt blocks (layer
    scale ``1 / n_blocks``) -> layer norm -> :class:`ISTFTHead` (1x1 conv to log-magnitude and phase,
    then the inverse STFT). Same interface as :class:`HiFiGANGenerator`.
    """

    def __init__(self, config: ISTFTGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = conv(1, config.n_mels, config.channels, config.kernel_size)
        self.norm_in = ChannelLayerNorm(config.channels)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(1, config.channels, config.intermediate_channels, config.kernel_size, 1.0 / config.n_blocks)
            for _ in range(config.n_blocks)
        )
        self.norm_out = ChannelLayerNorm(config.channels)
        self.head = ISTFTHead(config.channels, config.n_fft, config.hop_length, config.win_length, config.window)
        self.apply(init_convnext_weights)

    @property
    def hop_length(self) -> int:
        """Output samples per mel frame."""
        return self.config.hop_length

    def validate_hop(self, hop_length: int) -> None:
        """Raise ``ValueError`` (one line) unless this generator's hop equals the mel contract's ``hop_length``."""
        if self.hop_length != hop_length:
            raise ValueError(hop_mismatch_message(
                "istft generator hop_length is", self.hop_length, hop_length, "set hop_length to the mel contract's"
            ))

    def remove_weight_norm(self) -> ISTFTGenerator:
        """No-op kept for interface parity with :class:`HiFiGANGenerator` (this model has no weight norm)."""
        return remove_weight_norm(self)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames) -> (B, 1, frames * hop_length)``."""
        check_mel(mel, self.config.n_mels, "ISTFTGenerator")
        x = self.norm_in(self.embed(mel))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm_out(x))

