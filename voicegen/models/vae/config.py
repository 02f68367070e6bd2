"""Typed configuration of the spectrogram VAE, with named presets ``cpu`` and ``large``.

A plain dict (a YAML section or an artifact's JSON, optionally ``{"preset": "cpu", ...}``) becomes a
:class:`VAEConfig` with :func:`vae_config`, strictly (unknown keys are ConfigErrors). Bad values
raise ``ValueError`` naming the field.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from voicegen.config import from_preset

# Each encoder level halves the mel axis and the frame axis once.
LEVEL_STRIDE = 2
NORMS = ("none", "group", "instance", "batch", "layer")
LATENT_LAYOUTS = ("frames", "global")


@dataclass(frozen=True)
class VAEConfig:
    """Convolutional VAE on normalised log-mels ``(B, 1, n_mels, frames)`` or images; see ``model.py``.

    Args:
        n_mels: input height: mel bands (image rows for images); divisible by the total stride
            ``2 ** len(channels)``.
        channels: channels of the encoder levels (one stride-2 level each; the decoder mirrors them).
        latent_channels: latent dimensions per latent frame (``z`` of ``(B, z, frames / stride)``),
            or of the one latent vector per input with ``latent_layout="global"``.
        n_residual: 2-D residual blocks after each encoder level and before each decoder level.
        kernel_size: odd square kernel of the 2-D convs.
        norm: norm of the hidden convs (``group`` by default: independent of batch size and keeps
            a per-clip offset, unlike instance norm).
        n_speakers: speakers the decoder is conditioned on (0 = unconditional).
        speaker_dim: size of the learned speaker embedding (each decoder level adds a learned
            linear projection of it as a per-channel bias).
        in_channels: channels of the input and output (1 for mels; 1 or 3 for images).
        latent_layout: ``"frames"``: one latent vector per latent frame, any input width (mels);
            ``"global"``: one latent vector ``(B, z)`` per input of fixed ``width`` (images).
        width: input width for ``latent_layout="global"`` (divisible by the total stride); 0 for
            ``"frames"``.
    """

    n_mels: int = 80
    channels: tuple[int, ...] = (32, 64)
    latent_channels: int = 16
    n_residual: int = 1
    kernel_size: int = 3
    norm: Literal["none", "group", "instance", "batch", "layer"] = "group"
    n_speakers: int = 0
    speaker_dim: int = 64
    in_channels: int = 1
    latent_layout: Literal["frames", "global"] = "frames"
    width: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        for name in ("n_mels", "latent_channels", "speaker_dim", "in_channels"):
            _check_int(name, getattr(self, name), 1)
        for name in ("n_residual", "n_speakers"):
            _check_int(name, getattr(self, name), 0)
        if not self.channels:
            raise ValueError("vae.channels must list at least one encoder level, e.g. [32, 64]")
        for value in self.channels:
            _check_int("channels", value, 1)
        if isinstance(self.kernel_size, bool) or not isinstance(self.kernel_size, int) or self.kernel_size < 1 \
                or self.kernel_size % 2 == 0:
            raise ValueError(f"vae.kernel_size must be an odd positive integer, got {self.kernel_size!r}")
        if self.norm not in NORMS:
            raise ValueError(f"vae.norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if self.n_mels % self.stride:
            raise ValueError(f"vae.n_mels {self.n_mels} is not divisible by the total stride {self.stride} "
                             f"({len(self.channels)} stride-2 levels); use fewer levels or e.g. n_mels 80")
        if self.latent_layout not in LATENT_LAYOUTS:
            raise ValueError(f"vae.latent_layout must be one of {', '.join(LATENT_LAYOUTS)}, "
                             f"got {self.latent_layout!r}")
        if self.latent_layout == "global":
            _check_int("width", self.width, 1)
            if self.width % self.stride:
                raise ValueError(f"vae.width {self.width} is not divisible by the total stride {self.stride}")
        elif self.width != 0:
            raise ValueError(f"vae.width is {self.width!r} but only latent_layout 'global' has a fixed width; "
                             "remove it or set latent_layout: global")

    @property
    def stride(self) -> int:
        """Total downsampling of the mel and frame axes (one latent frame per ``stride`` mel frames)."""
        return LEVEL_STRIDE ** len(self.channels)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"vae.{name} must be an integer >= {minimum}, got {value!r}")


VAE_PRESETS: Mapping[str, VAEConfig] = types.MappingProxyType({
    # CPU training: two levels (stride 4: 20 bands x F/4 frames at the bottom), 16 latents per
    # latent frame (64 ms at 16 kHz / hop 256), 0.43 M parameters with two speakers.
    "cpu": VAEConfig(),
    # A GPU-sized model: three levels (stride 8), wider, two residual blocks per level (7.8 M parameters).
    "large": VAEConfig(channels=(64, 128, 256), latent_channels=32, n_residual=2, speaker_dim=128),
    # Grey 28 x 28 images (MNIST): one 16-d latent vector per image, two levels down to 7 x 7.
    "image28": VAEConfig(n_mels=28, width=28, channels=(32, 64), latent_channels=16, n_residual=0,
                         latent_layout="global"),
})


def vae_config(config: Mapping[str, Any] | VAEConfig, *, source: str = "model") -> VAEConfig:
    """The typed VAE config of a plain dict (``{"preset": "cpu", "latent_channels": 8}`` allowed)."""
    return from_preset(VAEConfig, config, VAE_PRESETS, "VAE", source=source)
