"""The image contract every image artifact carries: channels and side of the square images it works on.

It plays the part of the mel contract (``voicegen.audio.features.FeatureConfig``) for pictures: a
training run fixes it, the export stores it under ``extra.image``, and inference checks its inputs
against it. Pixel values are always in [-1, 1] (``voicegen.image.io``). The artifact kinds of the
image models are named here so that training (which writes them) and inference (which reads them)
share one spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from voicegen.image.io import ImageError

IMAGE_VAE_KIND = "image_vae"
IMAGE_GAN_KIND = "image_gan"
IMAGE_CYCLEGAN_KIND = "image_cyclegan"
IMAGE_CLASSIFIER_KIND = "image_classifier"
IMAGE_KINDS = (IMAGE_VAE_KIND, IMAGE_GAN_KIND, IMAGE_CYCLEGAN_KIND, IMAGE_CLASSIFIER_KIND)
EXTRA_KEY = "image"
"""Key of the contract inside an artifact's ``extra``."""


@dataclass(frozen=True)
class ImageContract:
    """Images ``(B, channels, size, size)`` in [-1, 1]."""

    channels: int = 1
    size: int = 28

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ImageError(f"image contract: channels must be 1 or 3, got {self.channels!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ImageError(f"image contract: size must be a positive integer, got {self.size!r}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, size, size)``."""
        return (self.channels, self.size, self.size)

    def check(self, images: torch.Tensor, what: str) -> None:
        """ImageError naming ``what`` unless ``images`` is ``(N, channels, size, size)``."""
        if images.dim() != 4 or tuple(images.shape[1:]) != self.shape:
            raise ImageError(f"{what}: images are {tuple(images.shape[1:])} but the model works on "
                             f"{self.shape} (channels, height, width); set the source's size/pad/channels")

    def to_dict(self) -> dict[str, int]:
        return {"channels": self.channels, "size": self.size}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ImageContract:
        """The contract stored by :meth:`to_dict`; ImageError when it is missing or malformed."""
        if not isinstance(data, Mapping) or set(data) != {"channels", "size"}:
            raise ImageError(f"image contract must be {{channels, size}}, got {data!r}")
        return cls(channels=data["channels"], size=data["size"])
