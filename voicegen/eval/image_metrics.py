"""Objective image metrics: a small digit classifier, its accuracy, and the Fréchet distance of its features.

* :class:`DigitClassifier` — a CNN ``(B, C, H, W)`` in [-1, 1] -> class logits, whose penultimate
  layer (``features``, ``(B, feature_dim)``) is the feature space of the Fréchet distance (the
  FID recipe of Heusel et al. 2017 with this classifier in place of Inception).
* :func:`frechet_distance` — ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` between the
  Gaussians fitted to two feature sets.
* :func:`classify` — logits and features of many images in batches (no gradients).
* :func:`load_classifier` — a classifier artifact (and the helpers every image-artifact loader uses).

Small samples bias the Fréchet distance upwards, so compare numbers computed with the same sample
sizes, and report the distance between two real sets of that size as the floor.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from voicegen.artifact_guard import build_for_artifact
from voicegen.checkpoint import Artifact, load_artifact
from voicegen.config import from_preset
from voicegen.errors import ArtifactError, ConfigError
from voicegen.image.contract import EXTRA_KEY as CONTRACT_KEY
from voicegen.image.contract import IMAGE_CLASSIFIER_KIND, ImageContract
from voicegen.image.io import ImageError
from voicegen.nn import ConvBlock

KERNEL = 3
STRIDE = 2
EVAL_BATCH = 256


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


@torch.no_grad()
def classify(classifier: DigitClassifier, images: torch.Tensor, *,
             batch_size: int = EVAL_BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits (N, n_classes), features (N, feature_dim))`` of ``images`` ``(N, C, H, W)``, in eval mode."""
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    logits, features = [], []
    try:
        for start in range(0, images.shape[0], batch_size):
            h = classifier.features(images[start:start + batch_size].to(device).float())
            features.append(h.cpu())
            logits.append(classifier.head(h).cpu())
    finally:
        classifier.train(was_training)
    return torch.cat(logits), torch.cat(features)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows of ``logits`` ``(N, K)`` whose arg-max equals ``labels`` ``(N,)``."""
    if logits.shape[0] != labels.shape[0] or logits.shape[0] == 0:
        raise ValueError(f"accuracy: {logits.shape[0]} predictions for {labels.shape[0]} labels")
    return float((logits.argmax(dim=1) == labels.to(logits.device)).float().mean())


def gaussian_stats(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (float64, unbiased) of ``features`` ``(N, D)``, N >= 2."""
    x = np.asarray(features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else features,
                   dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"gaussian_stats: need features (N >= 2, D), got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N_a, D)`` and ``(N_b, D)``.

    ``tr((S_a S_b)^(1/2))`` is computed as ``tr((S_a^(1/2) S_b S_a^(1/2))^(1/2))`` (the same value, from
    symmetric positive semi-definite matrices only), which stays real and stable for singular covariances.
    """
    mu_a, cov_a = gaussian_stats(features_a)
    mu_b, cov_b = gaussian_stats(features_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"frechet_distance: feature sizes differ ({mu_a.shape[0]} vs {mu_b.shape[0]})")
    root_a = _sqrt_psd(cov_a)
    cross = np.trace(_sqrt_psd(root_a @ cov_b @ root_a))
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)
    return max(value, 0.0)


# ----------------------------------------------------------------------------------------------
# loading image artifacts (shared by training-time validation and voicegen.infer.image)


def module_from_artifact(artifact: Artifact, name: str, build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` (without touching the caller's RNG stream) loaded with ``artifact.weights[name]``, in eval mode.

    ArtifactError (one line, naming the artifact) when the weights do not fit.
    """
    module = build_for_artifact(artifact, build, name)  # size-checked on the meta device first
    try:
        module.load_state_dict(artifact.weights.get(name, {}))
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:200]
        raise ArtifactError(f"{artifact.path}: {name} weights do not fit the model ({detail}); re-export it") from None
    return module.eval()


def artifact_contract(artifact: Artifact) -> tuple[ImageContract, list[str] | None]:
    """(image contract, class names or None) stored in an image artifact's ``extra``."""
    extra = artifact.extra or {}
    try:
        contract = ImageContract.from_dict(extra.get(CONTRACT_KEY))
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
