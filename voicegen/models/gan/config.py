"""Typed configurations of the image GAN (DCGAN, Radford et al. 2016) and its class-conditional variant.

A plain dict (a YAML section or an artifact's JSON, optionally ``{"preset": "mnist", ...}``) becomes a
config with :func:`gan_generator_config` / :func:`gan_discriminator_config`, strictly (unknown keys
are ConfigErrors); bad values raise ``ValueError`` naming the field. ``n_classes > 0`` makes the
model class-conditional (the generator concatenates a learned class embedding to ``z``; the
discriminator adds a projection term, Miyato & Koyama 2018).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from voicegen.config import from_preset

# Each level doubles (generator) or halves (discriminator) the image side.
LEVEL_STRIDE = 2
NORMS = ("batch", "instance", "group", "layer", "none")
CONV_NORMS = ("none", "spectral")


def _check_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}.{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class _ImageGANShape:
    """What the generator and the discriminator of one GAN share (see the subclasses' docs)."""

    image_size: int = 28
    channels: int = 1
    base_channels: int = 16
    n_levels: int = 2
    n_classes: int = 0

    def _check_shape(self, owner: str) -> None:
        for name, minimum in (("image_size", 1), ("base_channels", 1), ("n_levels", 1), ("n_classes", 0)):
            _check_int(owner, name, getattr(self, name), minimum)
        if self.channels not in (1, 3):
            raise ValueError(f"{owner}.channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")
        if self.image_size % LEVEL_STRIDE**self.n_levels:
            raise ValueError(f"{owner}.image_size {self.image_size} is not divisible by 2 ** n_levels = "
                             f"{LEVEL_STRIDE**self.n_levels}; use fewer levels")


@dataclass(frozen=True)
class GANGeneratorConfig(_ImageGANShape):
    """DCGAN generator ``z (B, latent_dim) [+ labels (B,)] -> images (B, channels, image_size, image_size)``.

    Args:
        image_size: side of the square output; divisible by ``2 ** n_levels``.
        channels: 1 (grey) or 3 (RGB).
        base_channels: channels at full resolution, doubled per level towards the start.
        n_levels: 2x transposed-conv upsamplings (the start map is ``image_size / 2 ** n_levels``).
        n_classes: 0 = unconditional DCGAN; > 0 = class-conditional.
        latent_dim: size of ``z ~ N(0, I)``.
        class_dim: size of the learned class embedding concatenated to ``z``.
        norm: norm after the projection and each upsampling (batch norm in DCGAN).
    """

    latent_dim: int = 64
    class_dim: int = 16
    norm: Literal["batch", "instance", "group", "layer", "none"] = "batch"

    def __post_init__(self) -> None:
        self._check_shape("generator")
        _check_int("generator", "latent_dim", self.latent_dim, 1)
        _check_int("generator", "class_dim", self.class_dim, 1)
        if self.norm not in NORMS:
            raise ValueError(f"generator.norm must be one of {', '.join(NORMS)}, got {self.norm!r}")


@dataclass(frozen=True)
class GANDiscriminatorConfig(_ImageGANShape):
    """DCGAN discriminator ``images [+ labels] -> logits (B,)``, optionally with a class projection.

    Args:
        image_size, channels, n_levels: as the generator's (stride-2 convs halve the side).
        base_channels: channels after the first stride-2 conv, doubled per level.
        n_classes: 0 = unconditional; > 0 adds ``<embedding(label), features>`` to the logit.
        norm: norm of the levels after the first.
        conv_norm: ``"spectral"`` wraps every conv and linear layer in spectral norm.
        auxiliary_classifier: (conditional only) also predict the class from the features (AC-GAN,
            Odena et al. 2017); the GAN step then trains it on real images and the generator to
            have its samples classified as the requested class.
    """

    base_channels: int = 64
    norm: Literal["batch", "instance", "group", "layer", "none"] = "none"
    conv_norm: Literal["none", "spectral"] = "none"
    auxiliary_classifier: bool = False

    def __post_init__(self) -> None:
        self._check_shape("discriminator")
        if self.auxiliary_classifier and not self.n_classes:
            raise ValueError("discriminator.auxiliary_classifier needs n_classes > 0 (a conditional GAN)")
        if self.norm not in NORMS:
            raise ValueError(f"discriminator.norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if self.conv_norm not in CONV_NORMS:
            raise ValueError(f"discriminator.conv_norm must be none or spectral, got {self.conv_norm!r}")


GENERATOR_PRESETS: Mapping[str, GANGeneratorConfig] = types.MappingProxyType({
    # 28 x 28 grey digits: 64 channels at 7 x 7, 32 at 14 x 14, 16 at 28 x 28 (about 0.3 M parameters).
    "mnist": GANGeneratorConfig(),
    # The DCGAN paper's 64 x 64 RGB layout (1024 -> 512 -> 256 -> 128 channels), for GPUs.
    "dcgan64": GANGeneratorConfig(image_size=64, channels=3, latent_dim=100, base_channels=64, n_levels=4),
})


def gan_generator_config(config: Mapping[str, Any] | GANGeneratorConfig, *,
                         source: str = "generator") -> GANGeneratorConfig:
    """The typed generator config of a plain dict (``{"preset": "mnist", "n_classes": 10}`` allowed)."""
    return from_preset(GANGeneratorConfig, config, GENERATOR_PRESETS, "generator", source=source)


DISCRIMINATOR_PRESETS: Mapping[str, GANDiscriminatorConfig] = types.MappingProxyType({
    "mnist": GANDiscriminatorConfig(),
    "dcgan64": GANDiscriminatorConfig(image_size=64, channels=3, base_channels=64, n_levels=4),
})


def gan_discriminator_config(config: Mapping[str, Any] | GANDiscriminatorConfig, *,
                             source: str = "discriminator") -> GANDiscriminatorConfig:
    """The typed discriminator config of a plain dict (presets allowed)."""
    return from_preset(GANDiscriminatorConfig, config, DISCRIMINATOR_PRESETS, "discriminator", source=source)
