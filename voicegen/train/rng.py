"""Capture and restore every random generator training uses, as plain tensors.

The state of torch (CPU, and the current CUDA device when used), numpy's global generator and
Python's ``random`` is encoded as a flat dict of CPU tensors with fixed shapes: it round-trips
through a safetensors checkpoint without pickle and can be all-gathered between ranks.
Float64 carries the few float/int scalars exactly (ints here are < 2**53).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from voicegen.errors import TrainingError

RngState = dict[str, torch.Tensor]
_NUMPY_KIND = "MT19937"


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), numpy's global generator and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def capture_rng(device: torch.device | None = None) -> RngState:
    """The current generator states; includes CUDA's when ``device`` is a CUDA device."""
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    if kind != _NUMPY_KIND:
        raise TrainingError(f"numpy's global generator is {kind}, expected {_NUMPY_KIND}")
    version, words, gauss_next = random.getstate()
    state: RngState = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64).copy()),
        "numpy_extra": torch.tensor([pos, has_gauss, cached_gaussian], dtype=torch.float64),
        "python_words": torch.tensor(words, dtype=torch.int64),
        "python_extra": torch.tensor(
            [version, gauss_next is not None, gauss_next or 0.0], dtype=torch.float64
        ),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: RngState, device: torch.device | None = None) -> None:
    """Put back the generator states made by ``capture_rng``."""
    try:
        torch.set_rng_state(state["torch"].to("cpu", torch.uint8))
        pos, has_gauss, cached_gaussian = state["numpy_extra"].tolist()
        keys = state["numpy_keys"].numpy().astype(np.uint32)
        np.random.set_state((_NUMPY_KIND, keys, int(pos), int(has_gauss), float(cached_gaussian)))
        version, has_gauss_next, gauss_next = state["python_extra"].tolist()
        words = tuple(int(w) for w in state["python_words"].tolist())
        random.setstate((int(version), words, float(gauss_next) if has_gauss_next else None))
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        raise TrainingError(f"the checkpoint's RNG state cannot be restored: {err}") from None
    if device is not None and device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].to("cpu", torch.uint8), device)
