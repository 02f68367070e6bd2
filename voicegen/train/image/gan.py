"""Train an image GAN: DCGAN (``conditional: false``) or the class-conditional GAN (``conditional: true``).

    config = load_config(ImageGANTrainConfig, "recipes/mnist/conf/cgan.yaml")
    export_dir = train_image_gan(config, "runs/mnist_cgan")

One step (``trainer.optimizers``: ``disc`` then ``gen``), with ``z ~ N(0, I)`` drawn fresh per phase
and the fakes conditioned on the real batch's labels (conditional models):

* ``disc``: ``adv_d`` = adversarial D loss of ``D(real, y)`` vs ``D(G(z, y), y)`` (generator detached);
  with an auxiliary classifier also ``cls_d``, its cross-entropy on the real images.
* ``gen``: ``adv_g`` = adversarial G loss of ``D(G(z, y), y)``; with an auxiliary classifier also
  ``cls_g``, its cross-entropy on the samples against the requested classes.

Validation draws a grid of samples from fixed latents (one row per class for conditional models)
and reports the mean discriminator logits on real and fake images; with ``classifier`` (an
``image_classifier`` export) also ``accuracy`` (does the classifier see the requested class?) and
``frechet`` (Fréchet distance of its features, samples vs the validation images). The export (kind
``image_gan``) holds the ``generator`` weights, ``config.generator``, the image contract and, for
conditional models, the class names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from voicegen.errors import ConfigError
from voicegen.eval.image_metrics import accuracy, classify, frechet_distance
from voicegen.formats.image import LoadedClassifier, save_image_gan
from voicegen.losses import AdversarialKind, adversarial_d_loss, adversarial_g_loss
from voicegen.models.gan import (
    GANDiscriminator,
    GANGenerator,
    build_gan_discriminator,
    build_gan_generator,
    gan_discriminator_config,
    gan_generator_config,
)
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.data import mix_seed
from voicegen.train.image.common import (
    GAN_BETAS,
    GRID_COLUMNS,
    ImageDataConfig,
    ImageRunConfig,
    check_validation,
    class_names,
    image_datasets,
    load_run_classifier,
    log_grid,
)
from voicegen.train.run import EXPORT_DIR, parameter_count, run_trainer, start_run

GEN_PHASE = "gen"
DISC_PHASE = "disc"
DEFAULT_OPTIMIZERS = {DISC_PHASE: OptimizerConfig(lr=2e-4, betas=GAN_BETAS),
                      GEN_PHASE: OptimizerConfig(lr=2e-4, betas=GAN_BETAS)}
# Fixed latents of the validation grid and of the validation samples come from this seed.
SAMPLE_SEED = 0
UNCONDITIONAL_GRID_ROWS = 8


def grid_labels(n_classes: int, columns: int) -> Tensor | None:
    """Labels of a class grid: row ``k`` is class ``k`` (``(n_classes * columns,)``); None when unconditional."""
    return torch.arange(n_classes).repeat_interleave(columns) if n_classes else None


def grid_latents(generator: GANGenerator, rows: int, columns: int, seed: int) -> Tensor:
    """``(rows * columns, latent_dim)`` latents; column ``j`` uses the same ``z`` in every row (so a
    conditional grid shows one "style" per column across the classes)."""
    z = torch.randn(columns, generator.config.latent_dim, generator=torch.Generator().manual_seed(seed))
    return z.repeat(rows, 1)


class GANTask:
    """Trains ``generator`` against ``discriminator``; see the module docstring.

    Args:
        adversarial: ``hinge`` (default), ``bce`` (non-saturating) or ``lsgan``.
        classifier: optional scorer of validation samples (kept outside ``modules()``: not trained,
            not checkpointed).
    """

    def __init__(self, generator: GANGenerator, discriminator: GANDiscriminator, *,
                 adversarial: AdversarialKind = "hinge", classifier: LoadedClassifier | None = None) -> None:
        if generator.config.n_classes != discriminator.config.n_classes:
            raise ValueError(f"GANTask: generator has {generator.config.n_classes} classes, discriminator "
                             f"{discriminator.config.n_classes}")
        self.generator, self.discriminator = generator, discriminator
        self.adversarial = adversarial
        self.classifier = classifier
        self.n_classes = generator.config.n_classes
        self._val_position: tuple[int, int] = (-1, 0)  # (step, batches validated at that step)

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizer_groups(self) -> dict[str, list[str]]:
        return {DISC_PHASE: ["discriminator"], GEN_PHASE: ["generator"]}

    def loss_names(self) -> dict[str, list[str]]:
        extra = self.auxiliary
        return {DISC_PHASE: ["adv_d"] + ["cls_d"] * extra, GEN_PHASE: ["adv_g"] + ["cls_g"] * extra}

    @property
    def auxiliary(self) -> bool:
        """Whether the discriminator has an auxiliary classifier (AC-GAN losses ``cls_d``, ``cls_g``)."""
        return self.discriminator.config.auxiliary_classifier

    def _unpack(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        if not isinstance(batch, dict) or "image" not in batch:
            raise ValueError("GANTask: a batch is a dict with 'image' (B, C, H, W) and, when conditional, 'label'")
        if self.n_classes and "label" not in batch:
            raise ValueError("GANTask: a conditional GAN needs labelled images (batch key 'label')")
        return batch["image"], batch["label"] if self.n_classes else None

    def losses(self, phase: str, batch: Any, step: int) -> dict[str, Tensor]:
        images, labels = self._unpack(batch)
        z = torch.randn(images.shape[0], self.generator.config.latent_dim, device=images.device)
        if phase == DISC_PHASE:
            with torch.no_grad():
                fake = self.generator(z, labels)
            out, logits_real = {}, self.discriminator(images, labels, with_classes=self.auxiliary)
            if self.auxiliary:
                logits_real, classes_real = logits_real
                out["cls_d"] = F.cross_entropy(classes_real, labels)
            out["adv_d"] = adversarial_d_loss(logits_real, self.discriminator(fake, labels), self.adversarial)
            return out
        if phase == GEN_PHASE:
            out, logits_fake = {}, self.discriminator(self.generator(z, labels), labels, with_classes=self.auxiliary)
            if self.auxiliary:
                logits_fake, classes_fake = logits_fake
                out["cls_g"] = F.cross_entropy(classes_fake, labels)
            out["adv_g"] = adversarial_g_loss(logits_fake, self.adversarial)
            return out
        raise ValueError(f"GANTask has phases {DISC_PHASE!r} and {GEN_PHASE!r}, got {phase!r}")

    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        images, labels = self._unpack(batch)
        index = self._val_position[1] + 1 if self._val_position[0] == step else 0
        self._val_position = (step, index)
        seed = mix_seed(SAMPLE_SEED, index)
        z = torch.randn(images.shape[0], self.generator.config.latent_dim,
                        generator=torch.Generator().manual_seed(seed)).to(images.device)
        fake = self.generator(z, labels).float()
        metrics = {"d_real": float(self.discriminator(images, labels).mean()),
                   "d_fake": float(self.discriminator(fake, labels).mean())}
        if self.classifier is not None:
            self.classifier.model.to(images.device)
            logits, features = classify(self.classifier.model, fake)
            _, real_features = classify(self.classifier.model, images.float())
            metrics["frechet"] = frechet_distance(features, real_features)
            if labels is not None:
                metrics["accuracy"] = accuracy(logits, labels)
        if index == 0:  # a class per row (the same latents down each column), or all-different latents
            rows, columns = ((self.n_classes, GRID_COLUMNS) if self.n_classes
                             else (1, UNCONDITIONAL_GRID_ROWS * GRID_COLUMNS))
            latents = grid_latents(self.generator, rows, columns, SAMPLE_SEED).to(images.device)
            grid_y = grid_labels(self.n_classes, GRID_COLUMNS)
            samples = self.generator(latents, None if grid_y is None else grid_y.to(images.device))
            log_grid(logger, "val/samples", samples, step, title=f"samples, step {step}")
        return metrics


@dataclass(kw_only=True)
class ImageGANTrainConfig(ImageRunConfig):
    """An image-GAN training run (YAML schema).

    image_size, channels: the image contract (every source must match it).
    conditional: train the class-conditional GAN (labels needed) instead of the plain DCGAN.
    n_classes: classes of the labels (conditional only).
    data: see :class:`~voicegen.train.image.common.ImageDataConfig`.
    generator, discriminator: ``GANGeneratorConfig`` / ``GANDiscriminatorConfig`` fields
        (``preset: mnist``); image_size, channels and n_classes are filled in.
    adversarial: ``hinge`` | ``bce`` | ``lsgan``.
    classifier: an ``image_classifier`` export that scores validation samples (optional).
    trainer: the generic Trainer's config; optimizers ``disc`` and ``gen`` (default Adam 2e-4,
        betas (0.5, 0.999)); losses ``adv_d`` and ``adv_g``.
    """

    conditional: bool = False
    n_classes: int = 10
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    generator: dict[str, Any] = field(default_factory=lambda: {"preset": "mnist"})
    discriminator: dict[str, Any] = field(default_factory=lambda: {"preset": "mnist"})
    adversarial: Literal["hinge", "bce", "lsgan"] = "hinge"
    classifier: str | None = None
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        if self.conditional and self.n_classes < 2:
            raise ConfigError(f"n_classes must be >= 2 for a conditional GAN, got {self.n_classes}")
        shape = {"image_size": self.image_size, "channels": self.channels,
                 "n_classes": self.n_classes if self.conditional else 0}
        self.fill_section("generator", shape)
        self.fill_section("discriminator", shape)
        gan_generator_config(self.generator)
        gan_discriminator_config(self.discriminator)
        self.default_optimizers(DEFAULT_OPTIMIZERS)
        check_validation(self.trainer, self.data)


def build_gan(config: ImageGANTrainConfig) -> tuple[GANGenerator, GANDiscriminator]:
    """Fresh generator and discriminator seeded by ``trainer.seed``."""
    torch.manual_seed(config.trainer.seed)
    return build_gan_generator(config.generator), build_gan_discriminator(config.discriminator)


def train_image_gan(config: ImageGANTrainConfig, run_dir: str | os.PathLike, *,
                    resume: bool | Literal["auto"] = "auto") -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path."""
    run_dir = start_run(run_dir, resume)
    dataset, val_dataset = image_datasets(config.data, config.contract)
    if config.conditional and dataset.set.labels is None:
        raise ConfigError("conditional: true needs labelled training images; set data.train.labels_key or "
                          "class_folders")
    classifier = load_run_classifier(config.classifier, config.contract)
    generator, discriminator = build_gan(config)
    task = GANTask(generator, discriminator, adversarial=config.adversarial, classifier=classifier)
    kind = "conditional GAN" if config.conditional else "DCGAN"
    trainer = run_trainer(task, dataset, config, run_dir, resume=resume, val_dataset=val_dataset,
                          command=f"voicegen image train {'cgan' if config.conditional else 'gan'}",
                          summary=f"{kind}: {len(dataset.set)} training images, generator "
                                  f"{parameter_count(generator):.2f}M, discriminator "
                                  f"{parameter_count(discriminator):.2f}M parameters")
    if not trainer.dist.is_main:
        return None
    classes = class_names(dataset.set, config.n_classes) if config.conditional else None
    return save_image_gan(generator, config.contract, run_dir / EXPORT_DIR, classes=classes, overwrite=True)
