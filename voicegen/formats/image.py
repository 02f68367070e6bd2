"""The image artifacts: ``image_vae``, ``image_gan``, ``image_cyclegan`` and ``image_classifier``.

Folder layout (written by ``export_image_vae``, ``export_image_gan``, ``export_image_cyclegan`` and
``export_classifier`` in :mod:`voicegen.train.image`, read by ``load_image_*`` in
:mod:`voicegen.infer.image` and by :func:`load_classifier` here), on top of
:mod:`voicegen.checkpoint`'s artifact layout:

``weights.safetensors``
    the modules below, their state dicts (float16 by default; loaded as float32).
``artifact.json``
    * ``kind``: one of the four (the strings are defined once, in :mod:`voicegen.image.contract`);
      ``format_version``, ``voicegen_version``, ``created``, ``modules``, ``dtype``,
      ``weights_sha256``, ``tensors``: as for every artifact.
    * ``extra.image``: the image contract ``{"channels": 1 | 3, "size": side}``
      (:class:`voicegen.image.contract.ImageContract`; written by :func:`contract_extra`, read by
      :func:`artifact_contract`); pixel values are always in [-1, 1].
    * ``extra.classes``: class names in label order, where the model has classes.
    * ``mel``, ``stats``, ``speakers``: null.

Per kind:

``image_vae``
    module ``vae`` (:class:`voicegen.models.vae.SpectrogramVAE` with ``latent_layout: global``);
    ``config.model``: :class:`voicegen.models.vae.VAEConfig` fields; ``extra.latent_kl``: each latent
    dimension's KL in nats on the validation images (``voicegen image traverse`` picks the
    informative dimensions by it).
``image_gan``
    module ``generator`` (:class:`voicegen.models.gan.GANGenerator`); ``config.generator``:
    :class:`voicegen.models.gan.GANGeneratorConfig` fields; ``extra.classes`` holds ``n_classes``
    names for a conditional generator and is absent for an unconditional one.
``image_cyclegan``
    modules ``G_ab`` (A -> B) and ``G_ba`` (B -> A) (:class:`voicegen.models.cyclegan.ResnetGenerator`);
    ``config.generator``: their shared :class:`voicegen.models.cyclegan.ResnetGeneratorConfig` fields;
    ``extra.domains``: ``[A, B]``, the two domain names.
``image_classifier``
    module ``classifier`` (:class:`voicegen.models.classifier.DigitClassifier`); ``config.model``:
    :class:`voicegen.models.classifier.ClassifierConfig` fields; ``extra.classes``.

Version history: format 1 throughout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicegen.errors import ArtifactError, ConfigError
from voicegen.image.contract import EXTRA_KEY, IMAGE_CLASSIFIER_KIND, ImageContract
from voicegen.image.io import ImageError

if TYPE_CHECKING:  # torch-side types, imported lazily at run time
    import torch

    from voicegen.checkpoint import Artifact
    from voicegen.models.classifier import DigitClassifier


def contract_extra(contract: ImageContract, classes: list[str] | None = None, **more: Any) -> dict[str, Any]:
    """An image artifact's ``extra``: the image contract, class names (when conditional) and more."""
    extra: dict[str, Any] = {EXTRA_KEY: contract.to_dict()}
    if classes is not None:
        extra["classes"] = list(classes)
    return {**extra, **more}


def artifact_contract(artifact: Artifact) -> tuple[ImageContract, list[str] | None]:
    """(image contract, class names or None) stored in an image artifact's ``extra``."""
    extra = artifact.extra or {}
    try:
        contract = ImageContract.from_dict(extra.get(EXTRA_KEY))
    except ImageError as err:
        raise ArtifactError(f"{artifact.path}: {err}; re-export the model") from None
    classes = extra.get("classes")
    if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
        raise ArtifactError(f"{artifact.path}: extra.classes must be a list of names; re-export the model")
    return contract, classes


@dataclass
class LoadedClassifier:
    """A classifier artifact: the model (eval mode), its image contract and class names."""

    model: DigitClassifier
    contract: ImageContract
    classes: list[str]
    path: Path


def load_classifier(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> LoadedClassifier:
    """Load an ``image_classifier`` artifact (``voicegen image train classifier`` exports one)."""
    from voicegen.artifact_guard import module_from_artifact
    from voicegen.checkpoint import load_artifact
    from voicegen.models.classifier import DigitClassifier, classifier_config

    artifact = load_artifact(path, expected_kind=IMAGE_CLASSIFIER_KIND)
    try:
        config = classifier_config(artifact.config.get("model", {}), source=f"{artifact.path}: model")
    except (ConfigError, ValueError) as err:
        raise ArtifactError(f"{artifact.path}: invalid classifier config ({err}); re-export it") from None
    contract, classes = artifact_contract(artifact)
    model = module_from_artifact(artifact, "classifier", lambda: DigitClassifier(config)).to(device)
    names = classes or [str(i) for i in range(config.n_classes)]
    return LoadedClassifier(model=model, contract=contract, classes=names, path=Path(path))
