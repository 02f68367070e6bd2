"""Activations chosen by name, including the GLU gate used by CycleGAN-VC's blocks."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

ActName = Literal["relu", "leaky_relu", "glu", "gelu", "silu", "tanh", "none"]

ACTIVATIONS = ("relu", "leaky_relu", "glu", "gelu", "silu", "tanh", "none")
# Leaky-ReLU slope used by GAN discriminators (DCGAN, pix2pix); HiFi-GAN passes 0.1 explicitly.
DEFAULT_NEGATIVE_SLOPE = 0.2


class GLU(nn.Module):
    """Gated linear unit: split ``dim`` into halves ``a, b`` and return ``a * sigmoid(b)``.

    Shape: the size of ``dim`` must be even and is halved, e.g. ``(B, 2C, T) -> (B, C, T)``.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[self.dim]
        if size % 2:
            raise ValueError(f"GLU: dimension {self.dim} has odd size {size}; it must hold two equal halves")
        a, b = x.chunk(2, dim=self.dim)
        return a * torch.sigmoid(b)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def activation(name: ActName, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> nn.Module:
    """Return the activation module called ``name``; ``"glu"`` halves the channel axis (dim 1)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    if name == "glu":
        return GLU(dim=1)
    if name == "gelu":
        return nn.GELU()
    if name == "silu":
        return nn.SiLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "none":
        return nn.Identity()
    raise ValueError(f"activation: name must be one of {ACTIVATIONS}, got {name!r}")
