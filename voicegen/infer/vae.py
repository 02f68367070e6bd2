"""Inference with an exported spectrogram ``vae``: latents, speaker-conditioned decoding, outlier scores.

    vae = load_vae_bundle("runs/vae16k/export")
    posterior = vae.encode(mel)                   # log-mel (n_mels, F) -> q(z | mel), (z, ceil(F / S))
    mel_tm1 = vae.decode(posterior.mean, "TM1", frames=F)
    mel_tm1 = vae.convert_mel(mel, "SF1", "TM1")  # the Converter interface (voicegen convert)
    score = vae.score(mel)                        # negative ELBO per frame (dataset audit)

Every mel is normalised with the statistics pooled over all training speakers (``extra.normalization``
of the artifact), exactly as in training, and decoded mels are de-normalised with them. The encoder
sees no speaker id: conversion encodes the content and decodes it with the target's embedding, so
``source`` only matters for ``--pitch auto``.

Outlier score (``score``): the negative evidence lower bound of the clip per mel frame, in nats,
with the decoder taken as a unit-scale Laplace on normalised log-mels (as in training, up to the
constant ``n_mels log 2`` per frame): ``(sum |x - x_hat| + KL(q(z|x) || N(0, I))) / frames``, with
``x_hat`` decoded from the posterior mean. A speaker-conditioned model scores a clip with the speaker
that explains it best (the smallest value), so an unknown speaker is not penalised for its name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voicegen.audio.features import FeatureConfig, check_log_mel
from voicegen.audio.stats import SpeakerStats, denormalize, normalize
from voicegen.errors import ConfigError
from voicegen.formats.vae import KIND as VAE_KIND  # noqa: F401  (re-exported)
from voicegen.formats.vae import MODULE as VAE_MODULE  # noqa: F401  (re-exported)
from voicegen.formats.vae import load_vae_parts
from voicegen.infer.framebank import FrameBank, redraw_refiner
from voicegen.infer.stream import Chunker, CrossfadeChunks, Stage, run_whole
from voicegen.infer.vae_onnx import CONVERT_CHUNK_FRAMES, CONVERT_OVERLAP_FRAMES  # one definition, torch-free
from voicegen.models.vae import SpectrogramVAE
from voicegen.nn import DiagonalGaussian


@dataclass(frozen=True)
class ClipScore:
    """Negative ELBO per frame of one clip (nats) and its parts; ``speaker`` that gave it (or None)."""

    neg_elbo: float
    rec: float
    kl: float
    speaker: str | None
    frames: int


@dataclass
class VAEBundle:
    """A loaded ``vae`` artifact (eval mode, float32, on ``device``)."""

    model: SpectrogramVAE
    speakers: tuple[str, ...]
    stats: dict[str, SpeakerStats]
    normalization: SpeakerStats
    feature_config: FeatureConfig
    device: torch.device
    path: Path | None = None
    frame_bank: FrameBank | None = None
    """The bundle's frame bank (``extra.frame_bank``, :mod:`voicegen.infer.framebank`): each conversion
    into a speaker it holds is re-drawn from that speaker's frames; None when absent or turned off."""

    @property
    def latent_channels(self) -> int:
        return self.model.config.latent_channels

    def speaker_id(self, name: str) -> int:
        """Index of speaker ``name``; ConfigError listing the model's speakers otherwise."""
        if name not in self.speakers:
            known = ", ".join(self.speakers) or "none: this model is not speaker-conditioned"
            raise ConfigError(f"speaker {name!r} is not in this VAE (speakers: {known})")
        return self.speakers.index(name)

    def generator(self, source: str, target: str) -> SpectrogramVAE:
        """Check a ``source -> target`` direction (both known, different) and return the model."""
        for name in (source, target):
            self.speaker_id(name)
        if source == target:
            raise ConfigError(f"source and target are both {source!r}; pick two different speakers "
                              f"({', '.join(self.speakers)})")
        return self.model

    def _mel_tensor(self, mel: np.ndarray) -> torch.Tensor:
        mel = check_log_mel(mel, self.feature_config.n_mels)
        return torch.from_numpy(normalize(mel, self.normalization)).to(self.device)[None, None]

    @torch.no_grad()
    def encode(self, mel: np.ndarray) -> DiagonalGaussian:
        """Posterior of a log-mel ``(n_mels, F)`` (not normalised): mean/logvar ``(z, ceil(F / S))`` on the CPU."""
        posterior = self.model.encode(self._mel_tensor(mel))
        return DiagonalGaussian(posterior.mean[0].cpu(), posterior.logvar[0].cpu())

    def _speaker_tensor(self, speaker: str | None) -> torch.Tensor | None:
        if self.model.config.n_speakers == 0:
            if speaker is not None:
                raise ConfigError(f"this VAE is not speaker-conditioned; drop the speaker ({speaker!r})")
            return None
        if speaker is None:
            raise ConfigError(f"this VAE decodes {len(self.speakers)} speakers; name one of "
                              f"{', '.join(self.speakers)}")
        return torch.tensor([self.speaker_id(speaker)], device=self.device)

    @torch.no_grad()
    def decode(self, z: np.ndarray | torch.Tensor, speaker: str | None, frames: int | None = None) -> np.ndarray:
        """Latents ``(z, T)`` -> log-mel ``(n_mels, frames)`` (de-normalised, float32) in ``speaker``'s voice."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32)).to(self.device)
        if z.dim() != 2 or z.shape[0] != self.latent_channels:
            raise ValueError(f"expected latents ({self.latent_channels}, T), got shape {tuple(z.shape)}")
        mel = self.model.decode(z[None], self._speaker_tensor(speaker), frames)[0, 0]
        return denormalize(mel.float().cpu().numpy(), self.normalization).astype(np.float32)

    def projector(self, speaker: str) -> Callable[[np.ndarray], np.ndarray]:
        """A log-mel ``(n_mels, F)`` of anyone -> ``speaker``'s voice: encoded (posterior mean), decoded
        with ``speaker``'s embedding (what a conversion does, and a converter bundle's post-filter)."""
        self.speaker_id(speaker)

        def project(mel: np.ndarray) -> np.ndarray:
            return self.decode(self.encode(mel).mean, speaker, mel.shape[1])

        return project

    def convert_mel(self, mel: np.ndarray, source: str, target: str) -> np.ndarray:
        """``source``'s log-mel ``(n_mels, F)`` -> ``target``'s voice (posterior mean, target embedding).

        Inputs beyond ``CONVERT_CHUNK_FRAMES`` are converted in crossfaded chunks, as the CycleGAN does."""
        mel = check_log_mel(mel, self.feature_config.n_mels, "convert_mel: ")
        return run_whole(self.mel_stream(source, target), mel)

    def mel_stream(self, source: str, target: str, *, chunker: Chunker | None = None, postfilter: bool = True,
                   use_frame_bank: bool | None = None) -> Stage:
        """:meth:`convert_mel` as a streaming stage (see :mod:`voicegen.infer.stream`);
        ``chunker(fn, channels, rest, refine)`` replaces the crossfaded chunks (live conversion; ``refine``:
        the frame bank); ``postfilter`` False leaves the frame bank out (``use_frame_bank`` True/False
        overrides it)."""
        self.generator(source, target)
        convert = self.projector(target)
        use_bank = postfilter if use_frame_bank is None else use_frame_bank
        redraw = redraw_refiner(self.frame_bank, target, self.stats) if use_bank else None
        if chunker is not None:
            return chunker(convert, self.feature_config.n_mels, np.asarray(self.stats[source].mel_mean, np.float32),
                           redraw)
        if redraw is not None:
            convert = redraw.after(convert)
        return CrossfadeChunks(convert, self.feature_config.n_mels, CONVERT_CHUNK_FRAMES, CONVERT_OVERLAP_FRAMES)

    @torch.no_grad()
    def score(self, mel: np.ndarray) -> ClipScore:
        """Negative ELBO per frame of a log-mel (see the module docstring), best over speakers."""
        x = self._mel_tensor(mel)
        frames = x.shape[-1]
        posterior = self.model.encode(x)
        kl = float(posterior.kl_standard_normal().sum()) / frames
        best: ClipScore | None = None
        for speaker in (self.speakers if self.model.config.n_speakers else (None,)):
            x_hat = self.model.decode(posterior.mean, self._speaker_tensor(speaker), frames)
            rec = float((x_hat - x).abs().sum()) / frames
            if best is None or rec + kl < best.neg_elbo:
                best = ClipScore(neg_elbo=rec + kl, rec=rec, kl=kl, speaker=speaker, frames=frames)
        assert best is not None
        return best

    def kl_per_dim(self, mel: np.ndarray) -> np.ndarray:
        """KL of each latent channel, nats per latent frame averaged over the clip: ``(z,)`` float64."""
        posterior = self.encode(mel)
        kl = posterior.kl_standard_normal()  # per element: (z, T)
        return kl.double().mean(dim=-1).numpy()


def load_vae_bundle(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> VAEBundle:
    """Load a ``vae`` artifact (an export or a bundle with ``vocoder/``; :mod:`voicegen.formats.vae`);
    one-line ArtifactError otherwise."""
    parts = load_vae_parts(path, device=device)
    return VAEBundle(model=parts.model, speakers=parts.speakers, stats=parts.stats, normalization=parts.normalization,
                     feature_config=parts.feature_config, device=torch.device(device), path=parts.path)
