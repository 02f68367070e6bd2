"""What every image training run shares: its data section, loading it against the image contract,
the Trainer run itself (config.yaml, summary line, fit) and sample grids in the logs.

Run folders look like the audio ones: ``config.yaml``, ``metrics.jsonl``, ``checkpoints/``,
``samples/`` (grids as PNG) and ``export/`` (the artifact).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from voicegen.errors import ConfigError
from voicegen.formats.image import LoadedClassifier, load_classifier
from voicegen.image.contract import ImageContract
from voicegen.image.datasets import (
    ImageDataset,
    ImageSet,
    ImageSourceConfig,
    load_source,
    source_description,
)
from voicegen.image.grid import grid_figure, make_grid
from voicegen.train.config import OptimizerConfig, TrainerConfig

# DCGAN's Adam settings, used by the image GANs and the image CycleGAN.
GAN_BETAS = (0.5, 0.999)
# Columns of the sample grids drawn into the training logs.
GRID_COLUMNS = 8


@dataclass
class ImageDataConfig:
    """Training images (and optional validation images) with their augmentation.

    train: the training source; val: a held-out source for ``trainer.val_every`` (null: none).
    crop: random square crops of this side (textures); shift: random translation of up to
    ``shift`` pixels; flip: random left-right mirroring; repeats: epoch = images x repeats.
    """

    train: ImageSourceConfig = field(default_factory=ImageSourceConfig)
    val: ImageSourceConfig | None = None
    crop: int | None = None
    shift: int = 0
    flip: bool = False
    repeats: int = 1

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.shift < 0 or (self.crop is not None and self.crop < 1):
            raise ValueError(f"need repeats >= 1, shift >= 0 and crop >= 1 (or null), got repeats={self.repeats}, "
                             f"shift={self.shift}, crop={self.crop}")


@dataclass(kw_only=True)
class ImageRunConfig:
    """Fields and helpers every image run config shares.

    image_size, channels: the image contract every source must match (and the models are built for).
    """

    image_size: int = 28
    channels: int = 1

    @property
    def contract(self) -> ImageContract:
        """The image contract of this run."""
        return ImageContract(self.channels, self.image_size)

    def fill_section(self, section: str, values: dict[str, Any]) -> None:
        """Set ``values`` (derived from the run's own fields) into the model section ``section``; a
        section that already gives another value is a ConfigError naming the key."""
        given = getattr(self, section)
        for key, value in values.items():
            if given.get(key, value) != value:
                raise ConfigError(f"{section}.{key} is {given[key]!r} but this run gives {value!r} (from its "
                                  f"image_size, channels or classes); remove {section}.{key}")
        setattr(self, section, {**given, **values})

    def default_optimizers(self, defaults: dict[str, OptimizerConfig]) -> None:
        """Add a copy of each of ``defaults`` that ``trainer.optimizers`` does not configure."""
        trainer = getattr(self, "trainer")
        trainer.optimizers = {**{k: dataclasses.replace(v) for k, v in defaults.items()}, **trainer.optimizers}


def load_run_classifier(path: str | None, contract: ImageContract) -> LoadedClassifier | None:
    """The classifier export a run's validation scores with (None: none); it must share the contract."""
    if not path:
        return None
    classifier = load_classifier(path)
    if classifier.contract != contract:
        raise ConfigError(f"classifier {path} works on {classifier.contract.shape} images, this run on "
                          f"{contract.shape}")
    return classifier


def check_validation(trainer: TrainerConfig, data: ImageDataConfig) -> None:
    """ConfigError when validation is scheduled without held-out images."""
    if trainer.val_every > 0 and data.val is None:
        raise ConfigError(f"trainer.val_every is {trainer.val_every} but data.val is not set; "
                          "set data.val (held-out images) or trainer.val_every: 0")


def load_checked(source: ImageSourceConfig, contract: ImageContract, what: str, *,
                 crop: int | None = None) -> ImageSet:
    """Load ``source``; its images (or their ``crop`` windows) must match ``contract``."""
    images = load_source(source)
    if crop is None:
        contract.check(images.images, f"{what} ({source_description(source)})")
    elif crop != contract.size or images.images.shape[1] != contract.channels:
        raise ConfigError(f"{what}: crops of {crop} px with {images.images.shape[1]} channels do not fit the "
                          f"image contract {contract.shape}; set crop to {contract.size}")
    return images


def image_datasets(data: ImageDataConfig, contract: ImageContract) -> tuple[ImageDataset, ImageDataset | None]:
    """(training dataset with augmentation, plain validation dataset or None)."""
    train = ImageDataset(load_checked(data.train, contract, "data.train", crop=data.crop), crop=data.crop,
                         shift=data.shift, flip=data.flip, repeats=data.repeats)
    val = None
    if data.val is not None:
        val = ImageDataset(load_checked(data.val, contract, "data.val", crop=data.crop), crop=data.crop)
    return train, val


def class_names(images: ImageSet, n_classes: int) -> list[str]:
    """Names of the classes: the folder names of a class-folder source, else ``"0"``..``"n-1"``."""
    return list(images.classes) if images.classes else [str(i) for i in range(n_classes)]


def log_grid(logger: Any, tag: str, images: torch.Tensor, step: int, *, nrow: int = GRID_COLUMNS,
             title: str = "") -> None:
    """Draw ``images`` ``(N, C, H, W)`` in [-1, 1] as one grid figure into the training logs."""
    logger.figure(tag, grid_figure(make_grid(images.float().cpu(), nrow), title or f"step {step}"), step)
