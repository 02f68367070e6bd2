"""CycleGAN as a ``TrainTask``: two generators and two (or four) discriminators, unpaired domains A and B.

Works for mels (MaskCycleGAN-VC: masked generators, ``(B, n_mels, F)`` batches, discriminators on
``(B, 1, n_mels, F)``) and for images (ResNet generators, ``(B, C, H, W)``), with the same step.

One step (``trainer.optimizers``: ``gen`` then ``disc``):

* ``gen``: ``fake_b = G_ab(a * mask_a, mask_a)``, ``fake_a = G_ba(b * mask_b, mask_b)``; cycles
  ``cycle_a = G_ba(fake_b)``, ``cycle_b = G_ab(fake_a)`` with all-ones masks. Losses (LSGAN):
  ``adv_g`` (D_b on fake_b + D_a on fake_a), ``adv2_g`` (two-step adversarial: D_a2 on cycle_a +
  D_b2 on cycle_b), ``cycle`` (L1 of cycle_a to a + cycle_b to b), and for steps
  ``<= identity_steps`` ``identity`` (L1 of G_ba(a) to a + G_ab(b) to b); afterwards no identity
  term is returned (and the identity passes are not computed).
* ``disc``: the generator outputs of this step, detached (computed once in ``gen``):
  ``adv_d`` (D_a: a vs fake_a, D_b: b vs fake_b) and ``adv2_d`` (D_a2: a vs cycle_a, D_b2: b vs cycle_b).

Gen first lets the discriminators reuse this step's generator outputs without a second generator
pass; the discriminators then see outputs of the generators from before their update, as in the
reference CycleGAN. Batches: ``{"a", "b", "mask_a", "mask_b"}`` (masks optional) or a pair ``(a, b)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from voicegen.audio.f0 import affine_lf0, log_gaussian
from voicegen.audio.features import FeatureConfig
from voicegen.audio.plot import mels_figure
from voicegen.audio.stats import SpeakerStats, denormalize
from voicegen.losses import adversarial_d_loss, adversarial_g_loss, l1_loss

GEN_PHASE = "gen"
DISC_PHASE = "disc"
GENERATORS = ("G_ab", "G_ba")
DISCRIMINATORS = ("D_a", "D_b")
TWO_STEP_DISCRIMINATORS = ("D_a2", "D_b2")
LOSS_NAMES: dict[str, tuple[str, ...]] = {GEN_PHASE: ("adv_g", "adv2_g", "cycle", "identity"),
                                          DISC_PHASE: ("adv_d", "adv2_d")}
TWO_STEP_LOSSES = ("adv2_g", "adv2_d")
# Validation clips (in dataset order) whose figure (and audio, with a vocoder) is logged.
LOGGED_VAL_CLIPS = 2

VocoderFn = Callable[[np.ndarray], np.ndarray]


class CycleGANTask:
    """Trains ``G_ab`` / ``G_ba`` against ``D_a`` / ``D_b`` (and ``D_a2`` / ``D_b2`` when both are given).

    Args:
        identity_steps: steps ``1..identity_steps`` add the identity loss (0: never).
        feature_config, stats_a, stats_b: for mels, the contract and the speakers' statistics;
            validation then draws source vs converted mel pictures (de-normalised with A's and B's
            stats). Leave them out for images.
        vocoder_fn: optional ``(mel (n_mels, F), f0 rows (2, F) or None) -> wav (T,)`` (de-normalised
            log-mel in, float audio at ``feature_config.sample_rate`` out); validation then also logs
            the converted audio. Validation batches with ``"f0"`` rows (the source's) pass them moved
            to speaker B by the log-Gaussian transform of the two speakers' log-F0 statistics.
        scorer: with ``vocoder_fn``, ``scorer(wav_hat, reference or None) -> metrics`` scores every
            validation conversion (:class:`voicegen.eval.scoring.ConversionScorer`: MCD, log-F0
            RMSE and gross pitch error against a parallel ``"reference"`` in the batch, DNSMOS).
    """

    def __init__(
        self,
        G_ab: nn.Module,
        G_ba: nn.Module,
        D_a: nn.Module,
        D_b: nn.Module,
        D_a2: nn.Module | None = None,
        D_b2: nn.Module | None = None,
        *,
        identity_steps: int = 0,
        feature_config: FeatureConfig | None = None,
        stats_a: SpeakerStats | None = None,
        stats_b: SpeakerStats | None = None,
        vocoder_fn: VocoderFn | None = None,
        scorer: Callable[..., dict[str, float]] | None = None,
    ) -> None:
        if (D_a2 is None) != (D_b2 is None):
            raise ValueError("CycleGANTask: give both two-step discriminators D_a2 and D_b2, or neither")
        if identity_steps < 0:
            raise ValueError(f"identity_steps must be >= 0, got {identity_steps}")
        if vocoder_fn is not None and feature_config is None:
            raise ValueError("CycleGANTask: vocoder_fn needs feature_config (the audio's sample rate)")
        self.G_ab, self.G_ba, self.D_a, self.D_b = G_ab, G_ba, D_a, D_b
        self.D_a2, self.D_b2 = D_a2, D_b2
        self.identity_steps = identity_steps
        self.feature_config = feature_config
        self.stats_a, self.stats_b = stats_a, stats_b
        self.vocoder_fn = vocoder_fn
        self.scorer = scorer
        self._cache: tuple[int, dict[str, Tensor]] | None = None  # (step, detached outputs for ``disc``)

    @property
    def two_step(self) -> bool:
        """Whether the two-step adversarial losses (on cycle outputs) are trained."""
        return self.D_a2 is not None

    # ------------------------------------------------------------------ TrainTask
    def modules(self) -> dict[str, nn.Module]:
        modules = {"G_ab": self.G_ab, "G_ba": self.G_ba, "D_a": self.D_a, "D_b": self.D_b}
        if self.two_step:
            modules.update({"D_a2": self.D_a2, "D_b2": self.D_b2})
        return modules

    def optimizer_groups(self) -> dict[str, list[str]]:
        discriminators = list(DISCRIMINATORS) + (list(TWO_STEP_DISCRIMINATORS) if self.two_step else [])
        return {GEN_PHASE: list(GENERATORS), DISC_PHASE: discriminators}

    def loss_names(self) -> dict[str, list[str]]:
        """Every loss name each phase can return (``identity`` only during the first steps)."""
        skip = () if self.two_step else TWO_STEP_LOSSES
        return {phase: [n for n in names if n not in skip] for phase, names in LOSS_NAMES.items()}

    def losses(self, phase: str, batch: Any, step: int) -> dict[str, Tensor]:
        if phase == GEN_PHASE:
            return self._generator_losses(batch, step)
        if phase == DISC_PHASE:
            return self._discriminator_losses(batch, step)
        raise ValueError(f"CycleGANTask has phases {GEN_PHASE!r} and {DISC_PHASE!r}, got {phase!r}")

    def _generator_losses(self, batch: Any, step: int) -> dict[str, Tensor]:
        a, b, mask_a, mask_b = unpack_batch(batch)
        fake_b = generate(self.G_ab, a, mask_a)
        fake_a = generate(self.G_ba, b, mask_b)
        cycle_a = generate(self.G_ba, fake_b)
        cycle_b = generate(self.G_ab, fake_a)
        out = {
            "adv_g": adversarial_g_loss(self.D_b(as_image(fake_b))) + adversarial_g_loss(self.D_a(as_image(fake_a))),
        }
        if self.two_step:
            out["adv2_g"] = (adversarial_g_loss(self.D_a2(as_image(cycle_a)))
                             + adversarial_g_loss(self.D_b2(as_image(cycle_b))))
        out["cycle"] = l1_loss(cycle_a, a) + l1_loss(cycle_b, b)
        if step <= self.identity_steps:
            out["identity"] = l1_loss(generate(self.G_ba, a), a) + l1_loss(generate(self.G_ab, b), b)
        detached = {"fake_a": fake_a, "fake_b": fake_b, "cycle_a": cycle_a, "cycle_b": cycle_b}
        self._cache = (step, {name: t.detach() for name, t in detached.items()})
        return out

    def _discriminator_losses(self, batch: Any, step: int) -> dict[str, Tensor]:
        a, b, _, _ = unpack_batch(batch)
        if self._cache is None or self._cache[0] != step:
            with torch.no_grad():  # the gen phase did not run this step (e.g. a custom phase order)
                self._generator_losses(batch, step)
        fakes = self._cache[1]
        self._cache = None  # the disc phase is the last of the step
        real_a, real_b = as_image(a), as_image(b)
        out = {
            "adv_d": (adversarial_d_loss(self.D_a(real_a), self.D_a(as_image(fakes["fake_a"])))
                      + adversarial_d_loss(self.D_b(real_b), self.D_b(as_image(fakes["fake_b"])))),
        }
        if self.two_step:
            out["adv2_d"] = (adversarial_d_loss(self.D_a2(real_a), self.D_a2(as_image(fakes["cycle_a"])))
                             + adversarial_d_loss(self.D_b2(real_b), self.D_b2(as_image(fakes["cycle_b"]))))
        return out

    # ----------------------------------------------------------------- validation
    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        """Convert whole held-out A clips ``{"a": (1, n_mels, F), "index": (1,)}`` with G_ab.

        Metrics: ``cycle_l1`` (|G_ba(G_ab(a)) - a|) and ``identity_l1`` (|G_ba(a) - a|), in
        normalised units, and with a vocoder and a scorer the scores of the vocoded conversion
        (``mcd_db``, ``f0_rmse_cents``, ``gpe`` against a ``"reference"`` recording; ``dnsmos_ovrl``).
        The first clips are drawn (source | converted, in dB) and, with a vocoder, logged as audio.
        """
        a = batch["a"].float()
        fake_b = generate(self.G_ab, a).float()
        cycle_a = generate(self.G_ba, fake_b).float()
        metrics = {"cycle_l1": float(l1_loss(cycle_a, a)),
                   "identity_l1": float(l1_loss(generate(self.G_ba, a).float(), a))}
        if self.feature_config is None or self.stats_a is None or self.stats_b is None:
            return metrics
        scores: dict[str, list[float]] = {}
        for row, index in enumerate(batch["index"].tolist()):
            source = denormalize(a[row].cpu().numpy(), self.stats_a)
            converted = denormalize(fake_b[row].cpu().numpy(), self.stats_b)
            logged = index < LOGGED_VAL_CLIPS
            if logged:
                fig = mels_figure([source, converted], ["source (A)", f"converted to B (step {step})"],
                                  self.feature_config)
                logger.figure(f"val/mel_{index}", fig, step)
            if self.vocoder_fn is None or not (logged or self.scorer is not None):
                continue
            rows = batch.get("f0")
            rows = None if rows is None else log_gaussian_rows(rows[row].cpu().numpy(), self.stats_a, self.stats_b)
            wav = np.asarray(self.vocoder_fn(converted, rows), dtype=np.float32)
            if logged:
                logger.audio(f"val/converted_{index}", wav, self.feature_config.sample_rate, step)
            if self.scorer is not None:
                reference = batch.get("reference")
                for name, value in self.scorer(wav, None if reference is None else
                                               reference[row].cpu().numpy()).items():
                    scores.setdefault(name, []).append(value)
        metrics.update({name: float(np.mean(values)) for name, values in scores.items()})
        return metrics


def log_gaussian_rows(rows: np.ndarray, source: SpeakerStats, target: SpeakerStats) -> np.ndarray:
    """F0 rows with log-F0 moved from ``source``'s to ``target``'s log-F0 statistics (unchanged without them)."""
    if None in (source.log_f0_mean, source.log_f0_std, target.log_f0_mean, target.log_f0_std) or not source.log_f0_std:
        return rows
    scale, offset = log_gaussian(source.log_f0_mean, source.log_f0_std, target.log_f0_mean, target.log_f0_std)
    return affine_lf0(rows, scale, offset)


def unpack_batch(batch: Any) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """``(a, b, mask_a, mask_b)`` of a dict batch (masks optional) or an ``(a, b)`` pair."""
    if isinstance(batch, dict):
        try:
            return batch["a"], batch["b"], batch.get("mask_a"), batch.get("mask_b")
        except KeyError as err:
            raise ValueError(f"CycleGANTask: batch dict needs keys 'a' and 'b', missing {err}") from None
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1], None, None
    raise ValueError(f"CycleGANTask: a batch is a dict with 'a' and 'b' or a pair (a, b), got {type(batch).__name__}")


def generate(generator: nn.Module, x: Tensor, mask: Tensor | None = None) -> Tensor:
    """``generator(x, mask)`` for masked (mel) generators, ``generator(x)`` for the others.

    A mask given to a generator without ``takes_mask`` is applied by zeroing (``x * mask``).
    """
    if getattr(generator, "takes_mask", False):
        return generator(x, mask)
    return generator(x if mask is None else x * mask)


def as_image(x: Tensor) -> Tensor:
    """Mels ``(B, n_mels, F)`` -> one-channel images ``(B, 1, n_mels, F)``; images pass unchanged."""
    return x.unsqueeze(1) if x.dim() == 3 else x
