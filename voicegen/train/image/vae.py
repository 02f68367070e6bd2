"""Train an image VAE / beta-VAE (the spectrogram VAE's network with one latent vector per image).

    config = load_config(ImageVAETrainConfig, "recipes/mnist/conf/vae.yaml")
    export_dir = train_image_vae(config, "runs/mnist_vae")

The model is :class:`voicegen.models.vae.SpectrogramVAE` with ``latent_layout: global``, and the
step is :class:`voicegen.train.vae_task.VAETask` (KL, beta, capacity annealing, collapse warning)
with a Bernoulli decoder: ``rec`` is the binary cross-entropy of the decoder's logits against the
pixel intensities in [0, 1] (nats per pixel), so ``rec + kl`` with weights 1 and 1 is the negative
ELBO per pixel. The export (kind ``image_vae``) holds the ``vae`` weights, ``config.model``, the image
contract and ``extra.latent_kl``: each latent dimension's KL (nats) on the validation images, which
``voicegen image traverse`` uses to pick the informative dimensions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from voicegen.formats.image import save_image_vae
from voicegen.image.io import to_unit
from voicegen.image.transforms import from_logits
from voicegen.losses import kl_loss
from voicegen.models.vae import SpectrogramVAE, build_vae, vae_config
from voicegen.train.config import TrainerConfig
from voicegen.train.image.common import (
    ImageDataConfig,
    ImageRunConfig,
    check_validation,
    image_datasets,
    log_grid,
)
from voicegen.train.run import EXPORT_DIR, parameter_count, run_trainer, start_run
from voicegen.train.vae import KLSettings
from voicegen.train.vae_task import VAETask

# Validation images drawn (input row over reconstruction row) into the logs.
LOGGED_IMAGES = 8
KL_BATCH = 500


def bernoulli_nll(logits: Tensor, images: Tensor) -> Tensor:
    """Binary cross-entropy of decoder ``logits`` against ``images`` in [-1, 1] (as [0, 1] targets),
    per element (nats), same shape as the inputs."""
    return F.binary_cross_entropy_with_logits(logits, to_unit(images), reduction="none")


class ImageVAETask(VAETask):
    """:class:`VAETask` on batches ``{"image": (B, C, H, W) in [-1, 1], "label": (B,)}`` with a Bernoulli decoder.

    Labels condition the decoder only when the model has ``n_speakers > 0`` (a class-conditional VAE).
    """

    def __init__(self, model: SpectrogramVAE, *, capacity_max: float = 0.0, capacity_steps: int = 0) -> None:
        super().__init__(model, capacity_max=capacity_max, capacity_steps=capacity_steps)
        self._drawn_step: int | None = None

    def reconstruction(self, mel_hat: Tensor, mel: Tensor) -> Tensor:
        return bernoulli_nll(mel_hat, mel).mean()

    def _unpack(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        if not isinstance(batch, dict) or "image" not in batch:
            raise ValueError("ImageVAETask: a batch is a dict with 'image' (B, C, H, W) and optionally 'label' (B,)")
        return batch["image"], batch.get("label") if self.model.config.n_speakers else None

    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        metrics = super().validate(batch, step, logger)
        if self._drawn_step != step:  # the first validation batch of this validation
            self._drawn_step = step
            images, labels = self._unpack(batch)
            shown = images[:LOGGED_IMAGES]
            out = self.model(shown, None if labels is None else labels[:LOGGED_IMAGES], sample=False)
            log_grid(logger, "val/reconstruction", torch.cat([shown, from_logits(out.mel_hat)]), step,
                     nrow=len(shown), title=f"input / reconstruction, step {step}")
        return metrics


@dataclass(kw_only=True)
class ImageVAETrainConfig(ImageRunConfig, KLSettings):
    """An image-VAE training run (YAML schema).

    image_size, channels: the image contract (every source must match it).
    data: see :class:`~voicegen.train.image.common.ImageDataConfig`.
    model: ``VAEConfig`` fields (``preset: image28``); ``n_mels``/``width`` (the image side),
        ``in_channels`` and ``latent_layout: global`` are filled in. ``n_speakers > 0`` conditions
        the decoder on the class labels.
    beta, capacity_max, capacity_steps, capacity_gamma: as the spectrogram VAE's (``beta`` weighs the
        KL; ``capacity_max`` > 0 turns on capacity annealing, in nats per image).
    trainer: the generic Trainer's config; optimizer ``vae`` (default Adam lr 1e-3).
    """

    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"preset": "image28"})
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        self.fill_section("model", {"n_mels": self.image_size, "width": self.image_size, "in_channels": self.channels,
                                    "latent_layout": "global"})
        vae_config(self.model)
        self.set_vae_trainer()
        check_validation(self.trainer, self.data)


@torch.no_grad()
def latent_kl(model: SpectrogramVAE, images: Tensor, labels: Tensor | None = None) -> list[float]:
    """Each latent dimension's KL to the prior (nats per image, averaged over ``images``)."""
    model.eval()
    total = torch.zeros(model.config.latent_channels, dtype=torch.float64)
    for start in range(0, images.shape[0], KL_BATCH):
        posterior = model.encode(images[start:start + KL_BATCH])
        _, per_dim = kl_loss(posterior.mean, posterior.logvar)
        total += per_dim.double() * min(KL_BATCH, images.shape[0] - start)
    return (total / images.shape[0]).tolist()


def build_image_vae(config: ImageVAETrainConfig) -> SpectrogramVAE:
    """A fresh VAE seeded by ``trainer.seed``."""
    torch.manual_seed(config.trainer.seed)
    return build_vae(config.model)


def train_image_vae(config: ImageVAETrainConfig, run_dir: str | os.PathLike, *,
                    resume: bool | Literal["auto"] = "auto") -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path."""
    run_dir = start_run(run_dir, resume)
    dataset, val_dataset = image_datasets(config.data, config.contract)
    model = build_image_vae(config)
    task = ImageVAETask(model, capacity_max=config.capacity_max, capacity_steps=config.capacity_steps)
    trainer = run_trainer(task, dataset, config, run_dir, resume=resume, val_dataset=val_dataset,
                          command="voicegen image train vae",
                          summary=f"image vae: {len(dataset.set)} training images, {parameter_count(model):.2f}M "
                                  f"parameters, {model.config.latent_channels} latent dims")
    if not trainer.dist.is_main:
        return None
    scored = (val_dataset or dataset).set
    return save_image_vae(model, config.contract, run_dir / EXPORT_DIR, kl_per_dim=latent_kl(model, scored.images),
                          overwrite=True)
