"""Normalisation layers for ``(B, C, T)`` and ``(B, C, H, W)`` tensors, chosen by name.

``norm_layer(kind, dims, channels)`` returns instance, batch, group or channel-layer norm (or an
identity for ``"none"``). All of them normalise channel-wise statistics, so a GLU block may
normalise its ``2 * C`` pre-gate channels at once (identical to two separate per-half norms for
instance and batch norm).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.nn.utils import check_dims

NormKind = Literal["none", "instance", "batch", "group", "layer"]

NORM_KINDS = ("none", "instance", "batch", "group", "layer")
# Default group count for group norm (Wu & He 2018); reduced to a divisor of the channel count.
DEFAULT_MAX_GROUPS = 32
# Numerical floor inside every norm's variance (torch's default).
NORM_EPS = 1e-5

_INSTANCE = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d}
_BATCH = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channel axis at every position of ``(B, C, *spatial)`` (as in ConvNeXt).

    Unlike ``nn.GroupNorm(1, C)`` it does not mix statistics across time/pixels, so it behaves the
    same on any input length. Output has the input's shape.
    """

    def __init__(self, channels: int, *, affine: bool = True, eps: float = NORM_EPS) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial) -> (B, C, *spatial)``."""
        x = x.movedim(1, -1)
        x = F.layer_norm(x, (self.channels,), self.weight, self.bias, self.eps)
        return x.movedim(-1, 1)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}, affine={self.weight is not None}"


def norm_layer(
    kind: NormKind,
    dims: int,
    channels: int,
    *,
    affine: bool = True,
    groups: int | None = None,
) -> nn.Module:
    """Build a normalisation layer for ``dims``-D feature maps with ``channels`` channels.

    Args:
        kind: ``"instance"`` (per sample and channel over positions; no running stats),
            ``"batch"``, ``"group"``, ``"layer"`` (over channels at each position) or ``"none"``.
        affine: learn a per-channel scale and shift.
        groups: group count for ``"group"``; default ``gcd(32, channels)``. Must divide ``channels``.
    """
    check_dims(dims, "norm_layer")
    if kind not in NORM_KINDS:
        raise ValueError(f"norm_layer: kind must be one of {NORM_KINDS}, got {kind!r}")
    if channels < 1:
        raise ValueError(f"norm_layer: channels must be >= 1, got {channels}")
    if kind == "none":
        return nn.Identity()
    if kind == "instance":
        return _INSTANCE[dims](channels, affine=affine, eps=NORM_EPS)
    if kind == "batch":
        return _BATCH[dims](channels, affine=affine, eps=NORM_EPS)
    if kind == "group":
        n_groups = math.gcd(DEFAULT_MAX_GROUPS, channels) if groups is None else groups
        if n_groups < 1 or channels % n_groups:
            raise ValueError(f"norm_layer: groups={n_groups} must divide channels={channels}")
        return nn.GroupNorm(n_groups, channels, eps=NORM_EPS, affine=affine)
    return ChannelLayerNorm(channels, affine=affine)
