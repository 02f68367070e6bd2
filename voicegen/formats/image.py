"""The image artifacts: ``image_vae``, ``image_gan``, ``image_cyclegan`` and ``image_classifier``.

Folder layout (written by :func:`save_image_vae`, :func:`save_image_gan`, :func:`save_image_cyclegan`
and :func:`save_classifier`, read by :func:`load_image_vae`, :func:`load_image_gan`,
:func:`load_image_cyclegan` and :func:`load_classifier`), on top of :mod:`voicegen.checkpoint`'s
artifact layout:

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from voicegen.artifact_guard import module_from_artifact
from voicegen.checkpoint import Artifact, load_artifact, save_artifact
from voicegen.config import to_dict
from voicegen.errors import ArtifactError, ConfigError
from voicegen.image.contract import (
    EXTRA_KEY,
    IMAGE_CLASSIFIER_KIND,
    IMAGE_CYCLEGAN_KIND,
    IMAGE_GAN_KIND,
    IMAGE_VAE_KIND,
    ImageContract,
)
from voicegen.image.io import ImageError
from voicegen.models.classifier import DigitClassifier, classifier_config
from voicegen.models.cyclegan import ResnetGenerator, resnet_generator_config
from voicegen.models.gan import GANGenerator, gan_generator_config
from voicegen.models.vae import SpectrogramVAE, vae_config

DIRECTIONS = ("a2b", "b2a")
"""An image CycleGAN's directions: ``a2b`` runs ``G_ab`` (domain A -> B), ``b2a`` runs ``G_ba``."""


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
    artifact = load_artifact(path, expected_kind=IMAGE_CLASSIFIER_KIND)
    try:
        config = classifier_config(artifact.config.get("model", {}), source=f"{artifact.path}: model")
    except (ConfigError, ValueError) as err:
        raise ArtifactError(f"{artifact.path}: invalid classifier config ({err}); re-export it") from None
    contract, classes = artifact_contract(artifact)
    model = module_from_artifact(artifact, "classifier", lambda: DigitClassifier(config)).to(device)
    names = classes or [str(i) for i in range(config.n_classes)]
    return LoadedClassifier(model=model, contract=contract, classes=names, path=Path(path))


def _save(path: str | os.PathLike, *, kind: str, weights: dict[str, torch.nn.Module], config: dict[str, Any],
          extra: dict[str, Any], dtype: torch.dtype | None, overwrite: bool) -> Path:
    """``save_artifact`` of the ``weights`` modules' state dicts (detached, on the CPU)."""
    state = {name: {k: t.detach().cpu() for k, t in module.state_dict().items()} for name, module in weights.items()}
    return save_artifact(path, kind=kind, weights=state, config=config, extra=extra, dtype=dtype, overwrite=overwrite)


def save_image_vae(model: SpectrogramVAE, contract: ImageContract, path: str | os.PathLike, *,
                   kl_per_dim: list[float] | None = None, classes: list[str] | None = None,
                   dtype: torch.dtype | None = torch.float16, overwrite: bool = False) -> Path:
    """Write an ``image_vae`` artifact at ``path``."""
    extra = contract_extra(contract, classes, **({"latent_kl": kl_per_dim} if kl_per_dim is not None else {}))
    return _save(path, kind=IMAGE_VAE_KIND, weights={"vae": model},
                 config={"model": to_dict(model.config)}, extra=extra, dtype=dtype, overwrite=overwrite)


def save_image_gan(generator: GANGenerator, contract: ImageContract, path: str | os.PathLike, *,
                   classes: list[str] | None = None, dtype: torch.dtype | None = torch.float16,
                   overwrite: bool = False) -> Path:
    """Write an ``image_gan`` artifact (the generator only) at ``path``."""
    n_classes = generator.config.n_classes
    if n_classes and (classes is None or len(classes) != n_classes):
        raise ValueError(f"save_image_gan: a conditional generator needs {n_classes} class names, got {classes}")
    return _save(path, kind=IMAGE_GAN_KIND, weights={"generator": generator},
                 config={"generator": to_dict(generator.config)},
                 extra=contract_extra(contract, classes if n_classes else None), dtype=dtype,
                 overwrite=overwrite)


def save_image_cyclegan(G_ab: ResnetGenerator, G_ba: ResnetGenerator, contract: ImageContract,
                        domains: tuple[str, str], path: str | os.PathLike, *,
                        dtype: torch.dtype | None = torch.float16, overwrite: bool = False) -> Path:
    """Write an ``image_cyclegan`` artifact (both generators, domain names A then B) at ``path``."""
    return _save(path, kind=IMAGE_CYCLEGAN_KIND, weights={"G_ab": G_ab, "G_ba": G_ba},
                 config={"generator": to_dict(G_ab.config)},
                 extra=contract_extra(contract, domains=list(domains)), dtype=dtype, overwrite=overwrite)


def save_classifier(model: DigitClassifier, contract: ImageContract, classes: list[str],
                    path: str | os.PathLike, *, dtype: torch.dtype | None = torch.float16,
                    overwrite: bool = False) -> Path:
    """Write an ``image_classifier`` artifact at ``path``."""
    return _save(path, kind=IMAGE_CLASSIFIER_KIND, weights={"classifier": model},
                 config={"model": to_dict(model.config)}, extra=contract_extra(contract, classes),
                 dtype=dtype, overwrite=overwrite)


@dataclass
class ImageGAN:
    """A loaded GAN generator (eval mode), its image contract and class names (conditional models)."""

    generator: GANGenerator
    contract: ImageContract
    classes: list[str] | None
    path: Path

    @property
    def conditional(self) -> bool:
        return self.generator.config.n_classes > 0

    def class_id(self, name: str | int) -> int:
        """The id of class ``name`` (a class name such as ``"7"``, or an index); ConfigError listing them."""
        if not self.conditional or self.classes is None:
            raise ConfigError(f"{self.path}: this GAN is unconditional; drop --class")
        if str(name) in self.classes:
            return self.classes.index(str(name))
        raise ConfigError(f"{self.path}: unknown class {name!r}; classes: {', '.join(self.classes)}")


@dataclass
class ImageVAE:
    """A loaded image VAE (eval mode), its contract and each latent dimension's KL (nats, may be empty)."""

    model: SpectrogramVAE
    contract: ImageContract
    latent_kl: list[float]
    path: Path


@dataclass
class ImageCycleGAN:
    """Both generators of an image CycleGAN (eval mode), domain names (A, B) and contract."""

    generators: dict[str, ResnetGenerator]
    domains: tuple[str, str]
    contract: ImageContract
    path: Path = field(default_factory=Path)

    def generator(self, direction: str) -> ResnetGenerator:
        """``"a2b"`` (A -> B) or ``"b2a"``; ConfigError naming the domains otherwise."""
        if direction not in DIRECTIONS:
            a, b = self.domains
            raise ConfigError(f"direction must be a2b ({a} -> {b}) or b2a ({b} -> {a}), got {direction!r}")
        return self.generators[direction]


def _config(build, section: dict, where: Path, what: str):
    try:
        return build(section, source=f"{where}: {what}")
    except (ConfigError, ValueError) as err:
        raise ArtifactError(f"{where}: invalid {what} config ({err}); re-export the model") from None


def load_image_gan(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> ImageGAN:
    """Load an ``image_gan`` artifact."""
    artifact = load_artifact(path, expected_kind=IMAGE_GAN_KIND)
    config = _config(gan_generator_config, artifact.config.get("generator", {}), artifact.path, "generator")
    contract, classes = artifact_contract(artifact)
    if config.n_classes and (classes is None or len(classes) != config.n_classes):
        raise ArtifactError(f"{artifact.path}: a conditional GAN needs {config.n_classes} class names in extra.classes")
    generator = module_from_artifact(artifact, "generator", lambda: GANGenerator(config)).to(device)
    return ImageGAN(generator=generator, contract=contract, classes=classes, path=artifact.path)


def load_image_vae(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> ImageVAE:
    """Load an ``image_vae`` artifact."""
    artifact = load_artifact(path, expected_kind=IMAGE_VAE_KIND)
    config = _config(vae_config, artifact.config.get("model", {}), artifact.path, "model")
    contract, _ = artifact_contract(artifact)
    model = module_from_artifact(artifact, "vae", lambda: SpectrogramVAE(config)).to(device)
    kl = (artifact.extra or {}).get("latent_kl") or []
    return ImageVAE(model=model, contract=contract, latent_kl=[float(v) for v in kl], path=artifact.path)


def load_image_cyclegan(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> ImageCycleGAN:
    """Load an ``image_cyclegan`` artifact."""
    artifact = load_artifact(path, expected_kind=IMAGE_CYCLEGAN_KIND)
    config = _config(resnet_generator_config, artifact.config.get("generator", {}), artifact.path, "generator")
    contract, _ = artifact_contract(artifact)
    domains = (artifact.extra or {}).get("domains")
    if not isinstance(domains, list) or len(domains) != 2 or not all(isinstance(d, str) and d for d in domains):
        raise ArtifactError(f"{artifact.path}: extra.domains must name the two domains; re-export the model")
    generators = {direction: module_from_artifact(artifact, name, lambda: ResnetGenerator(config)).to(device)
                  for direction, name in zip(DIRECTIONS, ("G_ab", "G_ba"))}
    return ImageCycleGAN(generators=generators, domains=(domains[0], domains[1]), contract=contract,
                         path=artifact.path)
