"""Objective image metrics: a digit classifier's accuracy, and the Fréchet distance of its features.

* The classifier is :class:`voicegen.models.classifier.DigitClassifier`, whose penultimate
  layer (``features``, ``(B, feature_dim)``) is the feature space of the Fréchet distance (the
  FID recipe of Heusel et al. 2017 with this classifier in place of Inception); its artifact is
  loaded by :func:`voicegen.formats.image.load_classifier`.
* :func:`frechet_distance` — ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` between the
  Gaussians fitted to two feature sets.
* :func:`classify` — logits and features of many images in batches (no gradients).

Small samples bias the Fréchet distance upwards, so compare numbers computed with the same sample
sizes, and report the distance between two real sets of that size as the floor.
"""

from __future__ import annotations

import numpy as np
import torch

from voicegen.models.classifier import DigitClassifier

EVAL_BATCH = 256


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
