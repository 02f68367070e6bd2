"""The digit classifier: a small CNN ``(B, C, H, W)`` in [-1, 1] -> class logits.

Its penultimate layer (``features``, ``(B, feature_dim)``) is the feature space of the image
Fréchet distance (:mod:`voicegen.eval.image_metrics`, the FID recipe with this classifier in place
of Inception). Training lives in ``voicegen.train.image.classifier``; its artifact
(``image_classifier``) in :mod:`voicegen.formats.image`.

    model = DigitClassifier(classifier_config({"preset": "mnist"}))
    logits = model(images)                                   # (B, 10)
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from voicegen.config import from_preset
from voicegen.nn import ConvBlock

KERNEL = 3
STRIDE = 2


@dataclass(frozen=True)
class ClassifierConfig:
    """The digit classifier: conv(base) -> conv(2 base, /2) -> conv(2 base, /2) -> linear(feature_dim) -> classes.

    Args:
        image_size: side of the square input images.
        channels: 1 (grey) or 3 (RGB).
        n_classes: output classes (10 digits).
        base_channels: channels of the first conv; the two stride-2 convs have twice as many.
        feature_dim: size of the penultimate layer (the Fréchet-distance features).
        dropout: dropout before the last layer while training.
    """

    image_size: int = 28
    channels: Literal[1, 3] = 1
    n_classes: int = 10
    base_channels: int = 32
    feature_dim: int = 128
    dropout: float = 0.3

    def __post_init__(self) -> None:
        for name, minimum in (("image_size", 4), ("n_classes", 2), ("base_channels", 1), ("feature_dim", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"classifier.{name} must be an integer >= {minimum}, got {value!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"classifier.channels must be 1 or 3, got {self.channels!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"classifier.dropout must be in [0, 1), got {self.dropout!r}")


CLASSIFIER_PRESETS: Mapping[str, ClassifierConfig] = types.MappingProxyType({
    # 28 x 28 grey digits: 32 -> 64 -> 64 channels, 128 features (0.4 M parameters).
    "mnist": ClassifierConfig(),
})


def classifier_config(config: Mapping[str, Any] | ClassifierConfig, *, source: str = "classifier") -> ClassifierConfig:
    """The typed classifier config of a plain dict (``{"preset": "mnist"}`` allowed)."""
    return from_preset(ClassifierConfig, config, CLASSIFIER_PRESETS, "classifier", source=source)


class DigitClassifier(nn.Module):
    """``forward(images) -> logits (B, n_classes)``; ``features(images) -> (B, feature_dim)``."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = c = config
        wide = 2 * c.base_channels
        self.convs = nn.Sequential(
            ConvBlock(2, c.channels, c.base_channels, KERNEL, 1, "none", "relu"),
            ConvBlock(2, c.base_channels, wide, KERNEL, STRIDE, "batch", "relu", bias=False),
            ConvBlock(2, wide, wide, KERNEL, STRIDE, "batch", "relu", bias=False),
        )
        side = -(-(-(-c.image_size // STRIDE)) // STRIDE)  # "same" stride-2 convs: ceil twice
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(wide * side * side, c.feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.feature_dim, c.n_classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(B, feature_dim)`` of images ``(B, C, size, size)`` in [-1, 1]."""
        c = self.config
        if images.dim() != 4 or tuple(images.shape[1:]) != (c.channels, c.image_size, c.image_size):
            raise ValueError(f"DigitClassifier: expected images (B, {c.channels}, {c.image_size}, {c.image_size}), "
                             f"got shape {tuple(images.shape)}")
        return self.embed(self.convs(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
