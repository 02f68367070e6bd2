"""GAN losses (LSGAN, hinge, non-saturating BCE) and feature matching, for one or many discriminators.

Logits may be one tensor or a list (one per discriminator, e.g. HiFi-GAN's MPD + MSD sub-
discriminators); the total is the sum over discriminators of each one's mean over elements.
The caller detaches the generator output before computing the discriminator loss.
"""

from __future__ import annotations

from typing import Literal, Sequence, Union

import torch
import torch.nn.functional as F

AdversarialKind = Literal["lsgan", "hinge", "bce"]
Logits = Union[torch.Tensor, Sequence[torch.Tensor]]
Features = Union[Sequence[torch.Tensor], Sequence[Sequence[torch.Tensor]]]

ADVERSARIAL_KINDS = ("lsgan", "hinge", "bce")


def _as_list(logits: Logits, name: str) -> list[torch.Tensor]:
    items = [logits] if isinstance(logits, torch.Tensor) else list(logits)
    if not items:
        raise ValueError(f"{name}: got an empty list of discriminator outputs")
    return items


def _check_kind(kind: str) -> None:
    if kind not in ADVERSARIAL_KINDS:
        raise ValueError(f"adversarial loss kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}")


def _d_term(real: torch.Tensor, fake: torch.Tensor, kind: AdversarialKind) -> torch.Tensor:
    if kind == "lsgan":
        return (1.0 - real).pow(2).mean() + fake.pow(2).mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return (
        F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    )


def _g_term(fake: torch.Tensor, kind: AdversarialKind) -> torch.Tensor:
    if kind == "lsgan":
        return (1.0 - fake).pow(2).mean()
    if kind == "hinge":
        return -fake.mean()
    # Non-saturating generator loss: -log sigmoid(fake).
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def adversarial_d_losses(
    logits_real: Logits, logits_fake: Logits, kind: AdversarialKind = "lsgan"
) -> list[torch.Tensor]:
    """Discriminator loss of each discriminator (scalars), in input order.

    LSGAN: ``mean((1 - r)^2) + mean(f^2)``; hinge: ``mean(relu(1 - r)) + mean(relu(1 + f))``;
    BCE: ``BCE(r, 1) + BCE(f, 0)`` on logits.
    """
    _check_kind(kind)
    reals = _as_list(logits_real, "adversarial_d_loss")
    fakes = _as_list(logits_fake, "adversarial_d_loss")
    if len(reals) != len(fakes):
        raise ValueError(f"adversarial_d_loss: {len(reals)} real outputs but {len(fakes)} fake outputs")
    return [_d_term(r, f, kind) for r, f in zip(reals, fakes)]


def adversarial_d_loss(logits_real: Logits, logits_fake: Logits, kind: AdversarialKind = "lsgan") -> torch.Tensor:
    """Discriminator loss summed over discriminators (scalar); see ``adversarial_d_losses``."""
    return torch.stack(adversarial_d_losses(logits_real, logits_fake, kind)).sum()


def adversarial_g_losses(logits_fake: Logits, kind: AdversarialKind = "lsgan") -> list[torch.Tensor]:
    """Generator loss against each discriminator (scalars).

    LSGAN: ``mean((1 - f)^2)``; hinge: ``-mean(f)``; BCE: ``BCE(f, 1)`` (non-saturating).
    """
    _check_kind(kind)
    return [_g_term(f, kind) for f in _as_list(logits_fake, "adversarial_g_loss")]


def adversarial_g_loss(logits_fake: Logits, kind: AdversarialKind = "lsgan") -> torch.Tensor:
    """Generator loss summed over discriminators (scalar); see ``adversarial_g_losses``."""
    return torch.stack(adversarial_g_losses(logits_fake, kind)).sum()


def _nested(feats: Features) -> list[list[torch.Tensor]]:
    items = list(feats)
    if items and isinstance(items[0], torch.Tensor):
        return [items]  # one discriminator's list of layers
    return [list(layers) for layers in items]


def feature_matching_loss(feats_real: Features, feats_fake: Features) -> torch.Tensor:
    """Sum over discriminators and layers of ``mean |real - fake|`` (HiFi-GAN's feature matching).

    Accepts ``[[layer, ...] per discriminator]`` or one discriminator's ``[layer, ...]``. Real
    features are detached so only the generator receives gradients. Returns a scalar.
    """
    reals = _nested(feats_real)
    fakes = _nested(feats_fake)
    if len(reals) != len(fakes) or not reals:
        raise ValueError(f"feature_matching_loss: {len(reals)} real vs {len(fakes)} fake discriminator feature lists")
    terms = []
    for d, (layers_real, layers_fake) in enumerate(zip(reals, fakes)):
        if len(layers_real) != len(layers_fake):
            raise ValueError(
                f"feature_matching_loss: discriminator {d} has {len(layers_real)} real "
                f"vs {len(layers_fake)} fake layers"
            )
        for real, fake in zip(layers_real, layers_fake):
            if real.shape != fake.shape:
                raise ValueError(
                    f"feature_matching_loss: discriminator {d} feature shapes differ: "
                    f"{tuple(real.shape)} vs {tuple(fake.shape)}"
                )
            terms.append((real.detach() - fake).abs().mean())
    if not terms:
        raise ValueError("feature_matching_loss: no feature layers given")
    return torch.stack(terms).sum()
