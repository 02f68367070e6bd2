"""Named loss weights: a task returns ``{"mel": ..., "adv": ...}``, the config weights them by name.

A weight key is either a bare loss name (``mel``: every phase) or ``<phase>/<name>``
(``gen/mel``: that phase only, wins over the bare name). Missing -> 1.0. A weight of 0.0 keeps
the loss in the logs but out of the gradient. A configured key that no phase produced is a
typo: ``check_all_used`` raises ``TrainingError`` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from voicegen.errors import TrainingError

DEFAULT_WEIGHT = 1.0


class LossWeights:
    """Weights losses by name and remembers which configured keys were used."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = {str(key): float(value) for key, value in weights.items()}
        self.produced: set[str] = set()
        self._used: set[str] = set()

    def weight(self, phase: str, name: str) -> float:
        """The weight of loss ``name`` in ``phase``."""
        keys = [key for key in (f"{phase}/{name}", name) if key in self.weights]
        self._used.update(keys)  # a bare name shadowed by a per-phase key still names a real loss
        return self.weights[keys[0]] if keys else DEFAULT_WEIGHT

    def total(self, phase: str, losses: Mapping[str, Tensor]) -> Tensor | None:
        """``sum(weight * loss)`` in float32 over non-zero weights; ``None`` if nothing contributes.

        Every value must be a one-element tensor (else ``TrainingError`` naming ``phase/name``).
        """
        total: Tensor | None = None
        for name, loss in losses.items():
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
                raise TrainingError(
                    f"task loss '{phase}/{name}' must be a scalar tensor, got {shape}"
                )
            self.produced.add(f"{phase}/{name}")
            weight = self.weight(phase, name)
            if weight == 0.0:
                continue
            term = loss.reshape(()).float() * weight
            total = term if total is None else total + term
        return total

    def check_all_used(self) -> None:
        """Raise ``TrainingError`` for a configured weight that matches no produced loss."""
        unused = sorted(set(self.weights) - self._used)
        if unused:
            produced = ", ".join(sorted(self.produced)) or "none"
            raise TrainingError(
                f"trainer.loss_weights has {', '.join(repr(k) for k in unused)} but no phase "
                f"produced such a loss (produced: {produced}); fix the name or remove it"
            )


def loss_values(losses: Mapping[str, Tensor]) -> dict[str, float]:
    """The losses as Python floats (one device sync for all of them)."""
    if not losses:
        return {}
    values = torch.stack([loss.detach().reshape(()).float() for loss in losses.values()])
    return dict(zip(losses, values.tolist()))
