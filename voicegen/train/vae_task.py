"""The spectrogram VAE as a ``TrainTask``: one phase (``vae``), losses ``rec`` and ``kl``.

Units (chosen so that ``trainer.loss_weights = {"rec": 1, "kl": 1}`` is the negative ELBO per mel
bin of a Laplace decoder with unit scale, up to a constant):

* ``rec``: mean absolute error between the reconstruction and the input, on normalised log-mels
  (per mel bin). L1 rather than Gaussian NLL: it is robust to the outlying low-energy bins and
  needs no learned variance.
* ``kl``: ``KL(q(z | mel) || N(0, I))`` summed over latent elements, averaged over the batch and
  divided by the mel bins per item (nats per mel bin). Its weight is beta (beta-VAE).
* with capacity control (Burgess et al. 2018, ``capacity_max > 0``): ``kl`` is instead
  ``|KL - C(step)|`` in the same units, ``C`` growing linearly from 0 to ``capacity_max`` over
  ``capacity_steps`` steps; its weight is gamma. ``capacity_max`` is given in nats per latent
  frame (all latent channels together), which is independent of segment length.
* ``kl_nats``: the KL in nats per latent frame, logged with weight 0 (never trained on).

Validation reports ``rec``, ``kl_nats``, ``kl_dim/<i>`` (each latent channel's KL in nats per latent
frame) and ``active_dims`` (channels above ``COLLAPSE_NATS``), warns once per validation when more
than half the channels are below ``COLLAPSE_NATS`` (posterior collapse), and draws input vs
reconstruction of the first clips.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from torch import Tensor, nn

from voicegen.audio.features import FeatureConfig
from voicegen.audio.plot import mels_figure
from voicegen.audio.stats import SpeakerStats, denormalize
from voicegen.losses import kl_loss, l1_loss, linear_capacity
from voicegen.models.vae import SpectrogramVAE

PHASE = "vae"
LOSS_NAMES = ("rec", "kl", "kl_nats")
# A latent channel carrying less than this (nats per latent frame) is treated as collapsed.
COLLAPSE_NATS = 0.01
# Validation clips (in dataset order) whose input / reconstruction figure is logged.
LOGGED_VAL_CLIPS = 2


class PosteriorCollapseWarning(UserWarning):
    """More than half of the latent channels carry (almost) no information."""


def latent_positions(mean: Tensor) -> int:
    """Latent vectors per item: latent frames of ``(B, z, T)`` latents, 1 for global ``(B, z)`` ones."""
    return math.prod(mean.shape[2:])


def collapsed_dims(kl_per_dim: Tensor, threshold: float = COLLAPSE_NATS) -> int:
    """How many entries of ``kl_per_dim`` ``(z,)`` (nats) are below ``threshold``."""
    return int((kl_per_dim < threshold).sum())


def check_collapse(kl_per_dim: Tensor, logger: Any = None, step: int | None = None) -> bool:
    """Warn (``PosteriorCollapseWarning`` and ``logger.info``) when more than half the dims are below
    ``COLLAPSE_NATS``; return whether it warned."""
    dead, total = collapsed_dims(kl_per_dim), kl_per_dim.numel()
    if 2 * dead <= total:
        return False
    where = "" if step is None else f"step {step}: "
    message = (f"{where}posterior collapse: {dead} of {total} latent dims have KL < {COLLAPSE_NATS} nats "
               "per latent frame; lower beta or use capacity annealing (capacity_max)")
    warnings.warn(message, PosteriorCollapseWarning, stacklevel=2)
    if logger is not None:
        logger.info(message)
    return True


class VAETask:
    """Trains a :class:`~voicegen.models.vae.SpectrogramVAE` on batches ``{"mel": (B, n_mels, F), "speaker": (B,)}``;
    with ``"input"`` (same shape) in the batch, that is encoded and ``mel`` is the reconstruction target.

    Args:
        model: the VAE (conditioned on ``speaker`` when ``model.config.n_speakers > 0``).
        capacity_max: 0 = plain (beta-)VAE; > 0 = capacity objective (nats per latent frame).
        capacity_steps: steps of the linear ramp of C from 0 to ``capacity_max``.
        feature_config, stats: the mel contract and the normalisation stats; validation then draws
            de-normalised input vs reconstruction. Leave them out to skip the figures.
    """

    def __init__(self, model: SpectrogramVAE, *, capacity_max: float = 0.0, capacity_steps: int = 0,
                 feature_config: FeatureConfig | None = None, stats: SpeakerStats | None = None) -> None:
        if capacity_max < 0 or capacity_steps < 0:
            raise ValueError(f"capacity_max and capacity_steps must be >= 0, got {capacity_max}, {capacity_steps}")
        self.model = model
        self.capacity_max = float(capacity_max)
        self.capacity_steps = int(capacity_steps)
        self.feature_config = feature_config
        self.stats = stats
        self._warned_step: int | None = None

    # ------------------------------------------------------------------ TrainTask
    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.model}

    def optimizer_groups(self) -> dict[str, list[str]]:
        return {PHASE: ["vae"]}

    def loss_names(self) -> dict[str, list[str]]:
        return {PHASE: list(LOSS_NAMES)}

    def capacity(self, step: int) -> float:
        """C(step) in nats per latent frame (0 without capacity control)."""
        return linear_capacity(step, self.capacity_max, self.capacity_steps) if self.capacity_max else 0.0

    def losses(self, phase: str, batch: Any, step: int) -> dict[str, Tensor]:
        if phase != PHASE:
            raise ValueError(f"VAETask has one phase {PHASE!r}, got {phase!r}")
        mel, speaker = self._unpack(batch)
        source = batch.get("input") if isinstance(batch, dict) else None  # denoising: encode this, decode mel
        out = self.model(mel if source is None else source.view_as(mel), speaker)
        kl_total, _ = kl_loss(out.mean, out.logvar)
        bins = mel[0].numel()
        latent_frames = latent_positions(out.mean)
        kl_bin = kl_total / bins
        if self.capacity_max:
            kl_term = (kl_bin - self.capacity(step) * latent_frames / bins).abs()
        else:
            kl_term = kl_bin
        return {"rec": self.reconstruction(out.mel_hat, mel), "kl": kl_term,
                "kl_nats": (kl_total / latent_frames).detach()}

    def reconstruction(self, mel_hat: Tensor, mel: Tensor) -> Tensor:
        """The ``rec`` loss per input element (here L1; an image VAE overrides it with a Bernoulli NLL)."""
        return l1_loss(mel_hat, mel)

    # ----------------------------------------------------------------- validation
    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        """Reconstruct whole held-out clips (posterior mean); see the module docstring for the metrics."""
        mel, speaker = self._unpack(batch)
        out = self.model(mel, speaker, sample=False)
        kl_total, per_dim = kl_loss(out.mean.float(), out.logvar.float())
        latent_frames = latent_positions(out.mean)
        per_frame = per_dim / latent_frames
        metrics = {"rec": float(self.reconstruction(out.mel_hat.float(), mel.float())),
                   "kl_nats": float(kl_total) / latent_frames,
                   "active_dims": float(per_frame.numel() - collapsed_dims(per_frame))}
        metrics.update({f"kl_dim/{i}": float(v) for i, v in enumerate(per_frame.tolist())})
        if self._warned_step != step and check_collapse(per_frame.cpu(), logger, step):
            self._warned_step = step
        if self.feature_config is not None and self.stats is not None and "index" in batch:
            for row, index in enumerate(batch["index"].tolist()):
                if index >= LOGGED_VAL_CLIPS:
                    continue
                source = denormalize(mel[row, 0].float().cpu().numpy(), self.stats)
                rebuilt = denormalize(out.mel_hat[row, 0].float().cpu().numpy(), self.stats)
                fig = mels_figure([source, rebuilt], ["input", f"reconstruction (step {step})"], self.feature_config)
                logger.figure(f"val/mel_{index}", fig, step)
        return metrics

    def _unpack(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        if not isinstance(batch, dict) or "mel" not in batch:
            raise ValueError("VAETask: a batch is a dict with 'mel' (B, n_mels, F) and optionally 'speaker' (B,)")
        mel = batch["mel"]
        mel = mel.unsqueeze(1) if mel.dim() == 3 else mel
        speaker = batch.get("speaker") if self.model.config.n_speakers else None
        return mel, speaker
