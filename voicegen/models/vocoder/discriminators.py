"""Waveform discriminators of HiFi-GAN (multi-period, multi-scale) and a multi-resolution spectrogram one.

One API for all of them (and for :class:`VocoderDiscriminator`, which combines them): call it on
ONE batch of waveforms, ``(B, 1, T)`` or ``(B, T)``, and get ``(logits, features)``:

* ``logits``: one ``(B, n_i)`` tensor per sub-discriminator (its output map, flattened);
* ``features``: per sub-discriminator, the list of its hidden activations (after each leaky ReLU),
  for feature matching.

Call it once on real and once on generated audio; the lists line up one-to-one, as
``voicegen.losses.adversarial_d_loss`` / ``adversarial_g_loss`` / ``feature_matching_loss`` expect.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.models.vocoder.config import LRELU_SLOPE, DiscriminatorConfig
from voicegen.nn import ConvNorm, PatchGANDiscriminator, conv

Output = tuple[list[torch.Tensor], list[list[torch.Tensor]]]

# Period discriminator: (5, 1) kernels with stride (3, 1) along time, then a (3, 1) output conv.
MPD_KERNEL = 5
MPD_STRIDE = 3
POST_KERNEL = 3
# Scale discriminator layers: kernel and stride of each conv (channels and groups are configurable).
MSD_KERNELS = (15, 41, 41, 41, 41, 41, 5)
MSD_STRIDES = (1, 2, 2, 4, 4, 1, 1)
# Average pooling between scales (kernel 4, stride 2, padding 2): each scale halves the rate.
MSD_POOL_KERNEL, MSD_POOL_STRIDE, MSD_POOL_PADDING = 4, 2, 2
MSD_FIRST_SCALE_NORM = "spectral"
# Spectrogram discriminator: PatchGAN widths cap at this multiple of the first layer's channels.
MRD_MAX_CHANNEL_FACTOR = 8
# Floor on |STFT|^2 before the log, so silent bins give finite inputs.
MRD_POWER_FLOOR = 1e-7


def _as_signal(wav: torch.Tensor, where: str) -> torch.Tensor:
    """``(B, T)`` or ``(B, 1, T)`` -> ``(B, 1, T)``."""
    if wav.dim() == 2:
        return wav.unsqueeze(1)
    if wav.dim() != 3 or wav.shape[1] != 1:
        raise ValueError(f"{where}: expected a waveform (B, 1, T) or (B, T), got shape {tuple(wav.shape)}")
    return wav


class PeriodDiscriminator(nn.Module):
    """Judges every ``period``-th sample: ``(B, 1, T)`` is reflect-padded to a multiple of the period,
    folded to a 2-D ``(B, 1, ceil(T / p), p)`` map and run through ``(5, 1)`` convs (stride 3 along
    time, then one stride-1 conv), so each column is a strided sub-signal. Needs ``T > period``.
    """

    def __init__(self, period: int, channels: Sequence[int], conv_norm: ConvNorm = "weight") -> None:
        super().__init__()
        self.period = period
        convs, c_in = [], 1
        for i, c_out in enumerate(channels):
            stride = MPD_STRIDE if i < len(channels) - 1 else 1
            convs.append(conv(2, c_in, c_out, (MPD_KERNEL, 1), stride=(stride, 1), norm=conv_norm))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.conv_post = conv(2, c_in, 1, (POST_KERNEL, 1), norm=conv_norm)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(B, 1, T) -> (logits (B, n), features)``."""
        batch, _, length = wav.shape
        if length % self.period:
            extra = self.period - length % self.period
            if length <= extra:
                raise ValueError(f"PeriodDiscriminator(period={self.period}): {length} samples are too short")
            wav = F.pad(wav, (0, extra), mode="reflect")
            length += extra
        x = wav.reshape(batch, 1, length // self.period, self.period)
        features = []
        for layer in self.convs:
            x = F.leaky_relu(layer(x), LRELU_SLOPE)
            features.append(x)
        return self.conv_post(x).flatten(1), features


class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN's MPD: one :class:`PeriodDiscriminator` per period (primes avoid overlapping periods)."""

    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        channels: Sequence[int] = (32, 128, 512, 1024, 1024),
        conv_norm: ConvNorm = "weight",
    ) -> None:
        super().__init__()
        if not periods:
            raise ValueError("MultiPeriodDiscriminator: periods must not be empty, e.g. (2, 3, 5, 7, 11)")
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels, conv_norm) for p in periods)

    @property
    def names(self) -> list[str]:
        return [f"mpd_p{d.period}" for d in self.discriminators]

    def forward(self, wav: torch.Tensor) -> Output:
        """``(B, 1, T)`` or ``(B, T)`` -> one ``(B, n_i)`` logit tensor and one feature list per period."""
        wav = _as_signal(wav, "MultiPeriodDiscriminator")
        outputs = [d(wav) for d in self.discriminators]
        return [o[0] for o in outputs], [o[1] for o in outputs]


class ScaleDiscriminator(nn.Module):
    """HiFi-GAN's scale discriminator: seven strided, grouped 1-D convs (total stride 64) and a
    kernel-3 output conv; ``(B, 1, T) -> (logits (B, ~T / 64), features)``.
    """

    def __init__(self, channels: Sequence[int], groups: Sequence[int], conv_norm: ConvNorm = "weight") -> None:
        super().__init__()
        if not len(channels) == len(groups) == len(MSD_KERNELS):
            raise ValueError(f"ScaleDiscriminator: need {len(MSD_KERNELS)} channels and groups, "
                             f"got {len(channels)} and {len(groups)}")
        convs, c_in = [], 1
        for c_out, g, k, s in zip(channels, groups, MSD_KERNELS, MSD_STRIDES):
            convs.append(conv(1, c_in, c_out, k, stride=s, groups=g, norm=conv_norm))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.conv_post = conv(1, c_in, 1, POST_KERNEL, norm=conv_norm)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, features = wav, []
        for layer in self.convs:
            x = F.leaky_relu(layer(x), LRELU_SLOPE)
            features.append(x)
        return self.conv_post(x).flatten(1), features


class MultiScaleDiscriminator(nn.Module):
    """HiFi-GAN's MSD: ``scales`` scale discriminators on the waveform, then on it average-pooled
    2x, 4x, ... The first (raw-waveform) one uses spectral norm for stability, the others ``conv_norm``.
    """

    def __init__(
        self,
        scales: int = 3,
        channels: Sequence[int] = (128, 128, 256, 512, 1024, 1024, 1024),
        groups: Sequence[int] = (1, 4, 16, 16, 16, 16, 1),
        conv_norm: ConvNorm = "weight",
    ) -> None:
        super().__init__()
        if scales < 1:
            raise ValueError(f"MultiScaleDiscriminator: scales must be >= 1, got {scales}")
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(channels, groups, MSD_FIRST_SCALE_NORM if i == 0 else conv_norm) for i in range(scales)
        )
        self.pool = nn.AvgPool1d(MSD_POOL_KERNEL, MSD_POOL_STRIDE, padding=MSD_POOL_PADDING)

    @property
    def names(self) -> list[str]:
        return [f"msd_s{i}" for i in range(len(self.discriminators))]

    def forward(self, wav: torch.Tensor) -> Output:
        """``(B, 1, T)`` or ``(B, T)`` -> one ``(B, n_i)`` logit tensor and one feature list per scale."""
        x = _as_signal(wav, "MultiScaleDiscriminator")
        logits, features = [], []
        for i, d in enumerate(self.discriminators):
            if i:
                x = self.pool(x)
            out, feats = d(x)
            logits.append(out)
            features.append(feats)
        return logits, features


class SpectrogramDiscriminator(nn.Module):
    """A 2-D PatchGAN on the log-magnitude STFT ``(B, 1, n_fft // 2 + 1, frames)`` of ``(B, 1, T)``.

    Hann window, centred frames; ``log |X|`` with ``|X|^2`` floored at 1e-7. No norm layers (the
    batch statistics of real and fake would leak), optional spectral norm on the convs.
    """

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int,
        channels: int = 32,
        n_layers: int = 3,
        conv_norm: str = "none",
    ) -> None:
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.patchgan = PatchGANDiscriminator(
            2, 1, channels, n_layers, MRD_MAX_CHANNEL_FACTOR * channels, norm="none", conv_norm=conv_norm,
            return_features=True, negative_slope=LRELU_SLOPE,
        )
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        with torch.autocast(device_type=wav.device.type, enabled=False):
            spec = torch.stft(
                wav[:, 0].float(), self.n_fft, self.hop_length, self.win_length, self.window.float(), center=True,
                return_complex=True,
            )
            log_mag = 0.5 * (spec.real.square() + spec.imag.square()).clamp_min(MRD_POWER_FLOOR).log()
        logits, features = self.patchgan(log_mag.unsqueeze(1))
        return logits.flatten(1), features


class MultiResolutionSpectrogramDiscriminator(nn.Module):
    """One :class:`SpectrogramDiscriminator` per ``(n_fft, hop_length, win_length)`` resolution."""

    def __init__(
        self,
        resolutions: Sequence[Sequence[int]] = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256)),
        channels: int = 32,
        n_layers: int = 3,
        conv_norm: str = "none",
    ) -> None:
        super().__init__()
        if not resolutions:
            raise ValueError("MultiResolutionSpectrogramDiscriminator: resolutions must not be empty")
        self.discriminators = nn.ModuleList(
            SpectrogramDiscriminator(int(n), int(h), int(w), channels, n_layers, conv_norm) for n, h, w in resolutions
        )

    @property
    def names(self) -> list[str]:
        return [f"mrd_{d.n_fft}" for d in self.discriminators]

    def forward(self, wav: torch.Tensor) -> Output:
        """``(B, 1, T)`` or ``(B, T)`` -> one ``(B, n_i)`` logit tensor and one feature list per resolution."""
        wav = _as_signal(wav, "MultiResolutionSpectrogramDiscriminator")
        outputs = [d(wav) for d in self.discriminators]
        return [o[0] for o in outputs], [o[1] for o in outputs]


class VocoderDiscriminator(nn.Module):
    """The discriminators a :class:`DiscriminatorConfig` selects (MPD, MSD, MRD, in that order), as one.

    ``forward(wav)`` returns the concatenated ``(logits, features)`` lists of its families; ``names``
    labels each entry (e.g. ``"mpd_p2"``, ``"msd_s0"``, ``"mrd_512"``) for per-discriminator logging.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        families: dict[str, nn.Module] = {}
        if config.periods:
            families["mpd"] = MultiPeriodDiscriminator(config.periods, config.mpd_channels, config.conv_norm)
        if config.msd_scales:
            families["msd"] = MultiScaleDiscriminator(
                config.msd_scales, config.msd_channels, config.msd_groups, config.conv_norm
            )
        if config.mrd_resolutions:
            families["mrd"] = MultiResolutionSpectrogramDiscriminator(
                config.mrd_resolutions, config.mrd_channels, config.mrd_layers, config.mrd_conv_norm
            )
        self.families = nn.ModuleDict(families)
        self.pool = nn.AvgPool1d(MSD_POOL_KERNEL, MSD_POOL_STRIDE, padding=MSD_POOL_PADDING)

    @property
    def names(self) -> list[str]:
        return [name for family in self.families.values() for name in family.names]

    def forward(self, wav: torch.Tensor) -> Output:
        """``(B, 1, T)`` or ``(B, T)`` -> ``([(B, n_i)] * len(names), [[features] * len(names)])``."""
        wav = _as_signal(wav, "VocoderDiscriminator")
        for _ in range(self.config.input_halvings):
            wav = self.pool(wav)
        logits: list[torch.Tensor] = []
        features: list[list[torch.Tensor]] = []
        for family in self.families.values():
            out, feats = family(wav)
            logits.extend(out)
            features.extend(feats)
        return logits, features
