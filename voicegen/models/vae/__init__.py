"""voicegen.models.vae

A convolutional VAE on normalised log-mels ``(B, 1, n_mels, frames)`` with per-frame latents and
optional speaker conditioning of the decoder (the training step lives in ``voicegen.train.vae_task``).

    model = build_vae({"preset": "cpu", "n_speakers": 2})
    mel_hat, mean, logvar = model(mel, speaker)
"""

from collections.abc import Mapping
from typing import Any

from voicegen.models.vae.config import LEVEL_STRIDE, VAE_PRESETS, VAEConfig, vae_config
from voicegen.models.vae.model import SpectrogramVAE, VAEOutput


def build_vae(config: Mapping[str, Any] | VAEConfig, *, source: str = "model") -> SpectrogramVAE:
    """A fresh :class:`SpectrogramVAE` from a plain dict (presets allowed) or a :class:`VAEConfig`."""
    return SpectrogramVAE(vae_config(config, source=source))


__all__ = ["LEVEL_STRIDE", "VAE_PRESETS", "SpectrogramVAE", "VAEConfig", "VAEOutput", "build_vae", "vae_config"]
