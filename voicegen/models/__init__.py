"""voicegen.models

Models compute; training and pipelines live elsewhere (train/, infer/). Models import only
voicegen.nn, voicegen.losses and voicegen.config, never the audio/image front ends.

* ``vocoder``: HiFi-GAN (V1/V2/V3, iSTFTNet head) and iSTFT generators; MPD, MSD and spectrogram
  discriminators.
* ``cyclegan``: the MaskCycleGAN-VC-style mel generator and the image ResNet generator
  (discriminators are ``voicegen.nn.PatchGANDiscriminator``).
* ``vae``: the (speaker-conditioned) spectrogram VAE; with ``latent_layout: global`` the image VAE.
* ``gan``: the image DCGAN generator and discriminator, unconditional or class-conditional.
* ``classifier``: the small digit classifier that scores the image models (accuracy, Fréchet distance).
"""

from voicegen.models.vocoder import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    DiscriminatorConfig,
    GeneratorConfig,
    HiFiGANGenerator,
    ISTFTGenerator,
    ISTFTGeneratorConfig,
    VocoderDiscriminator,
    build_discriminator,
    build_generator,
)

__all__ = [
    "DISCRIMINATOR_PRESETS",
    "GENERATOR_PRESETS",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "HiFiGANGenerator",
    "ISTFTGenerator",
    "ISTFTGeneratorConfig",
    "VocoderDiscriminator",
    "build_discriminator",
    "build_generator",
]
