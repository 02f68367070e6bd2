"""Exponential moving averages (EMA) of trained weights, and keeping the best validated step.

* :class:`ModuleEMA`: ``avg = d * avg + (1 - d) * weights`` after every optimizer step of the
  averaged modules, with ``d = min(decay, (1 + t) / (10 + t))`` at update ``t`` so early averages
  follow the weights closely. Buffers (e.g. norm statistics) are copied. Validation and export use
  the averages: a GAN's generator weights jitter from step to step (last turn's converter scored
  worse at 5 000 and 6 000 steps than at 4 000); their average is smoother and usually better.
* :class:`BestStep`: the step whose validation metric was best so far (``run_dir/best.json``);
  the Trainer pins that step's checkpoint so rotation never deletes it, and training exports it.

Both are saved in / restored from training checkpoints, so resume stays exact.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voicegen.checkpoint import checkpoint_path, load_training_checkpoint
from voicegen.errors import ConfigError
from voicegen.fileutil import atomic_write_text

BEST_FILE = "best.json"
BEST_MODES = ("min", "max")
# The warm-up of the decay: d_t = min(decay, (1 + t) / (WARMUP + t)).
WARMUP = 10


class ModuleEMA:
    """Averaged copies of ``modules`` (name -> live module), updated by :meth:`update`."""

    def __init__(self, modules: Mapping[str, nn.Module], decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"trainer.ema_decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.live = dict(modules)
        self.averages = {name: copy.deepcopy(module).eval().requires_grad_(False) for name, module in modules.items()}

    @torch.no_grad()
    def update(self) -> None:
        """Move every average towards its live module's current weights."""
        d = min(self.decay, (1 + self.updates) / (WARMUP + self.updates))
        for name, live in self.live.items():
            average = self.averages[name]
            for p_avg, p in zip(average.parameters(), live.parameters()):
                p_avg.lerp_(p.detach(), 1.0 - d)
            for b_avg, b in zip(average.buffers(), live.buffers()):
                b_avg.copy_(b)
        self.updates += 1

    def reset_to_live(self) -> None:
        """Averages := the live weights (a run resumed from a checkpoint written without EMA)."""
        for name, live in self.live.items():
            self.averages[name].load_state_dict(live.state_dict())

    def restore(self, saved: Mapping[str, Any] | None) -> bool:
        """Load ``saved`` (a checkpoint's ``ema``) when it averages the same modules and say True;
        else start the averages from the live weights and say False."""
        if saved is not None and set(saved.get("modules", {})) == set(self.averages):
            self.load_state_dict(saved)
            return True
        self.reset_to_live()
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "modules": {n: m.state_dict() for n, m in self.averages.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.updates = int(state["updates"])
        for name, average in self.averages.items():
            average.load_state_dict(state["modules"][name])

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The live modules hold the averaged weights inside the block (e.g. for validation)."""
        saved = {name: {k: v.detach().clone() for k, v in live.state_dict().items()}
                 for name, live in self.live.items()}
        try:
            for name, live in self.live.items():
                live.load_state_dict(self.averages[name].state_dict())
            yield
        finally:
            for name, live in self.live.items():
                live.load_state_dict(saved[name])


def build_ema(names: Sequence[str], decay: float, modules: Mapping[str, nn.Module],
              trainable: Sequence[str]) -> ModuleEMA | None:
    """The averages of ``trainer.ema_modules`` (``names``) at ``trainer.ema_decay`` (None when 0);
    ConfigError for a name that is not among the task's ``trainable`` modules."""
    unknown = [name for name in names if name not in trainable]
    if unknown:
        raise ConfigError(f"trainer.ema_modules {unknown} are not trained modules of the task; "
                          f"choose from {', '.join(trainable)}")
    return ModuleEMA({n: modules[n] for n in names}, decay) if decay else None


@dataclass
class BestStep:
    """The best validation so far of ``metric`` (a name the task's ``validate`` returns, without ``val/``)."""

    metric: str
    mode: str = "min"
    step: int = -1
    value: float = math.nan

    def __post_init__(self) -> None:
        if self.mode not in BEST_MODES:
            raise ConfigError(f"trainer.best_mode must be one of {', '.join(BEST_MODES)}, got {self.mode!r}")

    def offer(self, step: int, metrics: Mapping[str, float]) -> bool:
        """Record ``step`` if its ``metric`` beats the best so far; whether it did. A validation that
        lacks the metric is a ConfigError naming the ones it has."""
        if self.metric not in metrics:
            raise ConfigError(f"trainer.best_metric {self.metric!r} is not a validation metric; "
                              f"choose one of {', '.join(sorted(metrics))}")
        value = float(metrics[self.metric])
        if not math.isfinite(value):
            return False
        better = self.step < 0 or (value < self.value if self.mode == "min" else value > self.value)
        if better:
            self.step, self.value = step, value
        return better

    def save(self, run_dir: Path) -> None:
        atomic_write_text(run_dir / BEST_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, run_dir: Path, metric: str, mode: str) -> BestStep:
        """The record in ``run_dir/best.json`` when it is for the same metric and mode, else a fresh one."""
        path = run_dir / BEST_FILE
        try:
            data = json.loads(path.read_text())
            if data.get("metric") == metric and data.get("mode") == mode:
                return cls(metric=metric, mode=mode, step=int(data["step"]), value=float(data["value"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return cls(metric=metric, mode=mode)


def export_weights(run_dir: Path, modules: Mapping[str, nn.Module], ema: ModuleEMA | None, best: BestStep | None,
                   step: int) -> dict[str, dict[str, torch.Tensor]]:
    """State dicts of the modules to export: those of the best validated step when ``best`` has one
    (its averages with EMA, read from its checkpoint), else the current ones (averaged with EMA)."""
    if best is not None and best.step >= 0 and best.step != step:
        state = load_training_checkpoint(checkpoint_path(run_dir, best.step))
        weights = dict(state["modules"])
        weights.update(state.get("ema", {}).get("modules", {}))
        return weights
    weights = {name: module.state_dict() for name, module in modules.items()}
    if ema is not None:
        weights.update({name: m.state_dict() for name, m in ema.averages.items()})
    return weights
