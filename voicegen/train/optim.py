"""Optimizers and learning-rate schedules built from ``OptimizerConfig``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from voicegen.errors import ConfigError
from voicegen.train.config import OptimizerConfig, TrainerConfig


def build_optimizer(config: OptimizerConfig, params: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
    """Adam or AdamW over ``params`` with the configured lr, betas, eps and weight decay."""
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[config.kind]
    return kind(
        list(params),
        lr=config.lr,
        betas=config.betas,
        eps=config.eps,
        weight_decay=config.weight_decay,
    )


def lr_factor(config: OptimizerConfig, max_steps: int) -> Callable[[int], float]:
    """The schedule as a pure function: completed steps -> multiplier of ``config.lr``."""
    if config.scheduler == "constant":
        return lambda step: 1.0
    if config.scheduler == "exponential":
        gamma = config.gamma
        return lambda step: gamma**step
    start = config.decay_start
    if config.decay_start_fraction is not None:
        start = round(config.decay_start_fraction * max_steps)
    length = config.decay_steps if config.decay_steps is not None else max_steps - start
    if length < 1:
        raise ConfigError(
            f"linear_decay starts at step {start} but max_steps is {max_steps}; "
            "set decay_steps or lower decay_start"
        )
    return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / length)


def build_scheduler(
    config: OptimizerConfig, optimizer: torch.optim.Optimizer, max_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR``; its state (step count, last lr) goes into checkpoints."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(config, max_steps))


def build_optimizers(config: TrainerConfig, groups: Mapping[str, Sequence[str]], modules: Mapping[str, nn.Module]
                     ) -> tuple[dict[str, list[nn.Parameter]], dict[str, torch.optim.Optimizer],
                                dict[str, torch.optim.lr_scheduler.LambdaLR], dict[str, float | None]]:
    """(trainable parameters, optimizer, scheduler, grad_clip) per optimizer name of ``groups``
    (name -> the module names it steps), from ``config.optimizers`` (defaults where absent)."""
    params, optimizers, schedulers, grad_clip = {}, {}, {}, {}
    for name, module_names in groups.items():
        opt_config = config.optimizers.get(name, OptimizerConfig())
        params[name] = [p for m in module_names for p in modules[m].parameters() if p.requires_grad]
        optimizers[name] = build_optimizer(opt_config, params[name])
        schedulers[name] = build_scheduler(opt_config, optimizers[name], config.max_steps)
        grad_clip[name] = opt_config.grad_clip
    return params, optimizers, schedulers, grad_clip
