"""Tiny synthetic labelled images for the image tests, made once per session in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SIDE = 16
N_CLASSES = 4
PER_CLASS = 12


def synthetic_digits(n_per_class: int = PER_CLASS, side: int = SIDE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``(N, side, side)``: class k is a bright square in quadrant k on a dark noisy field."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    half = side // 2
    for k in range(N_CLASSES):
        for _ in range(n_per_class):
            image = rng.integers(0, 40, size=(side, side))
            top, left = (k // 2) * half, (k % 2) * half
            jitter = rng.integers(0, 2, size=2)
            image[top + 1 + jitter[0]:top + half - 1, left + 1 + jitter[1]:left + half - 1] = 230
            images.append(image)
            labels.append(k)
    order = rng.permutation(len(images))
    return np.asarray(images, dtype=np.uint8)[order], np.asarray(labels, dtype=np.uint8)[order]


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory) -> Path:
    """An .npz like the MNIST one (``x`` uint8 (48, 16, 16), ``y`` (48,)), classes 0-3."""
    path = tmp_path_factory.mktemp("image_data") / "tiny.npz"
    x, y = synthetic_digits()
    np.savez(path, x=x, y=y)
    return path
