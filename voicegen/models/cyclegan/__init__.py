"""voicegen.models.cyclegan

CycleGAN generators and discriminators (the training step lives in ``voicegen.train.cyclegan_task``):

* :class:`MelCycleGANGenerator` — MaskCycleGAN-VC's masked 2-1-2D mel generator
  ``(B, n_mels, F), mask -> (B, n_mels, F)``; presets ``paper`` and ``cpu``.
* :class:`ResnetGenerator` — the image CycleGAN ResNet generator ``(B, C, H, W) -> (B, C, H, W)``.
* discriminators are 2-D PatchGANs from ``voicegen.nn`` (presets ``paper``, ``cpu``, ``image``).
"""

from voicegen.models.cyclegan.build import (
    build_discriminator,
    build_generator,
    build_resnet_generator,
)
from voicegen.models.cyclegan.config import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    MEL_GENERATOR_STRIDE,
    RESNET_GENERATOR_PRESETS,
    CycleGANDiscriminatorConfig,
    CycleGANGeneratorConfig,
    ResnetGeneratorConfig,
    discriminator_config,
    generator_config,
    resnet_generator_config,
)
from voicegen.models.cyclegan.generator import MIN_FRAMES, MelCycleGANGenerator
from voicegen.models.cyclegan.resnet_generator import ResnetGenerator

__all__ = [
    "DISCRIMINATOR_PRESETS",
    "GENERATOR_PRESETS",
    "MEL_GENERATOR_STRIDE",
    "MIN_FRAMES",
    "RESNET_GENERATOR_PRESETS",
    "CycleGANDiscriminatorConfig",
    "CycleGANGeneratorConfig",
    "MelCycleGANGenerator",
    "ResnetGenerator",
    "ResnetGeneratorConfig",
    "build_discriminator",
    "build_generator",
    "build_resnet_generator",
    "discriminator_config",
    "generator_config",
    "resnet_generator_config",
]
