"""Train an image CycleGAN between two unpaired image sets, with the voice converter's step.

    config = load_config(ImageCycleGANTrainConfig, "recipes/digits_cyclegan/conf/cpu.yaml")
    export_dir = train_image_cyclegan(config, "runs/digits_cyclegan")

The models are two :class:`voicegen.models.cyclegan.ResnetGenerator` and two (or four)
:class:`voicegen.nn.PatchGANDiscriminator` (``voicegen.models.cyclegan.build_discriminator``, the
builder the mel CycleGAN uses) and the step is :class:`voicegen.train.cyclegan_task.CycleGANTask`
itself (adversarial, cycle, identity and two-step losses), unchanged; only validation adds sample
grids (A, A->B, A->B->A, B, B->A) and, with ``classifier``, the accuracy of the classifier on
translated images of labelled validation sets (is the digit kept?). The export (kind
``image_cyclegan``) holds ``G_ab`` and ``G_ba``, ``config.generator``, the image contract and the
domain names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from voicegen.errors import ConfigError
from voicegen.eval.image_metrics import accuracy, classify
from voicegen.formats.image import LoadedClassifier, save_image_cyclegan
from voicegen.image.datasets import (
    ImageDataset,
    ImageSourceConfig,
    UnpairedImageDataset,
)
from voicegen.models.cyclegan import (
    build_discriminator,
    build_resnet_generator,
    discriminator_config,
    resnet_generator_config,
)
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.cyclegan_task import (
    DISC_PHASE,
    GEN_PHASE,
    TWO_STEP_LOSSES,
    CycleGANTask,
    generate,
)
from voicegen.train.image.common import (
    GAN_BETAS,
    GRID_COLUMNS,
    ImageRunConfig,
    load_checked,
    load_run_classifier,
    log_grid,
)
from voicegen.train.run import EXPORT_DIR, parameter_count, run_trainer, start_run

DEFAULT_LOSS_WEIGHTS = {"adv_g": 1.0, "adv2_g": 1.0, "cycle": 10.0, "identity": 5.0, "adv_d": 1.0, "adv2_d": 1.0}
DEFAULT_OPTIMIZERS = {GEN_PHASE: OptimizerConfig(lr=2e-4, betas=GAN_BETAS, scheduler="linear_decay"),
                      DISC_PHASE: OptimizerConfig(lr=2e-4, betas=GAN_BETAS, scheduler="linear_decay")}


class ImageCycleGANTask(CycleGANTask):
    """:class:`CycleGANTask` (same step, same losses) whose validation also draws grids and scores
    translations with ``classifier`` (batches ``{"a", "b"}`` plus optional ``label_a``/``label_b``).

    ``score_domain``: the domain the classifier was trained on (``"a"`` or ``"b"``); translations
    into that domain are classified and compared with the source image's label.
    """

    def __init__(self, *args: Any, classifier: LoadedClassifier | None = None, score_domain: str = "a",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.classifier = classifier
        self.score_domain = score_domain
        self._drawn_step: int | None = None

    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        metrics = super().validate(batch, step, logger)
        a, b = batch["a"].float(), batch["b"].float()
        fake_b, fake_a = generate(self.G_ab, a).float(), generate(self.G_ba, b).float()
        if self.classifier is not None:
            self.classifier.model.to(a.device)
            into, source, labels = ((fake_a, "b", batch.get("label_b")) if self.score_domain == "a"
                                    else (fake_b, "a", batch.get("label_a")))
            if labels is not None:
                metrics[f"accuracy_{source}2{self.score_domain}"] = accuracy(classify(self.classifier.model, into)[0],
                                                                           labels)
        if self._drawn_step != step:
            self._drawn_step = step
            n = min(GRID_COLUMNS, a.shape[0], b.shape[0])
            rows = [a[:n], fake_b[:n], generate(self.G_ba, fake_b[:n]).float(), b[:n], fake_a[:n]]
            log_grid(logger, "val/translations", torch.cat(rows), step, nrow=n,
                     title=f"A, A->B, A->B->A, B, B->A (step {step})")
        return metrics


@dataclass
class ImageCycleGANDataConfig:
    """The two unpaired image sets (and held-out ones for validation) with their augmentation.

    a, b: training sources of domains A and B; val_a, val_b: held-out sources (both or neither).
    crop, shift, flip: as for the other image runs (applied to both domains' training images).
    """

    a: ImageSourceConfig = field(default_factory=ImageSourceConfig)
    b: ImageSourceConfig = field(default_factory=ImageSourceConfig)
    val_a: ImageSourceConfig | None = None
    val_b: ImageSourceConfig | None = None
    crop: int | None = None
    shift: int = 0
    flip: bool = False

    def __post_init__(self) -> None:
        if (self.val_a is None) != (self.val_b is None):
            raise ValueError("give both val_a and val_b (held-out images of each domain), or neither")


@dataclass(kw_only=True)
class ImageCycleGANTrainConfig(ImageRunConfig):
    """An image-CycleGAN training run (YAML schema).

    image_size, channels: the image contract (both domains must match it).
    domain_a, domain_b: names stored in the export (``voicegen image translate --direction``).
    data: see :class:`ImageCycleGANDataConfig`.
    generator: ``ResnetGeneratorConfig`` fields (``preset: cpu``); in/out channels filled in.
    discriminator: ``CycleGANDiscriminatorConfig`` fields (``preset: cpu``); in_channels filled in.
    identity_steps: steps (from the start) trained with the identity loss.
    two_step: also train the two-step adversarial discriminators on cycled images.
    classifier: an ``image_classifier`` export of domain ``score_domain`` scoring validation.
    trainer: the generic Trainer's config; optimizers ``gen`` and ``disc`` (Adam 2e-4, betas (0.5,
        0.999), linear decay to 0); loss weights start from {adv_g 1, cycle 10, identity 5, adv_d 1}.
    """

    domain_a: str = "a"
    domain_b: str = "b"
    data: ImageCycleGANDataConfig = field(default_factory=ImageCycleGANDataConfig)
    generator: dict[str, Any] = field(default_factory=lambda: {"preset": "cpu"})
    discriminator: dict[str, Any] = field(default_factory=lambda: {"preset": "cpu"})
    identity_steps: int = 0
    two_step: bool = False
    classifier: str | None = None
    score_domain: Literal["a", "b"] = "a"
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        if not self.domain_a or self.domain_a == self.domain_b:
            raise ConfigError(f"domain_a and domain_b must be two different names, got {self.domain_a!r}, "
                              f"{self.domain_b!r}")
        self.fill_section("generator", {"in_channels": self.channels, "out_channels": self.channels})
        self.fill_section("discriminator", {"in_channels": self.channels})
        resnet_generator_config(self.generator)
        discriminator_config(self.discriminator)
        if self.identity_steps < 0:
            raise ConfigError(f"identity_steps must be >= 0, got {self.identity_steps}")
        defaults = {k: v for k, v in DEFAULT_LOSS_WEIGHTS.items() if self.two_step or k not in TWO_STEP_LOSSES}
        self.trainer.loss_weights = {**defaults, **self.trainer.loss_weights}
        self.default_optimizers(DEFAULT_OPTIMIZERS)
        if self.trainer.val_every > 0 and self.data.val_a is None:
            raise ConfigError(f"trainer.val_every is {self.trainer.val_every} but data.val_a/val_b are not set; "
                              "set them or trainer.val_every: 0")


def build_image_cyclegan(config: ImageCycleGANTrainConfig) -> dict[str, nn.Module]:
    """Fresh G_ab, G_ba, D_a, D_b (and D_a2, D_b2 with ``two_step``), seeded by ``trainer.seed``."""
    torch.manual_seed(config.trainer.seed)
    models: dict[str, nn.Module] = {name: build_resnet_generator(config.generator) for name in ("G_ab", "G_ba")}
    names = ("D_a", "D_b", "D_a2", "D_b2") if config.two_step else ("D_a", "D_b")
    models.update({name: build_discriminator(config.discriminator) for name in names})
    return models


def train_image_cyclegan(config: ImageCycleGANTrainConfig, run_dir: str | os.PathLike, *,
                         resume: bool | Literal["auto"] = "auto") -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path."""
    run_dir = start_run(run_dir, resume)
    data, contract = config.data, config.contract

    def dataset(source: ImageSourceConfig, what: str, train: bool) -> ImageDataset:
        crop = data.crop
        images = load_checked(source, contract, what, crop=crop)
        return ImageDataset(images, crop=crop, shift=data.shift if train else 0, flip=data.flip and train)

    train_set = UnpairedImageDataset(dataset(data.a, "data.a", True), dataset(data.b, "data.b", True))
    val_set = None
    if data.val_a is not None and data.val_b is not None:
        val_set = UnpairedImageDataset(dataset(data.val_a, "data.val_a", False),
                                       dataset(data.val_b, "data.val_b", False))
    classifier = load_run_classifier(config.classifier, contract)
    models = build_image_cyclegan(config)
    task = ImageCycleGANTask(*(models[n] for n in ("G_ab", "G_ba", "D_a", "D_b")), models.get("D_a2"),
                             models.get("D_b2"), identity_steps=config.identity_steps, classifier=classifier,
                             score_domain=config.score_domain)
    trainer = run_trainer(task, train_set, config, run_dir, resume=resume, val_dataset=val_set,
                          command="voicegen image train cyclegan",
                          summary=f"image cyclegan {config.domain_a} <-> {config.domain_b}: {len(train_set.a.set)} + "
                                  f"{len(train_set.b.set)} training images, generators "
                                  f"{parameter_count(models['G_ab']):.2f}M parameters each")
    if not trainer.dist.is_main:
        return None
    return save_image_cyclegan(models["G_ab"], models["G_ba"], contract, (config.domain_a, config.domain_b),
                               run_dir / EXPORT_DIR, overwrite=True)
