"""What a training checkpoint holds, putting it back into modules and optimizers, and which one a run resumes from.

The state is a nested dict of plain values and tensors (saved by ``voicegen.checkpoint`` without
pickle)::

    version, step, epoch, position          progress; position = batches of ``epoch`` consumed
    data: {num_items, batch_size, world_size, seed}    to tell whether the data order still applies
    modules / optimizers / schedulers: {name: state_dict}
    scaler: GradScaler state ({} when AMP scaling is off)
    rng: [per-rank RngState]                torch CPU (+CUDA), numpy, python random
    partial_step_phases: [...]              phases of step+1 already applied (only in a checkpoint
                                            saved by the non-finite guard mid-step)
    config: the TrainerConfig as a dict     for the record
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from voicegen.checkpoint import latest_usable_checkpoint
from voicegen.errors import ConfigError, TrainingError

TRAINER_STATE_VERSION = 1


def build_state(
    *,
    step: int,
    epoch: int,
    position: int,
    data: dict[str, int],
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    schedulers: Mapping[str, Any],
    scaler: torch.amp.GradScaler,
    rng: list[dict[str, torch.Tensor]],
    config: dict[str, Any],
    partial_step_phases: list[str] | None = None,
) -> dict[str, Any]:
    """Assemble the checkpoint dict described in the module docstring."""
    return {
        "version": TRAINER_STATE_VERSION,
        "step": int(step),
        "epoch": int(epoch),
        "position": int(position),
        "data": dict(data),
        "modules": {name: module.state_dict() for name, module in modules.items()},
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "schedulers": {name: sched.state_dict() for name, sched in schedulers.items()},
        "scaler": scaler.state_dict(),
        "rng": list(rng),
        "partial_step_phases": list(partial_step_phases or []),
        "config": config,
    }


def restore_state(
    state: Mapping[str, Any],
    path: Path,
    *,
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    schedulers: Mapping[str, Any],
    scaler: torch.amp.GradScaler,
) -> None:
    """Load module, optimizer, scheduler and scaler states; ``TrainingError`` names any mismatch."""
    version = state.get("version")
    if version != TRAINER_STATE_VERSION:
        raise TrainingError(
            f"checkpoint {path} has trainer state version {version!r}; this voicegen reads "
            f"version {TRAINER_STATE_VERSION}"
        )
    for section, targets in (("modules", modules), ("optimizers", optimizers), ("schedulers", schedulers)):
        saved = state.get(section, {})
        missing = sorted(set(targets) - set(saved))
        extra = sorted(set(saved) - set(targets))
        if missing or extra:
            raise TrainingError(
                f"checkpoint {path} {section} do not match the task: missing {missing or 'none'}, "
                f"unexpected {extra or 'none'}; resume with the same task or start a new run_dir"
            )
        for name, target in targets.items():
            try:
                target.load_state_dict(saved[name])
            except (RuntimeError, ValueError, KeyError) as err:
                first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise TrainingError(
                    f"checkpoint {path} does not fit {section[:-1]} '{name}': {first_line}"
                ) from None
    if scaler.is_enabled() and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])


def check_resume(run_dir: str | os.PathLike, resume: bool | Literal["auto"]) -> Path | None:
    """The checkpoint a run in ``run_dir`` would resume from, after checking ``resume``.

    ``"auto"`` takes the latest checkpoint if any; ``True`` requires one and ``False`` refuses a
    folder that has one (TrainingError). Training entry points call this before they write
    anything into ``run_dir``.
    """
    if resume not in (True, False, "auto"):
        raise ConfigError(f"resume must be True, False or 'auto'; got {resume!r}")
    run_dir = Path(run_dir)
    latest = latest_usable_checkpoint(run_dir) if run_dir.exists() else None  # passes over a truncated one
    if resume is False and latest is not None:
        raise TrainingError(f"{run_dir} already has training checkpoints (latest {latest.name}); "
                            "resume (--resume) or choose a new run folder (--run-dir)")
    if resume is True and latest is None:
        raise TrainingError(f"resume requested but {run_dir} has no training checkpoint; drop --resume")
    return latest
