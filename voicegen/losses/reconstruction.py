"""Reconstruction (L1/L2 with optional mask) and VAE KL losses, incl. Burgess et al. capacity control."""

from __future__ import annotations

from typing import Optional

import torch

from voicegen.nn.distributions import DiagonalGaussian


def _masked_mean(values: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    if mask is None:
        return values.mean()
    try:
        weights = mask.to(values.dtype).expand_as(values)
    except RuntimeError:
        shapes = f"{tuple(mask.shape)} does not broadcast to {tuple(values.shape)}"
        raise ValueError(f"loss mask of shape {shapes}") from None
    # An all-zero mask gives 0 rather than NaN (the denominator is floored at one element).
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def _check_shapes(x_hat: torch.Tensor, x: torch.Tensor, name: str) -> None:
    if x_hat.shape != x.shape:
        raise ValueError(f"{name}: prediction shape {tuple(x_hat.shape)} differs from target shape {tuple(x.shape)}")


def l1_loss(x_hat: torch.Tensor, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean absolute error (scalar). ``mask`` (broadcastable, 1 = keep) averages over kept elements only."""
    _check_shapes(x_hat, x, "l1_loss")
    return _masked_mean((x_hat - x).abs(), mask)


def l2_loss(x_hat: torch.Tensor, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean squared error (scalar). ``mask`` (broadcastable, 1 = keep) averages over kept elements only."""
    _check_shapes(x_hat, x, "l2_loss")
    return _masked_mean((x_hat - x).pow(2), mask)


def kl_loss(mean: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """KL of ``N(mean, exp(logvar))`` to ``N(0, I)`` for latents ``(B, C)`` or ``(B, C, *spatial)``.

    Returns ``(total, per_dim)`` in nats: ``per_dim`` has shape ``(C,)`` (each latent channel's KL,
    summed over positions and averaged over the batch; near-zero channels are inactive), and
    ``total = per_dim.sum()`` is the per-sample KL averaged over the batch (the ELBO term).
    """
    if mean.dim() < 2:
        raise ValueError(f"kl_loss: expected latents (B, C, ...), got shape {tuple(mean.shape)}")
    kl = DiagonalGaussian(mean, logvar).kl_standard_normal()
    per_dim = kl.sum(dim=tuple(range(2, kl.dim()))) if kl.dim() > 2 else kl
    per_dim = per_dim.mean(dim=0)
    return per_dim.sum(), per_dim


def capacity_kl(kl: torch.Tensor, capacity: float, gamma: float) -> torch.Tensor:
    """Burgess et al. (2018) capacity objective ``gamma * |kl - capacity|`` (``capacity`` in nats)."""
    if gamma < 0 or capacity < 0:
        raise ValueError(f"capacity_kl: gamma and capacity must be >= 0, got gamma={gamma}, capacity={capacity}")
    return gamma * (kl - capacity).abs()


def linear_capacity(step: int, capacity_max: float, ramp_steps: int) -> float:
    """Capacity (nats) growing linearly from 0 at step 0 to ``capacity_max`` at ``ramp_steps``, then flat."""
    if ramp_steps <= 0:
        return float(capacity_max)
    return float(capacity_max) * min(max(step, 0) / ramp_steps, 1.0)
