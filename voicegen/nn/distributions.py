"""Diagonal Gaussian posterior for VAEs: reparameterised sampling, KL to N(0, I), log-likelihood."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

# log-variance is clamped to [LOGVAR_MIN, LOGVAR_MAX] so exp() neither underflows to a zero
# standard deviation (std >= 3e-7) nor overflows (std <= 2.2e4) early in training.
LOGVAR_MIN = -30.0
LOGVAR_MAX = 20.0
LOG_2PI = math.log(2.0 * math.pi)


def _reduce(values: torch.Tensor, reduce_dims: Optional[Sequence[int]]) -> torch.Tensor:
    return values if reduce_dims is None else values.sum(dim=tuple(reduce_dims))


class DiagonalGaussian:
    """``N(mean, diag(exp(logvar)))`` over tensors of any shape, e.g. latents ``(B, C, H, W)``.

    ``logvar`` is clamped to ``[LOGVAR_MIN, LOGVAR_MAX]`` (gradients stop outside it). Quantities
    are per element (nats) unless ``reduce_dims`` is given, in which case they are summed over
    those axes (e.g. ``(1, 2, 3)`` for one value per sample).
    """

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        if mean.shape != logvar.shape:
            raise ValueError(
                f"DiagonalGaussian: mean {tuple(mean.shape)} and logvar {tuple(logvar.shape)} shapes differ"
            )
        self.mean = mean
        self.logvar = logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)

    @classmethod
    def from_moments(cls, moments: torch.Tensor, dim: int = 1) -> "DiagonalGaussian":
        """Split an encoder output ``(B, 2C, ...)`` into mean (first half) and logvar (second half)."""
        if moments.shape[dim] % 2:
            raise ValueError(f"DiagonalGaussian.from_moments: dimension {dim} has odd size {moments.shape[dim]}")
        mean, logvar = moments.chunk(2, dim=dim)
        return cls(mean, logvar)

    def sample(self, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Reparameterised draw ``mean + std * eps``, ``eps ~ N(0, I)``; differentiable in mean/logvar."""
        eps = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype, device=self.mean.device)
        return self.mean + self.std * eps

    def mode(self) -> torch.Tensor:
        """The most likely value (the mean); use it for deterministic inference."""
        return self.mean

    def kl_standard_normal(self, reduce_dims: Optional[Sequence[int]] = None) -> torch.Tensor:
        """``KL(q || N(0, I)) = 0.5 * (mean^2 + var - 1 - logvar)`` per element, or summed over ``reduce_dims``."""
        kl = 0.5 * (self.mean.pow(2) + self.var - 1.0 - self.logvar)
        return _reduce(kl, reduce_dims)

    def log_prob(self, x: torch.Tensor, reduce_dims: Optional[Sequence[int]] = None) -> torch.Tensor:
        """``log q(x) = -0.5 * (log 2pi + logvar + (x - mean)^2 / var)`` per element (nats)."""
        logp = -0.5 * (LOG_2PI + self.logvar + (x - self.mean).pow(2) / self.var)
        return _reduce(logp, reduce_dims)

    def nll(self, x: torch.Tensor, reduce_dims: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Negative log-likelihood ``-log q(x)`` (nats), per element or summed over ``reduce_dims``."""
        return -self.log_prob(x, reduce_dims)
