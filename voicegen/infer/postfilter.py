"""A converter bundle's post-filter: a speaker-conditioned VAE that re-projects each converted mel.

A CycleGAN's output mel is close to the target speaker but off the manifold of real mels in small,
recurring ways. A VAE trained on the target speaker's recordings maps any mel to its encoding
decoded as that speaker: applied to the CycleGAN's output, it keeps the content (what the encoder
sees) and redraws the voice from the target's decoder. On the shipped SF1 -> TM1 pair this lowered
MCD and raised DNSMOS at the same speaker similarity (``recipes/vcc2016/README.md``).

A bundle names its post-filter in ``extra.postfilter`` (:class:`voicegen.formats.cyclegan.PostFilterSpec`):
an installed ``vae`` bundle and, per target speaker, the VAE speaker to decode as; targets it does
not list are left as the converter made them. :func:`voicegen.infer.bundles.load_converter` finds
and loads the VAE (its ONNX graphs where the runtime allows, torch-free) and :func:`make_postfilter`
checks its mel contract and speakers; :meth:`voicegen.infer.cyclegan.CycleGANBundle.mel_stream` runs
it on every chunk right after the generator, so files (one, or a batch; whole or streamed block by
block) get it. Live conversion (:mod:`voicegen.infer.live`) leaves it out: on blocks that end at the
newest frame it made the joins audible.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.errors import ArtifactError

Projector = Callable[[np.ndarray], np.ndarray]
"""A log-mel ``(n_mels, F)`` (not normalised) -> the post-filtered log-mel, same shape."""


@dataclass(frozen=True)
class PostFilter:
    """A loaded post-filter: the VAE bundle ``name`` at ``path``, one projector per target speaker
    of the converter (``projectors[target]``), and what runs it (``runtime``: torch or onnx)."""

    name: str
    path: Path
    speakers: dict[str, str]
    projectors: dict[str, Projector]
    runtime: str

    def for_target(self, target: str) -> Projector | None:
        """The projector applied to conversions into ``target`` (None: that target is not filtered)."""
        return self.projectors.get(target)


def make_postfilter(spec: Any, bundle: str | os.PathLike, feature_config: Any, vae: Any, vae_path: str | os.PathLike,
                    ) -> PostFilter:
    """The post-filter that ``spec`` (:class:`voicegen.formats.cyclegan.PostFilterSpec`) describes for the
    converter at ``bundle`` (mel contract ``feature_config``), from its loaded VAE ``vae`` (a VAE bundle
    or its ONNX converter, found at ``vae_path``; :func:`voicegen.infer.bundles.load_converter` finds
    and loads it). ArtifactError (one line) when the VAE speaks other mel settings or lacks a speaker
    the spec names."""
    differ = vae.feature_config.diff(feature_config)
    if differ:
        raise ArtifactError(f"{bundle}: its post-filter {spec.model} ({vae_path}) uses other mel settings "
                            f"({', '.join(differ)}); re-bundle with a VAE of this contract or --postfilter none")
    missing = sorted(name for name in spec.speakers.values() if name not in vae.speakers)
    if missing:
        raise ArtifactError(f"{bundle}: its post-filter {spec.model} has no speaker {', '.join(missing)} "
                            f"(speakers: {', '.join(vae.speakers)}); re-bundle with `voicegen bundle --postfilter`")
    return PostFilter(name=spec.model, path=Path(vae_path), speakers=dict(spec.speakers),
                      projectors={target: vae.projector(name) for target, name in spec.speakers.items()},
                      runtime=getattr(vae, "runtime", "torch"))
