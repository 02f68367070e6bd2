"""voicegen.models.gan

Image GANs built from ``voicegen.nn`` blocks: the DCGAN generator and discriminator, unconditional
(``n_classes: 0``) or class-conditional (``n_classes > 0``; the training step lives in
``voicegen.train.image.gan``).

    generator = build_gan_generator({"preset": "mnist", "n_classes": 10})
    images = generator(torch.randn(16, 64), labels)          # (16, 1, 28, 28) in [-1, 1]
"""

from collections.abc import Mapping
from typing import Any

from voicegen.models.gan.config import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    GANDiscriminatorConfig,
    GANGeneratorConfig,
    gan_discriminator_config,
    gan_generator_config,
)
from voicegen.models.gan.networks import GANDiscriminator, GANGenerator


def build_gan_generator(config: Mapping[str, Any] | GANGeneratorConfig, *, source: str = "generator") -> GANGenerator:
    """A fresh :class:`GANGenerator` from a plain dict (presets allowed) or a :class:`GANGeneratorConfig`."""
    return GANGenerator(gan_generator_config(config, source=source))


def build_gan_discriminator(config: Mapping[str, Any] | GANDiscriminatorConfig, *,
                            source: str = "discriminator") -> GANDiscriminator:
    """A fresh :class:`GANDiscriminator` from a plain dict (presets allowed) or a config."""
    return GANDiscriminator(gan_discriminator_config(config, source=source))


__all__ = [
    "DISCRIMINATOR_PRESETS",
    "GENERATOR_PRESETS",
    "GANDiscriminator",
    "GANDiscriminatorConfig",
    "GANGenerator",
    "GANGeneratorConfig",
    "build_gan_discriminator",
    "build_gan_generator",
    "gan_discriminator_config",
    "gan_generator_config",
]
