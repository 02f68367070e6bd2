"""Build CycleGAN models from plain dicts (a YAML section or an artifact's JSON), strictly.

``build_generator({"preset": "cpu"})`` -> :class:`MelCycleGANGenerator`;
``build_resnet_generator({...})`` -> :class:`ResnetGenerator`;
``build_discriminator({"preset": "cpu"})`` -> a 2-D :class:`~voicegen.nn.PatchGANDiscriminator`.
Unknown keys and bad values are one-line :class:`~voicegen.errors.ConfigError`s naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voicegen.models.cyclegan.config import (
    CycleGANDiscriminatorConfig,
    CycleGANGeneratorConfig,
    ResnetGeneratorConfig,
    discriminator_config,
    generator_config,
    resnet_generator_config,
)
from voicegen.models.cyclegan.generator import MelCycleGANGenerator
from voicegen.models.cyclegan.resnet_generator import ResnetGenerator
from voicegen.nn import PatchGANDiscriminator

PATCHGAN_DIMS = 2


def build_generator(config: Mapping[str, Any] | CycleGANGeneratorConfig, *,
                    source: str = "generator") -> MelCycleGANGenerator:
    """A fresh mel generator from a plain dict or a :class:`CycleGANGeneratorConfig`."""
    return MelCycleGANGenerator(generator_config(config, source=source))


def build_resnet_generator(config: Mapping[str, Any] | ResnetGeneratorConfig, *,
                           source: str = "generator") -> ResnetGenerator:
    """A fresh image ResNet generator from a plain dict or a :class:`ResnetGeneratorConfig`."""
    return ResnetGenerator(resnet_generator_config(config, source=source))


def build_discriminator(config: Mapping[str, Any] | CycleGANDiscriminatorConfig, *,
                        source: str = "discriminator") -> PatchGANDiscriminator:
    """A fresh 2-D PatchGAN ``(B, in_channels, H, W) -> (B, 1, h, w)`` logits."""
    c = discriminator_config(config, source=source)
    return PatchGANDiscriminator(PATCHGAN_DIMS, c.in_channels, base_channels=c.base_channels, n_layers=c.n_layers,
                                 max_channels=c.max_channels, kernel_size=c.kernel_size, norm=c.norm,
                                 conv_norm=c.conv_norm)
