"""Test helper shared by the streaming tests (offline chunkers and live conversion)."""

from __future__ import annotations

import numpy as np


def push_in_blocks(stage, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Push ``x`` (last axis) in blocks cycling through ``sizes``, then finish; concatenated output."""
    out, start, i = [], 0, 0
    while start < x.shape[-1]:
        size = sizes[i % len(sizes)]
        out.append(stage.push(x[..., start:start + size]))
        start, i = start + size, i + 1
    out.append(stage.finish())
    return np.concatenate(out, axis=-1)
