"""The one run sequence every training command follows, and the names of a run folder.

    run_dir = start_run(run_dir, resume)                 # refuse a bad resume before writing
    trainer = run_trainer(task, dataset, config, run_dir, resume=resume, val_dataset=val,
                          command="voicegen train vocoder", summary="...")
    # the task's modules now hold what should ship: the best validated step's weights when
    # trainer.best_metric is set, the moving averages when trainer.ema_decay is set
    export_vocoder(generator, config, run_dir / EXPORT_DIR, overwrite=True)

A run folder holds ``config.yaml`` (:data:`CONFIG_FILE`), ``metrics.jsonl``, ``checkpoints/``,
``samples/``, ``tensorboard/``, ``best.json`` (with ``best_metric``) and ``export/``
(:data:`EXPORT_DIR`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from voicegen.config import save_yaml
from voicegen.errors import ConfigError
from voicegen.train.state import check_resume
from voicegen.train.trainer import Trainer

EXPORT_DIR = "export"
CONFIG_FILE = "config.yaml"
RUNS_DIR = Path("runs")
"""Where run folders go when a command is not given --run-dir."""


def default_run_dir(family: str, config_path: str | os.PathLike) -> Path:
    """``runs/<family>-<config name>``, e.g. ``runs/vocoder-tiny`` and ``runs/cyclegan-tiny``: runs of
    different families (or configs) never share a folder, whose checkpoints would not fit the task."""
    return RUNS_DIR / f"{family}-{Path(config_path).stem}"


def finished_step(run_dir: str | os.PathLike, max_steps: int) -> int | None:
    """The step of ``run_dir``'s latest checkpoint when the run has finished (that step reached
    ``max_steps`` and ``export/`` was written), else None: a run to start, resume or re-export."""
    from voicegen.checkpoint import latest_checkpoint, read_state_metadata

    run_dir = Path(run_dir)
    latest = latest_checkpoint(run_dir) if run_dir.is_dir() else None
    if latest is None or not (run_dir / EXPORT_DIR).is_dir():
        return None
    step = int(read_state_metadata(latest).get("step", -1))
    return step if step >= max_steps else None


def start_run(run_dir: str | os.PathLike, resume: bool | Literal["auto"]) -> Path:
    """Check ``resume`` against ``run_dir`` before anything is written into it; return the folder."""
    run_dir = Path(run_dir)
    check_resume(run_dir, resume)
    return run_dir


def run_trainer(task: Any, dataset: Dataset, config: Any, run_dir: str | os.PathLike, *,
                resume: bool | Literal["auto"], val_dataset: Dataset | None, command: str, summary: str) -> Trainer:
    """Build the Trainer, write ``config.yaml`` and one summary line, train, then load the weights
    to ship (:meth:`Trainer.final_weights`) into the task's modules; return the Trainer.

    ``config`` is the run's whole (resolved) config with a ``trainer`` field; ``command`` names the
    CLI command in the YAML header.
    """
    trainer = Trainer(task, dataset, config.trainer, Path(run_dir), val_dataset=val_dataset)
    if trainer.dist.is_main:
        save_yaml(config, Path(run_dir) / CONFIG_FILE, header=f"Resolved config of this run ({command}).")
        trainer.logger.info(summary)
    trainer.fit(resume=resume)
    if trainer.dist.is_main:
        final = trainer.final_weights()
        for name, module in trainer.modules.items():
            if name in final:
                module.load_state_dict(final[name])
        if trainer.best is not None and trainer.best.step >= 0:
            trainer.logger.info(f"exporting step {trainer.best.step}: best {trainer.best.metric} "
                                f"{trainer.best.value:.4g} ({trainer.best.mode})")
    return trainer


def calibrate_max_steps(task: Any, dataset: Dataset, trainer_config: Any, minutes: float, *,
                        probe_steps: int = 8, margin: float = 0.9) -> int:
    """``max_steps`` that fits ``minutes`` of this machine: a throwaway copy of ``task`` trains
    ``2 + probe_steps`` steps (the first two warm up), and ``margin`` of the budget is divided by the
    measured seconds per step (the rest is left for validation, checkpoints and export)."""
    import copy
    import dataclasses
    import tempfile
    import time

    if not minutes > 0:
        raise ConfigError(f"--minutes must be > 0, got {minutes}")
    probe = dataclasses.replace(trainer_config, max_steps=2 + probe_steps, log_every=10_000, val_every=0,
                                checkpoint_every=0, progress=False, tensorboard=False, ema_decay=0.0,
                                ema_modules=[], best_metric="")
    def timed(steps: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(copy.deepcopy(task), dataset, dataclasses.replace(probe, max_steps=steps), Path(tmp))
            trainer.logger.enabled = False  # the probe's steps are not the run's: nothing printed or logged
            start = time.perf_counter()
            trainer.fit(resume=False)
            return time.perf_counter() - start

    timed(2)  # warm-up: first-call allocations and kernels
    seconds = max((timed(2 + probe_steps) - timed(2)) / probe_steps, 1e-6)
    return max(1, int(margin * minutes * 60 / seconds))


def saved_max_steps(run_dir: str | os.PathLike) -> int | None:
    """``trainer.max_steps`` of the config a run saved when it started (RUN_DIR/config.yaml), or None
    when the folder has no checkpoint to resume or no saved config."""
    from voicegen.checkpoint import latest_checkpoint
    from voicegen.yamlio import load_yaml

    run_dir = Path(run_dir)
    saved = run_dir / CONFIG_FILE
    if not saved.is_file() or latest_checkpoint(run_dir) is None:
        return None
    steps = (load_yaml(saved).get("trainer") or {}).get("max_steps")
    return int(steps) if isinstance(steps, int) and not isinstance(steps, bool) else None


def minutes_budget(run_dir: str | os.PathLike, minutes: float | None, measure: Callable[[], int], *,
                   rate: str = "step rate") -> tuple[int, str] | None:
    """``trainer.max_steps`` for ``--minutes`` and the run summary's note on it; None without ``minutes``.

    A fresh run measures (``measure()``, e.g. :func:`calibrate_max_steps`); a run resumed from its
    checkpoints keeps the budget its first start measured, saved in its config.yaml, so an
    interrupted 30-minute run, restarted with the same command, ends where it would have ended
    (not at the config file's ``max_steps``), with the same schedules. ``rate`` names what was
    measured, for the note.
    """
    if minutes is None:
        return None
    saved = saved_max_steps(run_dir)
    if saved is not None:
        return saved, f"; --minutes {minutes:g}: {saved} steps, as measured when this run started"
    steps = measure()
    return steps, f"; --minutes {minutes:g}: {steps} steps from the measured {rate}"


def parameter_count(*modules: torch.nn.Module) -> float:
    """Parameters of ``modules`` in millions."""
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6
