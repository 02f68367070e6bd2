"""The small interface a model family implements to be trained by the generic Trainer.

A task owns the models and says how to compute losses; the Trainer owns everything else
(devices, data loading, optimizers, schedules, AMP, clipping, logging, checkpoints, resume,
data parallelism). A GAN is two phases, e.g. ``{"disc": ["mpd", "msd"], "gen": ["generator"]}``:
each step runs ``losses("disc", ...)``, updates the discriminators, then ``losses("gen", ...)``
and updates the generator. The task may cache tensors (e.g. the generator output) between the
phases of one step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

from voicegen.errors import ConfigError, TrainingError


@runtime_checkable
class TrainTask(Protocol):
    """What the Trainer calls; see the module docstring."""

    def modules(self) -> dict[str, nn.Module]:
        """Every module that is trained or saved, by a stable name (the checkpoint key).

        The Trainer moves them to its device; modules in no optimizer group are saved but kept
        in ``eval()`` mode and not updated (e.g. a frozen feature extractor).
        """
        ...

    def optimizer_groups(self) -> dict[str, list[str]]:
        """Optimizer name -> module names it updates, in update order (one phase each per step)."""
        ...

    def losses(self, phase: str, batch: Any, step: int) -> dict[str, Tensor]:
        """Flat dict of named scalar losses for ``phase`` on ``batch`` (already on the device).

        ``step`` is the 1-based index of the step being computed (after it, ``step`` optimizer
        steps are complete). Loss names are weighted by ``TrainerConfig.loss_weights`` and
        logged as ``<phase>/<name>``. An empty dict skips the phase's update (e.g. warm-up).
        """
        ...


# Optional: a task may also define ``loss_names() -> dict[str, list[str]]`` (phase -> every loss
# name it can return). The Trainer then accepts configured weights for losses that only appear
# later in training (e.g. adversarial terms after a spectral-loss warm-up).


@runtime_checkable
class ValidatingTask(TrainTask, Protocol):
    """A task that can also validate; the Trainer calls this under ``torch.no_grad()`` in eval mode."""

    def validate(self, batch: Any, step: int, logger: Any) -> dict[str, float]:
        """Metrics for one validation batch (averaged over batches and logged as ``val/<name>``).

        Audio and figures go through ``logger.audio(...)`` / ``logger.figure(...)``.
        """
        ...


_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def check_task(
    task: TrainTask, configured_optimizers: Iterable[str]
) -> tuple[dict[str, nn.Module], dict[str, list[str]]]:
    """Validate ``task.modules()`` and ``task.optimizer_groups()``; return them.

    Names are identifiers (letters, digits, ``_``, ``-``); every grouped module exists, is in one
    group only and has trainable parameters; configured optimizer names must all be used.
    Raises ``TrainingError`` (task bugs) or ``ConfigError`` (config typos) naming the culprit.
    """
    where = type(task).__name__
    modules = task.modules()
    if not isinstance(modules, Mapping) or not modules:
        raise TrainingError(f"{where}.modules() must return a non-empty dict of name -> nn.Module")
    for name, module in modules.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise TrainingError(f"{where}.modules() name {name!r} must be letters, digits, _ or -")
        if not isinstance(module, nn.Module):
            raise TrainingError(f"{where}.modules()[{name!r}] is a {type(module).__name__}, not an nn.Module")
    groups = task.optimizer_groups()
    if not isinstance(groups, Mapping) or not groups:
        raise TrainingError(
            f"{where}.optimizer_groups() must return a non-empty dict of name -> module names"
        )
    owner: dict[str, str] = {}
    for opt_name, module_names in groups.items():
        if not isinstance(opt_name, str) or not _NAME.match(opt_name):
            raise TrainingError(f"{where} optimizer name {opt_name!r} must be letters, digits, _ or -")
        if isinstance(module_names, str) or not module_names:
            raise TrainingError(f"{where} optimizer '{opt_name}' needs a non-empty list of module names")
        for module_name in module_names:
            if module_name not in modules:
                raise TrainingError(
                    f"{where} optimizer '{opt_name}' names module '{module_name}', which modules() "
                    f"does not return (has: {', '.join(modules)})"
                )
            if module_name in owner:
                raise TrainingError(
                    f"{where} module '{module_name}' is in optimizers '{owner[module_name]}' and '{opt_name}'"
                )
            owner[module_name] = opt_name
        if not any(p.requires_grad for m in module_names for p in modules[m].parameters()):
            raise TrainingError(f"{where} optimizer '{opt_name}' has no trainable parameters")
    unknown = sorted(set(configured_optimizers) - set(groups))
    if unknown:
        raise ConfigError(
            f"trainer.optimizers has {', '.join(repr(n) for n in unknown)} but the task's optimizers "
            f"are {', '.join(groups)}; fix the name"
        )
    return dict(modules), {name: list(names) for name, names in groups.items()}
