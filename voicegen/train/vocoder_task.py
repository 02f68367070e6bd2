"""The vocoder GAN as a ``TrainTask``: mel -> waveform generator against waveform discriminators.

One step (``trainer.optimizers``: ``disc`` then ``gen``):

* ``disc``: the batch's log-mel is computed on its device, the generator runs once and its output
  is cached for the step; the discriminator loss ``adv_d`` compares real and (detached) generated
  audio. During the warm-up (steps ``1..adversarial_start``) the phase returns ``{}`` and the
  Trainer skips it, so early training costs only the generator.
* ``gen``: mel L1 between the generated and real audio (``mel``), optionally a multi-resolution
  STFT loss (``stft``) and a multi-resolution mel L1 (``mel_multi``: the mel contract at other FFT
  sizes and band counts, :data:`DEFAULT_MEL_RESOLUTIONS`), for a pitch-conditioned generator
  optionally the harmonics' relative phases (``harmonic_phase``,
  :func:`voicegen.losses.phase.harmonic_phase_loss`), and after the warm-up the adversarial
  loss ``adv_g`` and feature matching ``fm``. Loss names are weighted by ``trainer.loss_weights``.

A pitch-conditioned generator (``needs_f0``) gets batches ``{"wav": (B, T), "f0": (B, 2, frames)}``
and its input rows are the log-mel, the F0 rows and the excitation phase at each frame centre,
integrated from a random start phase (the generator must not depend on where a crop starts).
Batches may also carry ``"mel"`` (B, n_mels, frames) and ``"use_mel"`` (B,): where ``use_mel`` is
positive that mel (made by another model, e.g. a converter) replaces the one computed from the
audio as the generator's input; the loss target stays the audio.

Validation runs on whole (cropped) held-out clips at batch size 1 and reports ``mel_l1`` and
``lsd`` (log-spectral distance in dB), for pitch-conditioned generators also the F0 the output
carries against the input F0 (``f0_rmse_cents``, ``gpe``: WORLD DIO on both), and DNSMOS
(``dnsmos_ovrl``) when ``speechmos`` is installed; the first clips are also logged as audio and as
real vs generated mel pictures.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from voicegen.audio.contract import mel_filterbank
from voicegen.audio.features import FeatureConfig, MelSpectrogram
from voicegen.audio.plot import mels_figure
from voicegen.errors import ConfigError
from voicegen.losses import (
    DEFAULT_RESOLUTIONS,
    AdversarialKind,
    MultiResolutionSTFTLoss,
    adversarial_d_loss,
    adversarial_g_loss,
    feature_matching_loss,
    mel_l1_loss,
)
from voicegen.losses.phase import harmonic_phase_loss
from voicegen.models.vocoder import frame_phase

# Optimizer (phase) names, in update order, and the module names they train.
DISC_PHASE = "disc"
GEN_PHASE = "gen"
GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
# Loss names per phase: always (warm-up included) and only once the adversarial phase runs.
WARMUP_LOSSES: dict[str, tuple[str, ...]] = {DISC_PHASE: (), GEN_PHASE: ("mel",)}
ADVERSARIAL_LOSSES: dict[str, tuple[str, ...]] = {DISC_PHASE: ("adv_d",), GEN_PHASE: ("adv_g", "fm")}
STFT_LOSS = "stft"
MEL_MULTI_LOSS = "mel_multi"
HARMONIC_PHASE_LOSS = "harmonic_phase"
# ``[n_fft, hop_length, win_length, n_mels]`` of the multi-resolution mel loss: 2 to 128 ms windows at 16 kHz with
# a quarter-window hop and bands in proportion to the window (the window/band pairs of Kumar et al. 2023, DAC).
DEFAULT_MEL_RESOLUTIONS: tuple[tuple[int, int, int, int], ...] = tuple(
    (win, win // 4, win, bands) for win, bands in
    ((32, 5), (64, 10), (128, 20), (256, 40), (512, 80), (1024, 160), (2048, 320)))
# Validation clips (in dataset order) whose audio and mel picture are logged.
LOGGED_VAL_CLIPS = 2
# Floor on the power spectrum before log10 in the log-spectral distance (-100 dB).
LSD_POWER_FLOOR = 1e-10


def mel_resolution_contracts(
    contract: FeatureConfig, resolutions: Sequence[Sequence[int]]
) -> list[FeatureConfig]:
    """``contract`` with each ``(n_fft, hop_length, win_length, n_mels)`` of ``resolutions`` in place of its own
    (rate, band limits, window, scale, log floor kept); ValueError (one line) naming the first unusable one:
    not four values, not a valid mel contract, or bands too narrow for its FFT (a band with no FFT bin)."""
    if not resolutions:
        raise ValueError("mel resolutions must not be empty")
    contracts = []
    for i, res in enumerate(resolutions):
        if len(res) != 4:
            raise ValueError(f"mel resolution {i} must be (n_fft, hop_length, win_length, n_mels), got {list(res)!r}")
        n_fft, hop, win, bands = (int(v) for v in res)
        try:
            variant = replace(contract, n_fft=n_fft, hop_length=hop, win_length=win, n_mels=bands)
        except ConfigError as error:
            raise ValueError(f"mel resolution {i} {list(res)!r}: {error}") from None
        if (mel_filterbank(variant).sum(axis=1) == 0).any():
            raise ValueError(f"mel resolution {i} {list(res)!r}: {bands} bands leave some without an FFT bin at "
                             f"n_fft {n_fft}; use fewer bands or a longer FFT")
        contracts.append(variant)
    return contracts


class VocoderTask:
    """Trains ``generator`` (mel ``(B, n_mels, frames)`` -> wav ``(B, 1, frames * hop)``) as a GAN.

    Args:
        generator: a vocoder generator whose hop matches ``feature_config.hop_length``.
        discriminator: returns ``(logits list, features list)`` for a waveform batch ``(B, 1, T)``.
        feature_config: the mel contract (the generator's input and the mel loss's transform).
        adversarial_loss: ``lsgan`` | ``hinge`` | ``bce``.
        adversarial_start: steps ``1..adversarial_start`` train the generator on spectral losses
            only; the discriminator trains from step ``adversarial_start + 1`` (0: from the start).
        stft_loss: also return the multi-resolution STFT loss ``stft`` from the ``gen`` phase.
        stft_resolutions: that loss's ``(n_fft, hop_length, win_length)`` triples (default Parallel
            WaveGAN's, :data:`voicegen.losses.DEFAULT_RESOLUTIONS`).
        mel_multi_loss: also return ``mel_multi``, the mean of mel L1 losses at ``mel_resolutions``.
        mel_resolutions: that loss's ``(n_fft, hop_length, win_length, n_mels)``, each a variant of the
            mel contract (:func:`mel_resolution_contracts`; default :data:`DEFAULT_MEL_RESOLUTIONS`).
        harmonic_phase_loss: also return ``harmonic_phase`` (pitch-conditioned generators only: it reads
            the batch's F0 rows).
        mel_smoothing: share of training examples whose input mel is blurred in time
            (:func:`smooth_mel`, a random strength per example); the loss target is unchanged.
        dnsmos_framings: validation DNSMOS is the mean over this many framings of each clip.

    Training batches are waveforms ``(B, T)`` in [-1, 1]; validation batches are
    ``{"wav": (1, T), "index": (1,)}`` (see ``voicegen.train.vocoder.ValidationClips``).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        feature_config: FeatureConfig,
        *,
        adversarial_loss: AdversarialKind = "lsgan",
        adversarial_start: int = 0,
        stft_loss: bool = False,
        stft_resolutions: Sequence[Sequence[int]] = DEFAULT_RESOLUTIONS,
        mel_multi_loss: bool = False,
        mel_resolutions: Sequence[Sequence[int]] = DEFAULT_MEL_RESOLUTIONS,
        harmonic_phase_loss: bool = False,
        mel_smoothing: float = 0.0,
        dnsmos_framings: int = 1,
    ) -> None:
        if adversarial_start < 0:
            raise ValueError(f"adversarial_start must be >= 0, got {adversarial_start}")
        self.generator = generator
        self.discriminator = discriminator
        self.feature_config = feature_config
        self.adversarial_loss = adversarial_loss
        self.adversarial_start = adversarial_start
        self.mel = MelSpectrogram(feature_config)
        self.stft = MultiResolutionSTFTLoss(stft_resolutions) if stft_loss else None
        self.mel_multi = nn.ModuleList(
            MelSpectrogram(contract) for contract in mel_resolution_contracts(feature_config, mel_resolutions)
        ) if mel_multi_loss else None
        if harmonic_phase_loss and not getattr(generator, "needs_f0", False):
            raise ValueError("VocoderTask: the harmonic_phase loss needs a pitch-conditioned generator")
        self.harmonic_phase = harmonic_phase_loss
        self.mel_smoothing = mel_smoothing
        self.dnsmos_framings = dnsmos_framings
        self._cache: tuple[int, Tensor, Tensor] | None = None  # (step, wav, wav_hat) of this step

    # ------------------------------------------------------------------ TrainTask
    def modules(self) -> dict[str, nn.Module]:
        return {GENERATOR: self.generator, DISCRIMINATOR: self.discriminator}

    def optimizer_groups(self) -> dict[str, list[str]]:
        return {DISC_PHASE: [DISCRIMINATOR], GEN_PHASE: [GENERATOR]}

    def loss_names(self) -> dict[str, list[str]]:
        """Every loss name each phase can return (some only after the warm-up)."""
        names = {phase: [*WARMUP_LOSSES[phase], *ADVERSARIAL_LOSSES[phase]] for phase in WARMUP_LOSSES}
        names[GEN_PHASE] += [STFT_LOSS, MEL_MULTI_LOSS, HARMONIC_PHASE_LOSS]  # a configured weight 0 switches a loss off: not a typo
        return names

    def adversarial(self, step: int) -> bool:
        """Whether step ``step`` (1-based) trains the discriminator and uses adversarial losses."""
        return step > self.adversarial_start

    def losses(self, phase: str, batch: Tensor | dict[str, Tensor], step: int) -> dict[str, Tensor]:
        wav, wav_hat = self._generate(batch, step)
        if phase == DISC_PHASE:
            if not self.adversarial(step):
                return {}
            logits_real, _ = self.discriminator(wav.unsqueeze(1))
            logits_fake, _ = self.discriminator(wav_hat.detach().unsqueeze(1))
            return {"adv_d": adversarial_d_loss(logits_real, logits_fake, self.adversarial_loss)}
        if phase != GEN_PHASE:
            raise ValueError(f"VocoderTask has phases {DISC_PHASE!r} and {GEN_PHASE!r}, got {phase!r}")
        self._cache = None  # the generator phase is the last one of the step
        out = {"mel": mel_l1_loss(wav_hat, wav, self._mel_fn(wav))}
        if self.stft is not None:
            out[STFT_LOSS] = self.stft.to(wav.device)(wav_hat, wav)  # in place; a no-op once moved
        if self.mel_multi is not None:
            mels = self.mel_multi.to(wav.device)
            out[MEL_MULTI_LOSS] = sum(mel_l1_loss(wav_hat, wav, mel) for mel in mels) / len(mels)
        if self.harmonic_phase:
            f0 = batch["f0"]
            cfg = self.feature_config
            out[HARMONIC_PHASE_LOSS] = harmonic_phase_loss(
                wav_hat, wav, f0[:, 0], f0[:, 1], n_fft=cfg.n_fft, hop_length=cfg.hop_length, pad=cfg.pad,
                sample_rate=cfg.sample_rate, window=self._mel_fn(wav).window)
        if self.adversarial(step):
            logits_fake, feats_fake = self.discriminator(wav_hat.unsqueeze(1))
            with torch.no_grad():
                _, feats_real = self.discriminator(wav.unsqueeze(1))
            out["adv_g"] = adversarial_g_loss(logits_fake, self.adversarial_loss)
            out["fm"] = feature_matching_loss(feats_real, feats_fake)
        return out

    # ----------------------------------------------------------------- validation
    def validate(self, batch: dict[str, Tensor], step: int, logger: Any) -> dict[str, float]:
        wav = batch["wav"]
        mel_fn = self._mel_fn(wav)
        mel = mel_fn(wav)
        start = torch.zeros(wav.shape[0], device=wav.device)
        wav_hat = self.generator(self._inputs(mel, batch.get("f0"), start))[:, 0].float()
        wav, wav_hat = _trimmed(wav, wav_hat)
        mel, mel_hat = mel_fn(wav), mel_fn(wav_hat)
        metrics = {
            "mel_l1": float((mel_hat - mel).abs().mean()),
            "lsd": float(log_spectral_distance(wav_hat, wav, self.feature_config.n_fft,
                                               self.feature_config.hop_length)),
        }
        if batch.get("f0") is not None:
            metrics.update(_pitch_metrics(wav_hat, batch["f0"], self.feature_config))
        metrics.update(_naturalness(wav_hat, self.feature_config.sample_rate, self.dnsmos_framings))
        rate = self.feature_config.sample_rate
        for row, index in enumerate(batch["index"].tolist()):
            if index < LOGGED_VAL_CLIPS:
                logger.audio(f"val/generated_{index}", wav_hat[row], rate, step)
                fig = mels_figure([mel[row].cpu().numpy(), mel_hat[row].cpu().numpy()],
                                  ["real", f"generated (step {step})"], self.feature_config)
                logger.figure(f"val/mel_{index}", fig, step)
        return metrics

    # ------------------------------------------------------------------- helpers
    def _mel_fn(self, wav: Tensor) -> MelSpectrogram:
        """The mel transform on ``wav``'s device (moved once, in place)."""
        if self.mel.mel_basis.device != wav.device:
            self.mel.to(wav.device)
        return self.mel

    @property
    def needs_f0(self) -> bool:
        return bool(getattr(self.generator, "needs_f0", False))

    def _inputs(self, mel: Tensor, f0: Tensor | None, start: Tensor) -> Tensor:
        """The generator's input: ``mel``, or mel + F0 rows + frame phases from ``start`` ``(B,)``."""
        if not self.needs_f0:
            return mel
        if f0 is None or f0.shape[0] != mel.shape[0] or f0.shape[-1] < mel.shape[-1]:
            raise ValueError(f"VocoderTask: a pitch-conditioned generator needs F0 rows (B, 2, >= {mel.shape[-1]}), "
                             f"got {None if f0 is None else tuple(f0.shape)}")
        f0 = f0[..., :mel.shape[-1]].to(mel.dtype)
        phase = frame_phase(f0[:, 0], start, self.feature_config.sample_rate, self.feature_config.hop_length)
        return torch.cat([mel, f0, phase[:, None]], dim=1)

    def _generate(self, batch: Tensor | dict[str, Tensor], step: int) -> tuple[Tensor, Tensor]:
        """``(wav, wav_hat)`` of this step, both ``(B, T')`` trimmed to a common length (cached)."""
        if self._cache is not None and self._cache[0] == step:
            return self._cache[1], self._cache[2]
        wav, f0 = (batch["wav"], batch.get("f0")) if isinstance(batch, dict) else (batch, None)
        if wav.dim() != 2:
            raise ValueError(f"VocoderTask: expected a waveform batch (B, T), got shape {tuple(wav.shape)}")
        with torch.no_grad():
            mel = self._mel_fn(wav)(wav)
            if isinstance(batch, dict) and "mel" in batch:  # model-made input mels for some examples
                given = batch["mel"].to(mel.dtype)[..., :mel.shape[-1]]
                mel = torch.where(batch["use_mel"].view(-1, 1, 1) > 0, given, mel)
            if self.mel_smoothing > 0:
                mel = smooth_mel(mel, self.mel_smoothing)
            start = torch.rand(wav.shape[0], device=wav.device) * (2 * math.pi) if self.needs_f0 else None
            inputs = self._inputs(mel, f0, start) if self.needs_f0 else mel
        wav_hat = self.generator(inputs)[:, 0]
        wav, wav_hat = _trimmed(wav, wav_hat)
        self._cache = (step, wav, wav_hat)
        return wav, wav_hat


SMOOTHING_KERNEL = (1.0, 4.0, 6.0, 4.0, 1.0)
"""Binomial weights (sum 16) of the time blur in :func:`smooth_mel`."""


def smooth_mel(mel: Tensor, share: float) -> Tensor:
    """``mel`` (B, n_mels, frames) with a random ``share`` of its examples blurred in time: each chosen
    one becomes ``mel + a * (blur(mel) - mel)`` with ``a ~ U(0, 1)``, where ``blur`` is the 5-frame
    binomial average (edges repeated). The others come back unchanged."""
    kernel = torch.tensor(SMOOTHING_KERNEL, dtype=mel.dtype, device=mel.device) / sum(SMOOTHING_KERNEL)
    pad = len(SMOOTHING_KERNEL) // 2
    b, n, t = mel.shape
    padded = torch.nn.functional.pad(mel.reshape(b * n, 1, t), (pad, pad), mode="replicate")
    blurred = torch.nn.functional.conv1d(padded, kernel.view(1, 1, -1)).reshape(b, n, t)
    chosen = (torch.rand(b, device=mel.device) < share).to(mel.dtype)
    strength = chosen * torch.rand(b, device=mel.device, dtype=mel.dtype)
    return mel + strength.view(b, 1, 1) * (blurred - mel)


def _pitch_metrics(wav_hat: Tensor, f0: Tensor, feature_config: FeatureConfig) -> dict[str, float]:
    """F0 carried by ``wav_hat`` (1, T) against the input F0 rows (1, 2, frames): log-F0 RMSE in cents and
    gross pitch error (share of frames > 20 % off) over frames voiced in both (DIO on the output)."""
    from voicegen.audio.f0 import F0Config, track_f0
    from voicegen.eval.f0 import gross_pitch_error

    out = track_f0(wav_hat[0].detach().cpu().numpy(), feature_config.sample_rate, feature_config.hop_length,
                   F0Config())
    rows = f0[0].detach().cpu().numpy()
    n = min(out.shape[0], rows.shape[1])
    ref = np.where(rows[1, :n] > 0.5, np.exp(rows[0, :n]), 0.0)
    both = (out[:n] > 0) & (ref > 0)
    if not both.any():
        return {}
    cents = 1200 * np.log2(out[:n][both] / ref[both])
    return {"f0_rmse_cents": float(np.sqrt(np.mean(cents ** 2))), "gpe": gross_pitch_error(out[:n], ref)}


def _naturalness(wav_hat: Tensor, sample_rate: int, framings: int = 1) -> dict[str, float]:
    """DNSMOS OVRL of ``wav_hat`` (1, T) when speechmos is installed and the rate is 16 kHz, else nothing."""
    from voicegen.eval.naturalness import (
        DNSMOS_SAMPLE_RATE,
        dnsmos_available,
        dnsmos_scores,
    )

    if sample_rate != DNSMOS_SAMPLE_RATE or not dnsmos_available():
        return {}
    return {"dnsmos_ovrl": dnsmos_scores(wav_hat[0].detach().cpu().numpy(), sample_rate, framings)["dnsmos_ovrl"]}


def _trimmed(wav: Tensor, wav_hat: Tensor) -> tuple[Tensor, Tensor]:
    """Both ``(B, T)`` cut to the shorter length (the generator returns ``frames * hop`` samples)."""
    length = min(wav.shape[-1], wav_hat.shape[-1])
    return wav[..., :length], wav_hat[..., :length]


def log_spectral_distance(wav_hat: Tensor, wav: Tensor, n_fft: int, hop_length: int) -> Tensor:
    """Mean over frames of the RMS (over frequency) difference of the log power spectra, in dB.

    ``wav_hat`` and ``wav``: ``(B, T)`` (same shape). Hann-window STFT, centred frames; powers are
    floored at ``LSD_POWER_FLOOR`` (-100 dB). Returns a scalar averaged over the batch; 0 for
    identical signals, a few dB for a good vocoder.
    """
    if wav_hat.shape != wav.shape:
        raise ValueError(f"log_spectral_distance: shapes differ: {tuple(wav_hat.shape)} vs {tuple(wav.shape)}")
    window = torch.hann_window(n_fft, device=wav.device)

    def log_power(x: Tensor) -> Tensor:
        spec = torch.stft(x.float(), n_fft, hop_length=hop_length, window=window, center=True,
                          return_complex=True)
        return (spec.real.square() + spec.imag.square()).clamp_min(LSD_POWER_FLOOR).log10()

    diff_db = 10.0 * (log_power(wav) - log_power(wav_hat))  # (B, bins, frames)
    return diff_db.square().mean(dim=1).sqrt().mean()
