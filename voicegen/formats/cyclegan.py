"""The ``cyclegan`` artifact: a two-speaker converter (MaskCycleGAN-VC generators A->B and B->A).

Folder layout (written by :func:`save_cyclegan`, read by :func:`load_cyclegan_parts`), on top of
:mod:`voicegen.checkpoint`'s artifact layout:

``weights.safetensors``
    modules ``G_ab`` (A -> B) and ``G_ba`` (B -> A): their state dicts (float16 by default;
    loaded as float32).
``artifact.json``
    * ``kind``: ``"cyclegan"``; ``format_version``, ``voicegen_version``, ``created``, ``modules``
      (``["G_ab", "G_ba"]``), ``dtype``, ``weights_sha256``, ``tensors``: as for every artifact.
    * ``config.generator``: :class:`voicegen.models.cyclegan.CycleGANGeneratorConfig` fields.
    * ``mel``: the mel contract (:class:`voicegen.audio.contract.FeatureConfig` fields); the
      generators' ``n_mels`` equals its ``n_mels``.
    * ``speakers``: ``[A, B]``, two different names.
    * ``stats``: ``{A: ..., B: ...}``, :class:`voicegen.audio.stats.SpeakerStats` fields (per-band
      log-mel mean/std the generators were trained with; log-F0 mean/std for the F0 transform),
      computed with the same mel contract.
    * ``extra``: null from training; a bundle adds ``name`` and may add ``vocoder`` (the name of an
      installed vocoder bundle used instead of a ``vocoder/`` subfolder; see
      :mod:`voicegen.infer.bundles`) and ``postfilter`` (:class:`PostFilterSpec`): ``{"model": NAME,
      "speakers": {TARGET: VAE_SPEAKER}}``, an installed ``vae`` bundle that re-projects each
      converted mel of a listed target speaker (encoded, decoded as that VAE speaker; see
      :mod:`voicegen.infer.postfilter`), and ``frame_bank`` (with ``frames.safetensors``: the target
      speakers' own frames each conversion is re-drawn from; :mod:`voicegen.formats.framebank`).

Version history: format 1 throughout; from voicegen 0.2.0 the log-F0 statistics are tracked with
WORLD DIO (the pitch-conditioned vocoders' tracker) rather than YIN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicegen.errors import ArtifactError, ConfigError

if TYPE_CHECKING:  # torch-side types, imported lazily at run time
    import torch
    from torch import nn

    from voicegen.audio.contract import FeatureConfig
    from voicegen.audio.stats import SpeakerStats
    from voicegen.models.cyclegan import CycleGANGeneratorConfig

KIND = "cyclegan"
"""Artifact kind of a two-speaker converter."""
GENERATOR_MODULES: tuple[str, str] = ("G_ab", "G_ba")
TIME_STRIDE = 4
"""The generators downsample time by this factor: they pad a mel's frames to a multiple of it
(replicate padding) and crop back; their ONNX graphs take only such frame counts."""
MIN_FRAMES = 2 * TIME_STRIDE
"""Frames the generators pad short inputs to (instance norm needs two positions per channel)."""


@dataclass(frozen=True)
class PostFilterSpec:
    """``extra.postfilter`` of a converter bundle: the installed VAE bundle ``model`` and, per target
    speaker of the converter, the VAE speaker its converted mels are decoded as."""

    model: str
    speakers: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "speakers": dict(self.speakers)}


def parse_postfilter(extra: Any, speakers: tuple[str, ...], root: Path) -> PostFilterSpec | None:
    """The checked ``extra.postfilter`` of a converter with ``speakers`` (None when absent); one-line
    ArtifactError naming ``root`` when it is malformed."""
    value = extra.get("postfilter") if isinstance(extra, dict) else None
    if value is None:
        return None
    model = value.get("model") if isinstance(value, dict) else None
    mapping = value.get("speakers") if isinstance(value, dict) else None
    if (not isinstance(model, str) or not model or not isinstance(mapping, dict) or not mapping
            or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items())):
        raise ArtifactError(f"{root}: extra.postfilter must be {{\"model\": NAME, \"speakers\": {{TARGET: "
                            f"VAE_SPEAKER}}}}, got {value!r}; re-bundle with `voicegen bundle --postfilter`")
    check_targets("postfilter", mapping, speakers, root)
    return PostFilterSpec(model=model, speakers=dict(mapping))


def check_targets(field: str, names: Any, speakers: tuple[str, ...], root: Path, option: str = "") -> None:
    """One-line ArtifactError naming ``root`` unless every target in ``names`` is one of the converter's
    ``speakers`` (``extra.<field>`` of a bundle; ``option``: the ``voicegen bundle`` option that re-makes it)."""
    unknown = sorted(name for name in names if name not in speakers)
    if unknown:
        raise ArtifactError(f"{root}: extra.{field} names target(s) {', '.join(unknown)} that this converter does "
                            f"not have (speakers: {', '.join(speakers)}); re-bundle with `voicegen bundle{option}`")


@dataclass(frozen=True)
class CycleGANMeta:
    """What ``artifact.json`` says about a converter (checked; no weights read, no torch)."""

    speakers: tuple[str, str]
    stats: dict[str, SpeakerStats]
    feature_config: FeatureConfig
    artifact: dict
    """The whole ``artifact.json`` (empty when parsed from a loaded artifact)."""


def read_cyclegan_meta(path: str | os.PathLike) -> CycleGANMeta:
    """The checked metadata of the ``cyclegan`` artifact at ``path`` (JSON only; torch-free)."""
    from voicegen.artifact_meta import read_kind_meta

    root = Path(path)
    meta = read_kind_meta(root, KIND)
    parsed = parse_cyclegan_meta(meta.get("speakers"), meta.get("mel"), meta.get("stats"), meta.get("config"), root)
    return CycleGANMeta(parsed.speakers, parsed.stats, parsed.feature_config, meta)


def parse_cyclegan_meta(speakers: Any, mel: Any, stats: Any, config: Any, root: Path) -> CycleGANMeta:
    """Check a converter's speakers, mel contract, per-speaker stats and generator ``n_mels``
    (``artifact`` left empty); one-line ArtifactError naming ``root``."""
    from voicegen.audio.contract import FeatureConfig
    from voicegen.audio.stats import SpeakerStats

    if (not isinstance(speakers, list) or len(speakers) != 2 or not all(isinstance(s, str) and s for s in speakers)
            or speakers[0] == speakers[1]):
        raise ArtifactError(f"{root}: 'speakers' must name two different speakers, got {speakers!r}; re-export")
    try:
        feature_config = FeatureConfig.from_dict(mel or {})
        parsed = {name: SpeakerStats.from_dict((stats or {})[name]) for name in speakers}
    except KeyError as err:
        raise ArtifactError(f"{root}: no stats for speaker {err}; re-export the model") from None
    except (ConfigError, TypeError, ValueError) as err:
        raise ArtifactError(f"{root}: invalid bundle metadata ({err}); re-export the model") from None
    generator = config.get("generator") if isinstance(config, dict) else None
    n_mels = generator.get("n_mels", feature_config.n_mels) if isinstance(generator, dict) else feature_config.n_mels
    if n_mels != feature_config.n_mels:
        raise ArtifactError(f"{root}: generator n_mels {n_mels} differs from the mel contract's "
                            f"{feature_config.n_mels}; re-export the model")
    for name, speaker_stats in parsed.items():
        differ = speaker_stats.features.diff(feature_config)
        if differ:
            raise ArtifactError(f"{root}: stats of {name!r} use other mel settings ({', '.join(differ)}); re-export")
    return CycleGANMeta((speakers[0], speakers[1]), parsed, feature_config, {})


@dataclass
class CycleGANParts:
    """A loaded ``cyclegan`` artifact: float32 generators in eval mode, speakers, stats, contracts."""

    G_ab: nn.Module
    G_ba: nn.Module
    speakers: tuple[str, str]
    stats: dict[str, SpeakerStats]
    feature_config: FeatureConfig
    generator_config: CycleGANGeneratorConfig
    path: Path


def save_cyclegan(G_ab: nn.Module, G_ba: nn.Module, gen_config: dict[str, Any], feature_config: FeatureConfig,
                  stats: dict[str, SpeakerStats], path: str | os.PathLike, *,
                  dtype: torch.dtype | None | str = "float16", overwrite: bool = False) -> Path:
    """Write both generators as a ``cyclegan`` artifact at ``path``; ``stats`` maps speaker A, then B,
    to their statistics (computed with ``feature_config``; ConfigError otherwise). ``dtype`` casts the
    weights (None keeps float32)."""
    import torch

    from voicegen.checkpoint import save_artifact
    from voicegen.config import to_dict
    from voicegen.models.cyclegan import generator_config

    if len(stats) != 2:
        raise ValueError(f"save_cyclegan: stats must hold two speakers (A, then B), got {list(stats)}")
    for name, speaker_stats in stats.items():
        differ = speaker_stats.features.diff(feature_config)
        if differ:
            raise ConfigError(f"stats of speaker {name!r} use other mel settings ({', '.join(differ)}); recompute them")
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    weights = {name: {k: t.detach().cpu().float() for k, t in g.state_dict().items()}
               for name, g in zip(GENERATOR_MODULES, (G_ab, G_ba))}
    return save_artifact(path, kind=KIND, weights=weights, config={"generator": to_dict(generator_config(gen_config))},
                         mel=feature_config.to_dict(), stats={name: s.to_dict() for name, s in stats.items()},
                         speakers=list(stats), dtype=dtype, overwrite=overwrite)


def load_cyclegan_parts(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> CycleGANParts:
    """Load and check a ``cyclegan`` artifact; one-line ArtifactError naming the path when unusable."""
    import torch

    from voicegen.artifact_guard import build_for_artifact
    from voicegen.checkpoint import load_artifact
    from voicegen.models.cyclegan import build_generator, generator_config

    root = Path(path)
    artifact = load_artifact(root, expected_kind=KIND, dtype=torch.float32)
    meta = parse_cyclegan_meta(artifact.speakers, artifact.mel, artifact.stats, artifact.config, root)
    try:
        gen_config = generator_config(artifact.config.get("generator", {}), source=f"{root}: generator")
    except (ConfigError, TypeError, ValueError) as err:
        raise ArtifactError(f"{root}: invalid bundle metadata ({err}); re-export the model") from None
    speakers, stats, feature_config = meta.speakers, meta.stats, meta.feature_config
    modules = {}
    for module_name in GENERATOR_MODULES:
        generator = build_for_artifact(artifact, lambda: build_generator(gen_config), "generator")  # size-checked
        try:
            generator.load_state_dict(artifact.weights.get(module_name, {}))
        except RuntimeError as err:
            detail = " ".join(str(err).split())[:200]
            raise ArtifactError(f"{root}: {module_name} weights do not fit the generator ({detail}); "
                                "re-export the model") from None
        modules[module_name] = generator.to(torch.device(device)).eval()
    return CycleGANParts(G_ab=modules["G_ab"], G_ba=modules["G_ba"], speakers=speakers,
                         stats=stats, feature_config=feature_config, generator_config=gen_config, path=root)
