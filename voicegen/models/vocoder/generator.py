"""HiFi-GAN generator (Kong et al. 2020): log-mel frames -> waveform by transposed-conv upsampling.

``conv_pre`` (kernel 7) -> per stage: leaky ReLU, transposed conv (rate ``u``, halving the
channels), multi-receptive-field fusion (mean of dilated residual stacks) -> leaky ReLU ->
``conv_post`` (kernel 7, one channel) -> tanh. Every conv carries weight norm while training;
:meth:`HiFiGANGenerator.remove_weight_norm` folds it away for export with identical outputs.
With ``istft_n_fft > 0`` the waveform head is an iSTFTNet inverse STFT instead of conv + tanh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from voicegen.models.vocoder.config import (
    LRELU_SLOPE,
    GeneratorConfig,
    hop_mismatch_message,
)
from voicegen.models.vocoder.istft import ISTFTHead
from voicegen.nn import MultiReceptiveField, Upsample, conv, remove_weight_norm

# HiFi-GAN initialises its conv weights from N(0, 0.01).
INIT_STD = 0.01
# Kernel of conv_pre and conv_post.
PRE_POST_KERNEL = 7
# Window of the iSTFTNet head (its n_fft is tiny, so win_length = n_fft).
ISTFT_HEAD_WINDOW = "hann"


def check_mel(mel: torch.Tensor, n_mels: int, where: str) -> None:
    """Raise one clear ``ValueError`` unless ``mel`` is ``(B, n_mels, frames)`` with frames >= 1."""
    if mel.dim() != 3 or mel.shape[1] != n_mels or mel.shape[2] < 1:
        hint = "; squeeze the channel axis of a (B, 1, n_mels, frames) mel" if mel.dim() == 4 else ""
        raise ValueError(f"{where}: expected a mel (B, {n_mels}, frames), got shape {tuple(mel.shape)}{hint}")


def init_normal_(module: nn.Module, std: float = INIT_STD) -> None:
    """Draw every conv weight under ``module`` from N(0, std), weight-normed convs included.

    Writing ``module.weight.data`` of a weight-normed conv would change a temporary only; assigning
    the weight through the parametrization sets the magnitude ``g`` and direction ``v`` consistently.
    """
    for sub in module.modules():
        if not isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d, nn.ConvTranspose2d)):
            continue
        with torch.no_grad():
            weight = torch.empty_like(sub.weight).normal_(0.0, std)
            if parametrize.is_parametrized(sub, "weight"):
                sub.weight = weight
            else:
                sub.weight.copy_(weight)


class HiFiGANGenerator(nn.Module):
    """Log-mel ``(B, n_mels, frames)`` -> waveform ``(B, 1, frames * hop_length)``.

    The conv head ends in tanh (samples in (-1, 1)); the iSTFT head is unbounded. See
    :class:`~voicegen.models.vocoder.config.GeneratorConfig` for the hyper-parameters and
    ``GENERATOR_PRESETS`` for the paper's V1/V2/V3.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.upsample_initial_channel
        self.conv_pre = conv(1, config.n_mels, channels, PRE_POST_KERNEL, norm="weight")
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        for rate, kernel in zip(config.upsample_rates, config.upsample_kernel_sizes):
            self.ups.append(Upsample(1, channels, channels // 2, rate, "transposed", "weight", kernel))
            channels //= 2
            self.mrfs.append(MultiReceptiveField(
                1, channels, config.resblock_kernel_sizes, config.resblock_dilations, config.resblock_kind,
                "weight", LRELU_SLOPE,
            ))
        if config.istft_n_fft:
            self.conv_post: nn.Module = ISTFTHead(
                channels, config.istft_n_fft, config.istft_hop_length, config.istft_n_fft, ISTFT_HEAD_WINDOW,
                PRE_POST_KERNEL, "weight",
            )
        else:
            self.conv_post = conv(1, channels, 1, PRE_POST_KERNEL, norm="weight")
        init_normal_(self)

    @property
    def hop_length(self) -> int:
        """Output samples per mel frame: ``prod(upsample_rates) * istft_hop_length``."""
        return self.config.hop_length

    def validate_hop(self, hop_length: int) -> None:
        """Raise ``ValueError`` (one line) unless ``prod(upsample_rates)`` (x iSTFT hop) equals the mel hop."""
        if self.hop_length == hop_length:
            return
        if self.config.istft_n_fft:
            what = (f"generator upsample_rates {tuple(self.config.upsample_rates)} times istft_hop_length "
                    f"{self.config.istft_hop_length} multiply to")
            fix = "change upsample_rates or istft_hop_length"
        else:
            what = f"generator upsample_rates {tuple(self.config.upsample_rates)} multiply to"
            fix = "change upsample_rates"
        raise ValueError(hop_mismatch_message(what, self.hop_length, hop_length, fix))

    def remove_weight_norm(self) -> HiFiGANGenerator:
        """Fold weight norm into plain weights (in place) for export/inference; outputs are unchanged."""
        return remove_weight_norm(self)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames) -> (B, 1, frames * hop_length)``."""
        check_mel(mel, self.config.n_mels, "HiFiGANGenerator")
        x = self.conv_pre(mel)
        for up, mrf in zip(self.ups, self.mrfs):
            x = mrf(up(F.leaky_relu(x, LRELU_SLOPE)))
        x = F.leaky_relu(x, LRELU_SLOPE)
        if self.config.istft_n_fft:
            return self.conv_post(x)
        return torch.tanh(self.conv_post(x))
