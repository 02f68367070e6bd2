"""voicegen.losses

Adversarial (lsgan | hinge | bce) and feature-matching losses for one or many discriminators,
reconstruction (L1/L2 with masks), VAE KL with capacity control, mel L1 and multi-resolution
STFT losses, and a loss on voiced frames' relative harmonic phases. Imports only torch and
voicegen.nn; the mel transform is passed in by the caller.
"""

from voicegen.losses.adversarial import (
    AdversarialKind,
    adversarial_d_loss,
    adversarial_d_losses,
    adversarial_g_loss,
    adversarial_g_losses,
    feature_matching_loss,
)
from voicegen.losses.phase import harmonic_phase_loss
from voicegen.losses.reconstruction import (
    capacity_kl,
    kl_loss,
    l1_loss,
    l2_loss,
    linear_capacity,
)
from voicegen.losses.spectral import (
    DEFAULT_RESOLUTIONS,
    MultiResolutionSTFTLoss,
    mel_l1_loss,
)

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "AdversarialKind",
    "MultiResolutionSTFTLoss",
    "adversarial_d_loss",
    "adversarial_d_losses",
    "adversarial_g_loss",
    "adversarial_g_losses",
    "capacity_kl",
    "feature_matching_loss",
    "harmonic_phase_loss",
    "kl_loss",
    "l1_loss",
    "l2_loss",
    "linear_capacity",
    "mel_l1_loss",
]
