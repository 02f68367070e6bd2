"""Train the small digit classifier that scores the image models, and export it (``image_classifier``).

    config = load_config(ClassifierTrainConfig, "recipes/mnist/conf/classifier.yaml")
    export_dir = train_classifier(config, "runs/mnist_classifier")

One phase ``classifier`` with the loss ``ce`` (cross-entropy); validation reports ``ce`` and
``accuracy`` on held-out images. The export holds the ``classifier`` weights, ``config.model``, the
image contract and the class names; :func:`voicegen.formats.image.load_classifier` reads it.
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
from voicegen.formats.image import save_classifier
from voicegen.models.classifier import DigitClassifier, classifier_config
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.image.common import (
    ImageDataConfig,
    ImageRunConfig,
    check_validation,
    class_names,
    image_datasets,
)
from voicegen.train.run import EXPORT_DIR, parameter_count, run_trainer, start_run

PHASE = "classifier"
DEFAULT_OPTIMIZERS = {PHASE: OptimizerConfig(lr=1e-3, betas=(0.9, 0.999))}


class ClassifierTask:
    """Cross-entropy training of a :class:`DigitClassifier` on batches ``{"image", "label"}``."""

    def __init__(self, model: DigitClassifier) -> None:
        self.model = model

    def modules(self) -> dict[str, nn.Module]:
        return {"classifier": self.model}

    def optimizer_groups(self) -> dict[str, list[str]]:
        return {PHASE: ["classifier"]}

    def losses(self, phase: str, batch: Any, step: int) -> dict[str, Tensor]:
        if phase != PHASE:
            raise ValueError(f"ClassifierTask has one phase {PHASE!r}, got {phase!r}")
        return {"ce": F.cross_entropy(self.model(batch["image"]), batch["label"])}

    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        logits = self.model(batch["image"]).float()
        return {"ce": float(F.cross_entropy(logits, batch["label"])),
                "accuracy": float((logits.argmax(1) == batch["label"]).float().mean())}


@dataclass(kw_only=True)
class ClassifierTrainConfig(ImageRunConfig):
    """A classifier training run (YAML schema).

    image_size, channels: the image contract (every source must match it).
    n_classes: classes of the labels (the sources must be labelled).
    data: see :class:`~voicegen.train.image.common.ImageDataConfig`.
    model: ``ClassifierConfig`` fields (``preset: mnist``); image_size, channels, n_classes filled in.
    trainer: the generic Trainer's config; the optimizer is ``classifier`` (default Adam lr 1e-3).
    """

    n_classes: int = 10
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"preset": "mnist"})
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        self.fill_section("model", {"image_size": self.image_size, "channels": self.channels,
                                    "n_classes": self.n_classes})
        classifier_config(self.model)
        self.default_optimizers(DEFAULT_OPTIMIZERS)
        check_validation(self.trainer, self.data)


def train_classifier(config: ClassifierTrainConfig, run_dir: str | os.PathLike, *,
                     resume: bool | Literal["auto"] = "auto") -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path."""
    run_dir = start_run(run_dir, resume)
    dataset, val_dataset = image_datasets(config.data, config.contract)
    labels = dataset.set.labels
    if labels is None or int(labels.max()) >= config.n_classes or int(labels.min()) < 0:
        raise ConfigError(f"data.train must hold labels in [0, n_classes={config.n_classes}); "
                          "set data.train.labels_key or class_folders")
    torch.manual_seed(config.trainer.seed)
    model = DigitClassifier(classifier_config(config.model))
    trainer = run_trainer(ClassifierTask(model), dataset, config, run_dir, resume=resume, val_dataset=val_dataset,
                          command="voicegen image train classifier",
                          summary=f"classifier: {len(dataset.set)} training images, "
                                  f"{parameter_count(model):.2f}M parameters")
    if not trainer.dist.is_main:
        return None
    return save_classifier(model, config.contract, class_names(dataset.set, config.n_classes),
                           run_dir / EXPORT_DIR, overwrite=True)
