"""Typed configurations of the vocoder generators and discriminators, with named presets.

* :class:`GeneratorConfig` — HiFi-GAN (Kong et al. 2020). Defaults are the paper's V1; V2 and V3
  are in :data:`GENERATOR_PRESETS`. With ``istft_n_fft > 0`` the waveform head becomes a small
  inverse STFT (iSTFTNet, Kaneko et al. 2022): fewer transposed-conv stages, then magnitude/phase
  at ``istft_n_fft`` bins and an overlap-add with hop ``istft_hop_length``.
* :class:`ISTFTGeneratorConfig` — a frame-rate ConvNeXt generator with an inverse-STFT head (the
  idea of Vocos, Siuzdak 2023): no upsampling network at all, so it is much cheaper on a CPU.
* :class:`DiscriminatorConfig` — which sub-discriminators a vocoder GAN uses and how wide they
  are: multi-period (MPD), multi-scale (MSD) and multi-resolution spectrogram (MRD) discriminators.

Every config is a frozen dataclass that validates itself (``ValueError`` naming the field), so
``voicegen.config.from_dict`` turns a YAML section or an artifact's JSON into one strictly.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

GeneratorKind = Literal["hifigan", "istft", "source_filter"]
ConvNormName = Literal["weight", "spectral", "none"]
WindowName = Literal["hann", "hamming"]

GENERATOR_KINDS = ("hifigan", "istft", "source_filter")
WINDOWS = ("hann", "hamming")
CONV_NORM_NAMES = ("weight", "spectral", "none")
# Leaky-ReLU slope used throughout HiFi-GAN's generator and discriminators.
LRELU_SLOPE = 0.1
# Layers of one HiFi-GAN scale discriminator (MSD); ``msd_channels`` / ``msd_groups`` hold one entry each.
MSD_LAYERS = 7


def hop_mismatch_message(what: str, hop_length: int, contract_hop: int, fix: str) -> str:
    """One-line error text for a vocoder whose samples-per-frame differ from the mel contract's hop."""
    return f"{what} {hop_length} but the mel contract's hop_length is {contract_hop}; {fix}"


def _positive(name: str, values: tuple[int, ...], allow_empty: bool = False) -> None:
    if not values and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must hold positive integers, got {values!r}")


@dataclass(frozen=True)
class GeneratorConfig:
    """HiFi-GAN generator: log-mel ``(B, n_mels, frames)`` -> waveform ``(B, 1, frames * hop_length)``.

    Args:
        n_mels: mel bands of the input (the mel contract's ``n_mels``).
        upsample_initial_channel: channels after ``conv_pre``; halved by every upsampling stage.
        upsample_rates: factor of each transposed-conv stage; their product (times
            ``istft_hop_length`` with an iSTFT head) is the hop length in samples per mel frame.
        upsample_kernel_sizes: kernel of each stage (HiFi-GAN uses ``2 * rate``); must be >= the rate.
        resblock_kind: 1 (two convs per dilation) or 2 (one conv per dilation) residual stacks.
        resblock_kernel_sizes: one odd kernel per residual stack of the multi-receptive-field block.
        resblock_dilations: the dilations of each of those stacks.
        istft_n_fft: 0 for a conv + tanh waveform head (HiFi-GAN); else the FFT size of an
            iSTFTNet head (e.g. 16), whose magnitude/phase are predicted at the last stage's rate.
        istft_hop_length: hop of that inverse STFT (e.g. 4); must be 1 without one.
    """

    n_mels: int = 80
    upsample_initial_channel: int = 512
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    resblock_kind: Literal[1, 2] = 1
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    istft_n_fft: int = 0
    istft_hop_length: int = 1

    def __post_init__(self) -> None:
        _positive("n_mels", (self.n_mels,))
        _positive("upsample_initial_channel", (self.upsample_initial_channel,))
        _positive("upsample_rates", self.upsample_rates, allow_empty=self.istft_n_fft > 0)
        _positive("upsample_kernel_sizes", self.upsample_kernel_sizes, allow_empty=self.istft_n_fft > 0)
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError(
                f"upsample_rates {self.upsample_rates} and upsample_kernel_sizes {self.upsample_kernel_sizes} "
                "must have the same length"
            )
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if rate < 2 or kernel < rate:
                raise ValueError(f"each upsample rate must be >= 2 and <= its kernel size, got rate {rate}, "
                                 f"kernel {kernel}")
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError(f"upsample_initial_channel {self.upsample_initial_channel} must be divisible by "
                             f"2**{len(self.upsample_rates)} (channels halve at every upsampling stage)")
        if self.resblock_kind not in (1, 2):
            raise ValueError(f"resblock_kind must be 1 or 2, got {self.resblock_kind!r}")
        _positive("resblock_kernel_sizes", self.resblock_kernel_sizes)
        if any(k % 2 == 0 for k in self.resblock_kernel_sizes):
            raise ValueError(f"resblock_kernel_sizes must be odd, got {self.resblock_kernel_sizes}")
        if len(self.resblock_dilations) != len(self.resblock_kernel_sizes):
            raise ValueError(f"need one dilation tuple per resblock kernel size, got {len(self.resblock_dilations)} "
                             f"for {len(self.resblock_kernel_sizes)} kernel sizes")
        for dilations in self.resblock_dilations:
            _positive("resblock_dilations", tuple(dilations))
        if self.istft_n_fft < 0 or self.istft_hop_length < 1:
            raise ValueError(f"istft_n_fft must be >= 0 and istft_hop_length >= 1, got {self.istft_n_fft}, "
                             f"{self.istft_hop_length}")
        if self.istft_n_fft == 0 and self.istft_hop_length != 1:
            raise ValueError(f"istft_hop_length {self.istft_hop_length} needs istft_n_fft > 0 (an iSTFT head)")
        if self.istft_n_fft and self.istft_hop_length > self.istft_n_fft:
            raise ValueError(f"istft_hop_length {self.istft_hop_length} must be <= istft_n_fft {self.istft_n_fft}")

    @property
    def hop_length(self) -> int:
        """Output samples per input mel frame: ``prod(upsample_rates) * istft_hop_length``."""
        return math.prod(self.upsample_rates) * self.istft_hop_length


# The three configurations of the HiFi-GAN paper (Table 1); V1 is the dataclass default.
GENERATOR_PRESETS: Mapping[str, GeneratorConfig] = types.MappingProxyType({
    "v1": GeneratorConfig(),
    "v2": GeneratorConfig(upsample_initial_channel=128),
    "v3": GeneratorConfig(
        upsample_initial_channel=256,
        upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8),
        resblock_kind=2,
        resblock_kernel_sizes=(3, 5, 7),
        resblock_dilations=((1, 2), (2, 6), (3, 12)),
    ),
    # iSTFTNet "C8C8I": V1's first two stages, then a 16-point inverse STFT with hop 4 (8 * 8 * 4 = 256).
    "v1_istft": GeneratorConfig(
        upsample_rates=(8, 8), upsample_kernel_sizes=(16, 16), istft_n_fft=16, istft_hop_length=4
    ),
})


@dataclass(frozen=True)
class ISTFTGeneratorConfig:
    """Frame-rate generator with an inverse-STFT head: ``(B, n_mels, frames) -> (B, 1, frames * hop_length)``.

    Args:
        n_mels: mel bands of the input.
        channels: width of the ConvNeXt stack (all at the mel frame rate).
        intermediate_channels: hidden width of each block's pointwise MLP (ConvNeXt uses 3-4x).
        n_blocks: number of ConvNeXt blocks.
        kernel_size: odd kernel of the depthwise convs (and of the input conv).
        n_fft, hop_length, win_length, window: the inverse STFT; use the mel contract's values so
            each output frame lines up with a mel frame (``frames * hop_length`` samples out).
    """

    n_mels: int = 80
    channels: int = 256
    intermediate_channels: int = 768
    n_blocks: int = 8
    kernel_size: int = 7
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    window: WindowName = "hann"

    def __post_init__(self) -> None:
        for name in ("n_mels", "channels", "intermediate_channels", "n_blocks", "kernel_size", "n_fft",
                     "hop_length", "win_length"):
            _positive(name, (getattr(self, name),))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if not self.hop_length <= self.win_length <= self.n_fft:
            raise ValueError(f"need hop_length <= win_length <= n_fft, got {self.hop_length}, {self.win_length}, "
                             f"{self.n_fft}")
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS}, got {self.window!r}")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The sub-discriminators of a vocoder GAN; an empty/zero entry leaves that family out.

    Args:
        periods: one period discriminator (MPD) per period; ``()`` for none.
        mpd_channels: output channels of the MPD's stride-3 ``(5, 1)`` convs, then of one stride-1 conv.
        msd_scales: number of scale discriminators (MSD): the waveform, then average-pooled 2x, 4x, ...
        msd_channels, msd_groups: one entry per MSD conv layer (7); groups must divide the channels.
        mrd_resolutions: ``(n_fft, hop_length, win_length)`` of each spectrogram discriminator (MRD),
            a 2-D PatchGAN on the log-magnitude STFT; ``()`` for none.
        mrd_channels: first-layer channels of each MRD (doubling per layer, capped at 8x).
        mrd_layers: stride-2 layers of each MRD.
        mrd_conv_norm: "none" or "spectral" norm on the MRD's convs.
        conv_norm: conv norm of MPD and MSD (but the MSD's first scale, which uses spectral norm).
        input_halvings: the discriminators hear the waveform average-pooled this many times (kernel 4,
            stride 2, as between MSD scales), each halving its rate and band: 2 at 16 kHz = its lowest
            2 kHz at a quarter of the cost. 0 = the whole band.
    """

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    mpd_channels: tuple[int, ...] = (32, 128, 512, 1024, 1024)
    msd_scales: int = 3
    msd_channels: tuple[int, ...] = (128, 128, 256, 512, 1024, 1024, 1024)
    msd_groups: tuple[int, ...] = (1, 4, 16, 16, 16, 16, 1)
    mrd_resolutions: tuple[tuple[int, int, int], ...] = ()
    mrd_channels: int = 32
    mrd_layers: int = 3
    mrd_conv_norm: Literal["none", "spectral"] = "none"
    conv_norm: ConvNormName = "weight"
    input_halvings: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.input_halvings, bool) or not isinstance(self.input_halvings, int) or self.input_halvings < 0:
            raise ValueError(f"input_halvings must be an integer >= 0, got {self.input_halvings!r}")
        _positive("periods", self.periods, allow_empty=True)
        _positive("mpd_channels", self.mpd_channels)
        if len(self.mpd_channels) < 2:
            raise ValueError(f"mpd_channels needs at least 2 entries (strided convs, then one stride-1 conv), "
                             f"got {self.mpd_channels}")
        if self.msd_scales < 0:
            raise ValueError(f"msd_scales must be >= 0, got {self.msd_scales}")
        _positive("msd_channels", self.msd_channels)
        _positive("msd_groups", self.msd_groups)
        if len(self.msd_channels) != MSD_LAYERS or len(self.msd_groups) != MSD_LAYERS:
            raise ValueError(f"msd_channels and msd_groups need {MSD_LAYERS} entries each, got "
                             f"{len(self.msd_channels)} and {len(self.msd_groups)}")
        c_in = 1
        for i, (c_out, groups) in enumerate(zip(self.msd_channels, self.msd_groups)):
            if c_in % groups or c_out % groups:
                raise ValueError(f"msd_groups[{i}]={groups} must divide the layer's channels {c_in} -> {c_out}")
            c_in = c_out
        for res in self.mrd_resolutions:
            if len(res) != 3:
                raise ValueError(f"each mrd_resolutions entry must be (n_fft, hop_length, win_length), got {res!r}")
            n_fft, hop, win = res
            if not (hop > 0 and 0 < win <= n_fft):
                raise ValueError(f"mrd resolution {res!r} needs hop_length > 0 and 0 < win_length <= n_fft")
        _positive("mrd_channels", (self.mrd_channels,))
        _positive("mrd_layers", (self.mrd_layers,))
        if self.mrd_conv_norm not in ("none", "spectral"):
            raise ValueError(f"mrd_conv_norm must be 'none' or 'spectral', got {self.mrd_conv_norm!r}")
        if self.conv_norm not in CONV_NORM_NAMES:
            raise ValueError(f"conv_norm must be one of {CONV_NORM_NAMES}, got {self.conv_norm!r}")
        if not self.periods and not self.msd_scales and not self.mrd_resolutions:
            raise ValueError("DiscriminatorConfig selects no discriminator; set periods, msd_scales or "
                             "mrd_resolutions")


DISCRIMINATOR_PRESETS: Mapping[str, DiscriminatorConfig] = types.MappingProxyType({
    # HiFi-GAN's MPD (periods 2, 3, 5, 7, 11) + 3-scale MSD at the paper's widths.
    "paper": DiscriminatorConfig(),
    # CPU training: the same five periods at 1/8 width, no MSD, and three small spectrogram
    # PatchGANs (benchmarks/vocoder_step.py measures the step-time ratio against "paper").
    "cpu": DiscriminatorConfig(
        mpd_channels=(16, 32, 64, 128, 128),
        msd_scales=0,
        mrd_resolutions=((512, 128, 512), (1024, 256, 1024), (256, 64, 256)),
        mrd_channels=16,
        mrd_layers=3,
    ),
})
