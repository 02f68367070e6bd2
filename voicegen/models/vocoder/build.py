"""Build vocoder models from plain dicts (a YAML section or an artifact's JSON), strictly.

``build_generator("hifigan", {...})`` fills :class:`GeneratorConfig` (or a preset name under
``"preset"``), ``build_generator("istft", {...})`` an :class:`ISTFTGeneratorConfig`,
``build_generator("source_filter", {...})`` a :class:`SourceFilterGeneratorConfig`; unknown keys
and badly typed values are one-line :class:`~voicegen.errors.ConfigError`s naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from voicegen.config import from_dict, from_preset
from voicegen.errors import ConfigError
from voicegen.models.vocoder.config import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_KINDS,
    GENERATOR_PRESETS,
    DiscriminatorConfig,
    GeneratorConfig,
    GeneratorKind,
    ISTFTGeneratorConfig,
)
from voicegen.models.vocoder.discriminators import VocoderDiscriminator
from voicegen.models.vocoder.generator import HiFiGANGenerator
from voicegen.models.vocoder.istft_generator import ISTFTGenerator
from voicegen.models.vocoder.source_filter import (
    SourceFilterGenerator,
    SourceFilterGeneratorConfig,
)

Generator = Union[HiFiGANGenerator, ISTFTGenerator, SourceFilterGenerator]


def generator_config(
    kind: GeneratorKind, config: Mapping[str, Any], *, source: str = "<dict>"
) -> Union[GeneratorConfig, ISTFTGeneratorConfig, SourceFilterGeneratorConfig]:
    """The typed config of a ``kind`` generator from ``config`` (``{"preset": "v3", ...}`` allowed for hifigan)."""
    if kind == "hifigan":
        return from_preset(GeneratorConfig, config, GENERATOR_PRESETS, "generator", source=source)
    if kind == "istft":
        return from_dict(ISTFTGeneratorConfig, config, source=source)
    if kind == "source_filter":
        return from_dict(SourceFilterGeneratorConfig, config, source=source)
    raise ConfigError(f"{source}: unknown generator kind {kind!r}; choose one of: {', '.join(GENERATOR_KINDS)}")


def build_generator(kind: GeneratorKind, config: Mapping[str, Any], *, source: str = "<dict>") -> Generator:
    """A fresh ``kind`` generator (``"hifigan"`` or ``"istft"``) from a plain config dict."""
    typed = generator_config(kind, config, source=source)
    if isinstance(typed, GeneratorConfig):
        return HiFiGANGenerator(typed)
    if isinstance(typed, SourceFilterGeneratorConfig):
        return SourceFilterGenerator(typed)
    return ISTFTGenerator(typed)


def generator_kind(generator: Generator) -> GeneratorKind:
    """The ``kind`` string :func:`build_generator` needs to rebuild ``generator`` (for artifacts)."""
    if isinstance(generator, SourceFilterGenerator):
        return "source_filter"
    return "istft" if isinstance(generator, ISTFTGenerator) else "hifigan"


def build_discriminator(config: Mapping[str, Any], *, source: str = "<dict>") -> VocoderDiscriminator:
    """A fresh :class:`VocoderDiscriminator` from a plain dict (``{"preset": "cpu", ...}`` allowed)."""
    return VocoderDiscriminator(from_preset(DiscriminatorConfig, config, DISCRIMINATOR_PRESETS, "discriminator",
                                            source=source))
