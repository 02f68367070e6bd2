"""voicegen.models.vocoder

Mel-to-waveform GAN vocoders and their discriminators:

* :class:`HiFiGANGenerator` (presets ``v1``/``v2``/``v3`` of the HiFi-GAN paper, and ``v1_istft``,
  an iSTFTNet head) and :class:`ISTFTGenerator` (frame-rate ConvNeXt + inverse STFT, fast on a CPU).
  Both map ``(B, n_mels, frames) -> (B, 1, frames * hop_length)`` and refuse a mel contract with a
  different hop (``validate_hop``).
* :class:`SourceFilterGenerator`: pitch-true; a harmonic source at the given F0 through a learnt
  minimum-phase filter plus a learnt residual, ``(B, n_mels + 3, frames)`` (mel, lf0, vuv, phase).
* :class:`MultiPeriodDiscriminator`, :class:`MultiScaleDiscriminator`,
  :class:`MultiResolutionSpectrogramDiscriminator` and their combination :class:`VocoderDiscriminator`
  (presets ``paper`` and ``cpu``), all returning ``(logits, features)`` lists for one waveform batch.

The mel transform is never built here: callers pass it to the losses.
"""

from voicegen.models.vocoder.build import (
    Generator,
    build_discriminator,
    build_generator,
    generator_config,
    generator_kind,
)
from voicegen.models.vocoder.config import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    DiscriminatorConfig,
    GeneratorConfig,
    GeneratorKind,
    ISTFTGeneratorConfig,
)
from voicegen.models.vocoder.convnext import ConvNeXtBlock
from voicegen.models.vocoder.discriminators import (
    MultiPeriodDiscriminator,
    MultiResolutionSpectrogramDiscriminator,
    MultiScaleDiscriminator,
    PeriodDiscriminator,
    ScaleDiscriminator,
    SpectrogramDiscriminator,
    VocoderDiscriminator,
)
from voicegen.models.vocoder.generator import HiFiGANGenerator
from voicegen.models.vocoder.istft import ISTFTHead, overlap_add_istft, padded_window
from voicegen.models.vocoder.istft_generator import ISTFTGenerator
from voicegen.models.vocoder.source_filter import (
    SourceFilterGenerator,
    SourceFilterGeneratorConfig,
    frame_phase,
    harmonic_excitation,
)

__all__ = [
    "DISCRIMINATOR_PRESETS",
    "GENERATOR_PRESETS",
    "ConvNeXtBlock",
    "DiscriminatorConfig",
    "Generator",
    "GeneratorConfig",
    "GeneratorKind",
    "HiFiGANGenerator",
    "ISTFTGenerator",
    "ISTFTGeneratorConfig",
    "ISTFTHead",
    "MultiPeriodDiscriminator",
    "MultiResolutionSpectrogramDiscriminator",
    "MultiScaleDiscriminator",
    "PeriodDiscriminator",
    "ScaleDiscriminator",
    "SourceFilterGenerator",
    "SourceFilterGeneratorConfig",
    "SpectrogramDiscriminator",
    "VocoderDiscriminator",
    "build_discriminator",
    "build_generator",
    "frame_phase",
    "generator_config",
    "generator_kind",
    "harmonic_excitation",
    "overlap_add_istft",
    "padded_window",
]
