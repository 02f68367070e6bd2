"""The DCGAN generator and discriminator, unconditional or class-conditional, from ``voicegen.nn`` blocks.

Generator, for ``L = n_levels`` and ``s = image_size / 2 ** L``::

    [z, embedding(label)]                         (B, latent_dim [+ class_dim])
    linear, reshape, norm, ReLU                   (B, base * 2^L, s, s)
    L x (4x4 stride-2 transposed conv, norm, ReLU) (B, base * 2^(L-i-1), s * 2^(i+1), ...)
    3x3 conv, tanh                                (B, channels, image_size, image_size) in [-1, 1]

Discriminator::

    L x (4x4 stride-2 conv, [norm], leaky ReLU)   (B, base * 2^(L-1), s, s)
    flatten -> features h                          (B, F)
    logit = linear(h) [+ <embedding(label), h>]    (B,)
    [class logits = linear(h)]                     (B, n_classes)   auxiliary classifier (AC-GAN)

The class projection (Miyato & Koyama 2018) lets the discriminator judge "a real image of this
class" with one extra embedding table; spectral norm (default) keeps it 1-Lipschitz-ish.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn
from torch.nn.utils import parametrizations

from voicegen.models.gan.config import (
    LEVEL_STRIDE,
    GANDiscriminatorConfig,
    GANGeneratorConfig,
)
from voicegen.nn import ConvBlock, conv, norm_layer

KERNEL = 4  # 4x4 kernels with stride 2 and padding 1 halve / double a side exactly (DCGAN)
PADDING = 1
OUTPUT_KERNEL = 3


def check_labels(labels: Optional[torch.Tensor], n_classes: int, batch: int, where: str) -> Optional[torch.Tensor]:
    """``labels`` as a ``(B,)`` long tensor in ``[0, n_classes)``; None exactly for unconditional models."""
    if n_classes == 0:
        if labels is not None:
            raise ValueError(f"{where}: this model is unconditional (n_classes 0); pass labels=None")
        return None
    if labels is None:
        raise ValueError(f"{where}: this model is conditioned on {n_classes} classes; pass labels (B,)")
    labels = torch.as_tensor(labels).long().reshape(-1)
    if labels.shape[0] != batch or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{where}: labels must be {batch} class ids in [0, {n_classes}), got {labels.tolist()}")
    return labels


class GANGenerator(nn.Module):
    """``forward(z, labels=None)``: ``(B, latent_dim)`` -> images ``(B, C, H, W)`` in [-1, 1]."""

    def __init__(self, config: GANGeneratorConfig) -> None:
        super().__init__()
        self.config = c = config
        self.start = c.image_size // LEVEL_STRIDE**c.n_levels
        self.start_channels = c.base_channels * LEVEL_STRIDE**c.n_levels
        extra = c.class_dim if c.n_classes else 0
        if c.n_classes:
            self.class_embedding = nn.Embedding(c.n_classes, c.class_dim)
        self.project = nn.Linear(c.latent_dim + extra, self.start_channels * self.start**2)
        self.project_norm = nn.Sequential(norm_layer(c.norm, 2, self.start_channels), nn.ReLU())
        channels = self.start_channels
        levels = []
        for _ in range(c.n_levels):
            levels.append(ConvBlock(2, channels, channels // LEVEL_STRIDE, KERNEL, LEVEL_STRIDE, c.norm, "relu",
                                    transposed=True, bias=c.norm == "none"))
            channels //= LEVEL_STRIDE
        self.levels = nn.Sequential(*levels)
        self.output = nn.Sequential(conv(2, channels, c.channels, OUTPUT_KERNEL), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        c = self.config
        if z.dim() != 2 or z.shape[1] != c.latent_dim:
            raise ValueError(f"GANGenerator: expected latents (B, {c.latent_dim}), got shape {tuple(z.shape)}")
        labels = check_labels(labels, c.n_classes, z.shape[0], "GANGenerator")
        if labels is not None:
            z = torch.cat([z, self.class_embedding(labels.to(z.device))], dim=1)
        h = self.project(z).reshape(z.shape[0], self.start_channels, self.start, self.start)
        return self.output(self.levels(self.project_norm(h)))


class GANDiscriminator(nn.Module):
    """``forward(images, labels=None)``: ``(B, C, H, W)`` -> logits ``(B,)`` (real: high)."""

    def __init__(self, config: GANDiscriminatorConfig) -> None:
        super().__init__()
        self.config = c = config
        layers = []
        channels = c.channels
        for level in range(c.n_levels):
            out = c.base_channels * LEVEL_STRIDE**level
            norm = "none" if level == 0 else c.norm
            layers.append(ConvBlock(2, channels, out, KERNEL, LEVEL_STRIDE, norm, "leaky_relu", c.conv_norm,
                                    padding=PADDING, bias=norm == "none"))
            channels = out
        self.levels = nn.Sequential(*layers)
        side = c.image_size // LEVEL_STRIDE**c.n_levels
        self.feature_dim = channels * side * side
        self.logit = self._spectral(nn.Linear(self.feature_dim, 1))
        if c.n_classes:
            self.class_projection = self._spectral(nn.Embedding(c.n_classes, self.feature_dim))
        if c.auxiliary_classifier:
            self.class_head = nn.Linear(self.feature_dim, c.n_classes)

    def _spectral(self, module: nn.Module) -> nn.Module:
        return parametrizations.spectral_norm(module) if self.config.conv_norm == "spectral" else module

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The flattened last feature map ``(B, F)``."""
        c = self.config
        if images.dim() != 4 or tuple(images.shape[1:]) != (c.channels, c.image_size, c.image_size):
            raise ValueError(f"GANDiscriminator: expected images (B, {c.channels}, {c.image_size}, "
                             f"{c.image_size}), got shape {tuple(images.shape)}")
        return self.levels(images).flatten(1)

    def forward(self, images: torch.Tensor, labels: Optional[torch.Tensor] = None, *,
                with_classes: bool = False) -> Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits ``(B,)``; with ``with_classes`` (auxiliary classifier only) also class logits ``(B, n_classes)``."""
        labels = check_labels(labels, self.config.n_classes, images.shape[0], "GANDiscriminator")
        h = self.features(images)
        logits = self.logit(h)[:, 0]
        if labels is not None:
            logits = logits + (self.class_projection(labels.to(h.device)) * h).sum(dim=1)
        if not with_classes:
            return logits
        if not self.config.auxiliary_classifier:
            raise ValueError("GANDiscriminator: with_classes needs auxiliary_classifier: true")
        return logits, self.class_head(h)
