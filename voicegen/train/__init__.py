"""voicegen.train: the one generic Trainer; each model family only supplies a small ``TrainTask``.

    from voicegen.train import Trainer, TrainerConfig, OptimizerConfig
    Trainer(task, dataset, TrainerConfig(max_steps=1000, batch_size=16), "runs/x").fit(resume="auto")

Names are imported lazily, so ``voicegen.train.config`` (pure dataclasses) stays torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Trainer": "voicegen.train.trainer",
    "TrainerConfig": "voicegen.train.config",
    "OptimizerConfig": "voicegen.train.config",
    "TrainTask": "voicegen.train.task",
    "ValidatingTask": "voicegen.train.task",
    "Logger": "voicegen.train.logging",
    "resolve_device": "voicegen.train.device",
    "init_distributed": "voicegen.train.distributed",
    "shutdown_distributed": "voicegen.train.distributed",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'voicegen.train' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
