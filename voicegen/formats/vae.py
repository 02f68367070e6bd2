"""The ``vae`` artifact: a (speaker-conditioned) spectrogram beta-VAE with per-frame latents.

Folder layout (written by :func:`save_vae`, read by :func:`load_vae_parts`), on top of
:mod:`voicegen.checkpoint`'s artifact layout:

``weights.safetensors``
    module ``vae``: the model's state dict (float16 by default; loaded as float32).
``artifact.json``
    * ``kind``: ``"vae"``; ``format_version``, ``voicegen_version``, ``created``, ``modules``
      (``["vae"]``), ``dtype``, ``weights_sha256``, ``tensors``: as for every artifact.
    * ``config.model``: :class:`voicegen.models.vae.VAEConfig` fields (``latent_layout`` ``frames``,
      one input channel, ``n_mels`` of the mel contract; ``n_speakers`` 0 or the number of speakers).
    * ``mel``: the mel contract (:class:`voicegen.audio.contract.FeatureConfig` fields).
    * ``speakers``: names in speaker-id order (the decoder's conditioning ids).
    * ``stats``: each speaker's own :class:`voicegen.audio.stats.SpeakerStats` (log-F0 statistics
      drive the F0 transform), by name.
    * ``extra.normalization``: the statistics pooled over all speakers' training files, with which
      every mel was normalised for training (and must be for inference). A bundle adds ``name``
      and may add ``vocoder`` (see :mod:`voicegen.infer.bundles`) and ``frame_bank`` (with
      ``frames.safetensors``: :mod:`voicegen.formats.framebank`).

Version history: format 1 throughout; from voicegen 0.2.0 the log-F0 statistics are tracked with
WORLD DIO (the pitch-conditioned vocoders' tracker) rather than YIN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voicegen.errors import ArtifactError, ConfigError

if TYPE_CHECKING:  # torch-side types, imported lazily at run time
    import torch

    from voicegen.audio.contract import FeatureConfig
    from voicegen.audio.stats import SpeakerStats
    from voicegen.models.vae import SpectrogramVAE

KIND = "vae"
"""Artifact kind of a spectrogram VAE."""
MODULE = "vae"


@dataclass
class VAEParts:
    """A loaded ``vae`` artifact: the float32 model in eval mode and its metadata."""

    model: SpectrogramVAE
    speakers: tuple[str, ...]
    stats: dict[str, SpeakerStats]
    normalization: SpeakerStats
    feature_config: FeatureConfig
    path: Path


@dataclass(frozen=True)
class VAEMeta:
    """What ``artifact.json`` says about a spectrogram VAE (checked; no weights read, no torch)."""

    speakers: tuple[str, ...]
    stats: dict[str, SpeakerStats]
    normalization: SpeakerStats
    feature_config: FeatureConfig
    model: dict
    """``config.model`` as stored."""
    artifact: dict
    """The whole ``artifact.json``."""


def read_vae_meta(path: str | os.PathLike) -> VAEMeta:
    """The checked metadata of the ``vae`` artifact at ``path`` (JSON only; torch-free)."""
    from voicegen.artifact_meta import read_kind_meta
    from voicegen.audio.contract import FeatureConfig
    from voicegen.audio.stats import SpeakerStats

    root = Path(path)
    meta = read_kind_meta(root, KIND)
    speakers = meta.get("speakers") or []
    model = (meta.get("config") or {}).get("model") if isinstance(meta.get("config"), dict) else None
    try:
        feature_config = FeatureConfig.from_dict(meta.get("mel") or {})
        stats = {name: SpeakerStats.from_dict((meta.get("stats") or {})[name]) for name in speakers}
        normalization = SpeakerStats.from_dict((meta.get("extra") or {})["normalization"])
    except KeyError as err:
        raise ArtifactError(f"{root}: missing {err} in the VAE metadata; re-export the model") from None
    except (ConfigError, TypeError, ValueError) as err:
        raise ArtifactError(f"{root}: invalid VAE metadata ({err}); re-export the model") from None
    if not isinstance(model, dict):
        raise ArtifactError(f"{root}: missing config.model in the VAE metadata; re-export the model")
    return VAEMeta(tuple(speakers), stats, normalization, feature_config, model, meta)


def save_vae(model: SpectrogramVAE, feature_config: FeatureConfig, stats: dict[str, SpeakerStats],
             normalization: SpeakerStats, path: str | os.PathLike, *, dtype: torch.dtype | None | str = "float16",
             overwrite: bool = False) -> Path:
    """Write a ``vae`` artifact; ``stats`` keys are the speakers in id order. Stats computed with other
    mel settings are refused (ConfigError)."""
    import torch

    from voicegen.checkpoint import save_artifact
    from voicegen.config import to_dict

    for name, speaker_stats in {**stats, "normalization": normalization}.items():
        differ = speaker_stats.features.diff(feature_config)
        if differ:
            raise ConfigError(f"stats of {name!r} use other mel settings ({', '.join(differ)}); recompute them")
    n_speakers = model.config.n_speakers
    if n_speakers and n_speakers != len(stats):
        raise ValueError(f"save_vae: the model decodes {n_speakers} speakers but stats names {len(stats)}")
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    weights = {MODULE: {k: t.detach().cpu().float() for k, t in model.state_dict().items()}}
    return save_artifact(path, kind=KIND, weights=weights, config={"model": to_dict(model.config)},
                         mel=feature_config.to_dict(), stats={n: s.to_dict() for n, s in stats.items()},
                         speakers=list(stats), extra={"normalization": normalization.to_dict()}, dtype=dtype,
                         overwrite=overwrite)


def load_vae_parts(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> VAEParts:
    """Load and check a ``vae`` artifact (an export or a bundle); one-line ArtifactError otherwise."""
    import torch

    from voicegen.artifact_guard import build_for_artifact
    from voicegen.audio.contract import FeatureConfig
    from voicegen.audio.stats import SpeakerStats
    from voicegen.checkpoint import load_artifact
    from voicegen.models.vae import build_vae

    root = Path(path)
    artifact = load_artifact(root, expected_kind=KIND, dtype=torch.float32)
    speakers = artifact.speakers or []
    try:
        feature_config = FeatureConfig.from_dict(artifact.mel or {})
        stats = {name: SpeakerStats.from_dict((artifact.stats or {})[name]) for name in speakers}
        normalization = SpeakerStats.from_dict((artifact.extra or {})["normalization"])
        model = build_for_artifact(artifact, lambda: build_vae(artifact.config["model"]), "VAE")  # size-checked
    except KeyError as err:
        raise ArtifactError(f"{root}: missing {err} in the VAE metadata; re-export the model") from None
    except (ConfigError, TypeError, ValueError) as err:
        raise ArtifactError(f"{root}: invalid VAE metadata ({err}); re-export the model") from None
    config = model.config
    if config.latent_layout != "frames" or config.in_channels != 1 or config.n_mels != feature_config.n_mels:
        raise ArtifactError(f"{root}: not a spectrogram VAE for its mel contract (n_mels {config.n_mels}, "
                            f"layout {config.latent_layout}); use an audio VAE export")
    if config.n_speakers not in (0, len(speakers)):
        raise ArtifactError(f"{root}: the model decodes {config.n_speakers} speakers but the artifact names "
                            f"{len(speakers)}; re-export the model")
    try:
        model.load_state_dict(artifact.weights.get(MODULE, {}))
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:200]
        raise ArtifactError(f"{root}: VAE weights do not fit its config ({detail}); re-export the model") from None
    return VAEParts(model=model.to(torch.device(device)).eval(), speakers=tuple(speakers), stats=stats,
                    normalization=normalization, feature_config=feature_config, path=root)
