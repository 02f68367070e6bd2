"""The ``vocoder`` artifact: one generator that turns log-mel frames (and, for pitch-conditioned
generators, F0 rows) into a waveform.

Folder layout (written by :func:`save_vocoder`, read by :func:`read_vocoder_meta` and
:func:`load_vocoder_generator`), on top of :mod:`voicegen.checkpoint`'s artifact layout:

``weights.safetensors``
    module ``generator``: its state dict with weight norm folded into plain weights
    (float16 by default; loaded as float32).
``artifact.json``
    * ``kind``: ``"vocoder"``; ``format_version``, ``voicegen_version``, ``created``,
      ``modules`` (``["generator"]``), ``dtype``, ``weights_sha256``, ``tensors``: as for every artifact.
    * ``config.generator_kind``: ``"hifigan"`` | ``"istft"`` (log-mel in) or ``"source_filter"``
      (log-mel + F0 rows in; :mod:`voicegen.models.vocoder.source_filter`).
    * ``config.generator``: the generator's config fields (``build_generator(kind, ...)`` rebuilds it).
    * ``config.f0`` (``source_filter`` only, required there): how the F0 rows are made,
      :class:`voicegen.audio.f0.F0Config` fields (``method``, ``f0_min``, ``f0_max``,
      ``fill_frames``, ``default_hz``, ``voicing_threshold``, ``dio_speed``, ``dio_subframes``).
      The rows' frame rate is the mel hop.
    * ``mel``: the mel contract (:class:`voicegen.audio.contract.FeatureConfig` fields).
    * ``stats``, ``speakers``, ``extra``: null.

Version history: format 1 throughout; ``config.f0`` and the ``source_filter`` kind were added in
voicegen 0.2.0 (an older voicegen refuses them as an unknown generator kind); ``config.f0``'s
``voicing_threshold``, ``dio_speed`` and ``dio_subframes`` were added later in 0.2.0 (absent: 0.1,
1 and 1, WORLD's defaults and one DIO frame per hop, so earlier artifacts read as before; a
voicegen without them refuses an artifact that stores them with "unknown f0 setting(s)").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicegen.artifact_meta import read_artifact_meta
from voicegen.audio.contract import FeatureConfig
from voicegen.audio.f0 import F0Config
from voicegen.errors import ArtifactError, ConfigError

if TYPE_CHECKING:  # torch-side types, imported lazily at run time
    import torch
    from torch import nn

    from voicegen.checkpoint import Artifact

KIND = "vocoder"
"""Artifact kind of every exported vocoder."""
GENERATOR_MODULE = "generator"
GENERATOR_KINDS: tuple[str, ...] = ("hifigan", "istft", "source_filter")
F0_KINDS: tuple[str, ...] = ("source_filter",)
"""Generator kinds that take F0 rows beside the log-mel."""


@dataclass(frozen=True)
class VocoderMeta:
    """What ``artifact.json`` says about a vocoder (checked; no weights read)."""

    generator_kind: str
    generator: dict[str, Any]
    feature_config: FeatureConfig
    f0: F0Config | None

    @property
    def needs_f0(self) -> bool:
        return self.f0 is not None


def parse_vocoder_meta(config: Any, mel: Any, where: str | os.PathLike) -> VocoderMeta:
    """Check an artifact's ``config`` and ``mel`` entries; one-line ArtifactError naming ``where``."""
    kind = config.get("generator_kind") if isinstance(config, dict) else None
    gen_config = config.get("generator") if isinstance(config, dict) else None
    if kind not in GENERATOR_KINDS or not isinstance(gen_config, dict) or not isinstance(mel, dict):
        raise ArtifactError(f"{where}: vocoder artifact lacks a known generator_kind ({', '.join(GENERATOR_KINDS)}), "
                            "generator or mel; re-export the vocoder (or upgrade voicegen)")
    try:
        feature_config = FeatureConfig.from_dict(mel)
    except ConfigError as err:
        raise ArtifactError(f"{where}: invalid mel contract ({err}); re-export the vocoder") from None
    f0 = None
    if kind in F0_KINDS:
        if not isinstance(config.get("f0"), dict):
            raise ArtifactError(f"{where}: a {kind} vocoder needs config.f0 (how its F0 rows are made); "
                                "re-export the vocoder")
        try:
            f0 = F0Config.from_dict(config["f0"])
        except (ConfigError, TypeError) as err:
            raise ArtifactError(f"{where}: invalid config.f0 ({err}); re-export the vocoder") from None
    return VocoderMeta(generator_kind=kind, generator=gen_config, feature_config=feature_config, f0=f0)


def read_vocoder_meta(path: str | os.PathLike) -> VocoderMeta:
    """The checked metadata of the vocoder artifact at ``path`` (JSON only)."""
    return vocoder_meta(read_artifact_meta(path), path)


def vocoder_meta(meta: dict, path: str | os.PathLike) -> VocoderMeta:
    """The checked :class:`VocoderMeta` of ``meta``, the ``artifact.json`` read from ``path``."""
    if meta.get("kind") != KIND:
        raise ArtifactError(f"{path}: is a {meta.get('kind')!r} artifact, expected {KIND!r}; pass a vocoder folder")
    return parse_vocoder_meta(meta.get("config"), meta.get("mel"), path)


def set_vocoder_f0(path: str | os.PathLike, settings: list[str]) -> F0Config:
    """Change the F0 settings stored in the vocoder artifact at ``path`` (``KEY=VALUE`` strings, keys of
    :class:`~voicegen.audio.f0.F0Config`); ``artifact.json`` is rewritten atomically, weights untouched.

    The ONNX graphs' config hash then no longer matches: re-export them (the CLI does). Raises a one-line
    ConfigError for a malformed, unknown or out-of-range setting, ArtifactError for a vocoder without F0.
    """
    from voicegen.artifact_meta import ARTIFACT_META, artifact_meta_text
    from voicegen.fileutil import atomic_write_text

    meta = read_artifact_meta(path)
    current = vocoder_meta(meta, path).f0
    if current is None:
        raise ArtifactError(f"{path}: this {meta['config']['generator_kind']} vocoder takes no F0, so it has no F0 "
                            "settings to change")
    fields = current.to_dict()
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--f0 takes KEY=VALUE (e.g. voicing_threshold=0.2), got {item!r}")
        if key not in fields:
            raise ConfigError(f"unknown f0 setting(s) {key}; known: {', '.join(fields)}")
        old = fields[key]
        try:
            fields[key] = type(old)(text.strip())
        except ValueError:
            kind = {int: "an integer", float: "a number"}.get(type(old), "a string")
            raise ConfigError(f"f0.{key} must be {kind}, got {text.strip()!r}") from None
    config = F0Config.from_dict(fields)
    meta["config"]["f0"] = config.to_dict()
    atomic_write_text(Path(path) / ARTIFACT_META, artifact_meta_text(meta))
    return config


def save_vocoder(
    generator: nn.Module,
    kind: str,
    gen_config: dict[str, Any],
    feature_config: FeatureConfig,
    path: str | os.PathLike,
    *,
    f0: F0Config | None = None,
    dtype: torch.dtype | None | str = "float16",
    overwrite: bool = False,
) -> Path:
    """Write ``generator`` as a ``vocoder`` artifact at ``path`` (weight norm folded; the module is
    not changed). ``gen_config`` is the dict it was built from; ``f0`` is required exactly for the
    F0 kinds. ``dtype`` casts the weights (None keeps float32)."""
    import torch

    from voicegen.checkpoint import save_artifact
    from voicegen.config import to_dict
    from voicegen.models.vocoder import build_generator, generator_config

    if (kind in F0_KINDS) != (f0 is not None):
        raise ConfigError(f"a {kind} vocoder {'needs' if kind in F0_KINDS else 'takes no'} F0 settings (f0)")
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    try:
        generator.validate_hop(feature_config.hop_length)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    # A fresh copy (deepcopy shares the classes weight norm injects, so removing it there would
    # break ``generator``); fork_rng keeps the init's random draws out of the global stream.
    with torch.random.fork_rng(devices=[]):
        plain = build_generator(kind, gen_config, source="generator")
    plain.load_state_dict({name: t.detach().cpu().float() for name, t in generator.state_dict().items()})
    plain.remove_weight_norm()
    config: dict[str, Any] = {"generator_kind": kind, "generator": to_dict(generator_config(kind, gen_config))}
    if f0 is not None:
        config["f0"] = f0.to_dict()
    return save_artifact(path, kind=KIND, weights={GENERATOR_MODULE: plain.state_dict()}, config=config,
                         mel=feature_config.to_dict(), dtype=dtype, overwrite=overwrite)


def load_vocoder_artifact(path: str | os.PathLike) -> tuple[Artifact, VocoderMeta]:
    """The verified artifact (weights as float32) and its checked metadata."""
    from voicegen.checkpoint import load_artifact

    artifact = load_artifact(path, expected_kind=KIND)
    return artifact, parse_vocoder_meta(artifact.config, artifact.mel, artifact.path)


def load_vocoder_generator(artifact: Artifact, meta: VocoderMeta) -> nn.Module:
    """A plain (weight norm removed) float32 generator with the artifact's weights, in eval mode."""
    from voicegen.artifact_guard import build_for_artifact
    from voicegen.models.vocoder import build_generator

    generator = build_for_artifact(artifact, lambda: build_generator(meta.generator_kind, meta.generator,
                                                                     source=f"{artifact.path}: generator"), "generator")
    try:
        generator.validate_hop(meta.feature_config.hop_length)
    except ValueError as err:
        raise ArtifactError(f"{artifact.path}: {err}") from None
    generator.remove_weight_norm()
    weights = artifact.weights.get(GENERATOR_MODULE, {})
    expected = generator.state_dict()
    problems = [f"missing {k}" for k in expected if k not in weights]
    problems += [f"unexpected {k}" for k in weights if k not in expected]
    problems += [f"{k} is {tuple(weights[k].shape)}, expected {tuple(t.shape)}"
                 for k, t in expected.items() if k in weights and weights[k].shape != t.shape]
    if problems:
        more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
        raise ArtifactError(f"{artifact.path}: generator weights do not fit its config "
                            f"({'; '.join(problems[:2])}{more}); re-export the vocoder")
    generator.load_state_dict(weights)
    return generator.float().eval()
