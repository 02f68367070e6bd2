"""Typed configuration of the generic Trainer: optimizers, schedules, cadence and loss weights.

Plain dataclasses with typed fields and defaults, so ``voicegen.config.from_dict`` can build them
from YAML. Values are checked in ``__post_init__`` and a bad value raises ``ConfigError`` naming
the field, e.g. ``trainer.optimizers.gen.lr must be > 0, got -1.0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from voicegen.errors import ConfigError

OptimizerKind = Literal["adam", "adamw"]
SchedulerKind = Literal["constant", "exponential", "linear_decay"]
AmpDtype = Literal["float16", "bfloat16"]

OPTIMIZER_KINDS: tuple[str, ...] = ("adam", "adamw")
SCHEDULER_KINDS: tuple[str, ...] = ("constant", "exponential", "linear_decay")
AMP_DTYPES: tuple[str, ...] = ("float16", "bfloat16")


@dataclass
class OptimizerConfig:
    """One optimizer (one GAN phase) and its learning-rate schedule.

    kind: ``adam`` or ``adamw`` (decoupled weight decay).
    lr: base learning rate (> 0).
    betas: Adam moment decay rates, each in [0, 1). The (0.8, 0.99) default is the usual GAN setting.
    eps: Adam denominator epsilon (> 0).
    weight_decay: L2 (adam) or decoupled (adamw) weight decay (>= 0).
    grad_clip: clip the global gradient L2 norm of this optimizer's parameters to this value
        (> 0); ``None`` computes and logs the norm without clipping.
    scheduler: learning-rate factor as a function of the global step ``s`` (completed steps):
        ``constant`` -> 1; ``exponential`` -> ``gamma ** s``; ``linear_decay`` -> 1 until
        ``decay_start``, then linear down to 0 over ``decay_steps`` steps
        (``None``: until ``TrainerConfig.max_steps``).
    decay_start_fraction: instead of ``decay_start``, the fraction of ``max_steps`` after which
        ``linear_decay`` starts (MaskCycleGAN-VC: 0.5), so a shorter or longer run keeps the shape.
    gamma: per-step decay factor of ``exponential``, in (0, 1].
    """

    kind: OptimizerKind = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    eps: float = 1e-8
    weight_decay: float = 0.0
    grad_clip: float | None = None
    scheduler: SchedulerKind = "constant"
    gamma: float = 0.999
    decay_start: int = 0
    decay_steps: int | None = None
    decay_start_fraction: float | None = None

    def __post_init__(self) -> None:
        # Values are checked by TrainerConfig, which knows this optimizer's name for the message.
        if isinstance(self.betas, list):
            self.betas = tuple(self.betas)

    def validate(self, where: str) -> None:
        """Raise ``ConfigError`` naming ``where.<field>`` for the first invalid value."""
        _choice(f"{where}.kind", self.kind, OPTIMIZER_KINDS)
        _choice(f"{where}.scheduler", self.scheduler, SCHEDULER_KINDS)
        _positive(f"{where}.lr", self.lr)
        _positive(f"{where}.eps", self.eps)
        if self.weight_decay < 0:
            raise ConfigError(f"{where}.weight_decay must be >= 0, got {self.weight_decay}")
        betas = tuple(self.betas)
        if len(betas) != 2 or not all(0.0 <= float(b) < 1.0 for b in betas):
            raise ConfigError(f"{where}.betas must be two numbers in [0, 1), got {self.betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        if self.grad_clip is not None:
            _positive(f"{where}.grad_clip", self.grad_clip)
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"{where}.gamma must be in (0, 1], got {self.gamma}")
        if self.decay_start < 0:
            raise ConfigError(f"{where}.decay_start must be >= 0, got {self.decay_start}")
        if self.decay_steps is not None and self.decay_steps < 1:
            raise ConfigError(f"{where}.decay_steps must be >= 1 or null, got {self.decay_steps}")
        if self.decay_start_fraction is not None:
            if not 0.0 <= self.decay_start_fraction < 1.0:
                raise ConfigError(f"{where}.decay_start_fraction must be in [0, 1), got {self.decay_start_fraction}")
            if self.decay_start:
                raise ConfigError(f"{where}: give decay_start or decay_start_fraction, not both")


@dataclass
class TrainerConfig:
    """Everything the generic Trainer needs besides the task and the data.

    max_steps: total optimizer steps (one step = one batch through every phase), >= 1.
    batch_size: items per batch PER PROCESS; with N data-parallel processes the effective batch
        is ``N * batch_size``.
    num_workers: DataLoader worker processes (0 loads in the training process).
    seed: seeds data order, per-item augmentation seeds and the torch/numpy/random generators.
    device: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:<index>``.
    amp: mixed precision on CUDA (autocast to ``amp_dtype``; float16 also uses a GradScaler).
        Ignored, with a note, on CPU.
    amp_dtype: ``float16`` or ``bfloat16``.
    log_every: steps between console/metrics/TensorBoard lines (values averaged over the interval).
    val_every: steps between validations (0 = never); needs a validation dataset.
    val_batch_size: items per validation batch.
    checkpoint_every: steps between training checkpoints (0 = only at the end).
    keep_last: how many training checkpoints to keep.
    loss_weights: weight per loss name, by the names the task returns (``mel``) or per phase
        (``gen/mel``, which wins over ``mel``). Missing -> 1.0; 0.0 -> logged but not trained on.
    optimizers: one ``OptimizerConfig`` per optimizer name of the task; names the task does not
        use are an error, missing names use the defaults.
    progress: show a tqdm progress bar (rank 0 only).
    tensorboard: write TensorBoard event files under ``<run_dir>/tensorboard`` when installed.
    ema_decay: > 0 keeps an exponential moving average of the ``ema_modules``' weights
        (:mod:`voicegen.train.averaging`); validation and export then use the averages.
    ema_modules: names of the task's modules to average (e.g. ``[G_ab, G_ba]``).
    best_metric: a validation metric name (e.g. ``mcd_db``): the step with the best value is kept
        (its checkpoint is never rotated away) and exported at the end; empty: the last step.
    best_mode: ``min`` or ``max``: which direction of ``best_metric`` is better.
    """

    max_steps: int
    batch_size: int
    num_workers: int = 0
    seed: int = 1234
    device: str = "auto"
    amp: bool = False
    amp_dtype: AmpDtype = "float16"
    log_every: int = 10
    val_every: int = 0
    val_batch_size: int = 1
    checkpoint_every: int = 1000
    keep_last: int = 3
    loss_weights: dict[str, float] = field(default_factory=dict)
    optimizers: dict[str, OptimizerConfig] = field(default_factory=dict)
    progress: bool = True
    tensorboard: bool = True
    ema_decay: float = 0.0
    ema_modules: list[str] = field(default_factory=list)
    best_metric: str = ""
    best_mode: str = "min"

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"trainer.ema_decay must be in [0, 1), got {self.ema_decay}")
        if bool(self.ema_decay) != bool(self.ema_modules):
            raise ConfigError("trainer.ema_decay and trainer.ema_modules go together: set both (e.g. "
                              "ema_decay: 0.999, ema_modules: [generator]) or neither")
        _choice("trainer.best_mode", self.best_mode, ("min", "max"))
        if self.best_metric and not self.val_every:
            raise ConfigError("trainer.best_metric needs validation: set trainer.val_every > 0")
        for name in ("max_steps", "batch_size", "log_every", "val_batch_size", "keep_last"):
            if getattr(self, name) < 1:
                raise ConfigError(f"trainer.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("num_workers", "val_every", "checkpoint_every", "seed"):
            if getattr(self, name) < 0:
                raise ConfigError(f"trainer.{name} must be >= 0, got {getattr(self, name)}")
        _choice("trainer.amp_dtype", self.amp_dtype, AMP_DTYPES)
        for name, weight in self.loss_weights.items():
            if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
                raise ConfigError(
                    f"trainer.loss_weights.{name} must be a finite number >= 0, got {weight!r}"
                )
        for name, opt in self.optimizers.items():
            if not isinstance(opt, OptimizerConfig):
                raise ConfigError(
                    f"trainer.optimizers.{name} must be an OptimizerConfig, got {type(opt).__name__}"
                )
            opt.validate(f"trainer.optimizers.{name}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {value}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def check_clip_validation(trainer: TrainerConfig, val_count: int, model: str) -> None:
    """ConfigError unless validation runs on whole held-out clips one at a time, when it runs at all.

    ``model`` names the model in the message (e.g. "vocoder"). Clips differ in length, so the
    validation batch holds one clip; ``val_every > 0`` needs held-out files (``data.val_count``).
    """
    if trainer.val_batch_size != 1:
        raise ConfigError(f"trainer.val_batch_size must be 1 for a {model} (whole clips of different "
                          f"lengths), got {trainer.val_batch_size}")
    if val_count == 0 and trainer.val_every > 0:
        raise ConfigError(f"trainer.val_every is {trainer.val_every} but data.val_count is 0; "
                          "hold out files (data.val_count >= 1) or set trainer.val_every: 0")
