"""A convolutional VAE on normalised log-mels with per-frame latents and optional speaker conditioning.

Data flow for a mel image ``(B, 1, n_mels, F)`` (S = ``config.stride`` = 2 ** levels)::

    pad frames to F' (multiple of S, edge frames repeated)   (B, 1, n_mels, F')
    2-D conv + act                                           (B, c0, n_mels, F')
    per level i: stride-2 ConvBlock + residual blocks        (B, c_i, n_mels / 2^i+1, F' / 2^i+1)
    fold bands into channels, 1-D conv -> mean, logvar       (B, z, F' / S) each
    -- posterior q(z | mel) = N(mean, exp(logvar)); prior N(0, I); z = mean + std * eps --
    1-D conv, unfold to 2-D                                  (B, c_last, n_mels / S, F' / S)
    per level (mirrored): + speaker bias, residual blocks,
        nearest 2x upsample + conv + norm + act              (B, c_(i-1), 2 * bands, 2 * steps)
    2-D conv to one channel, crop to F                       (B, 1, n_mels, F)

Latents are per latent frame (``(B, z, F' / S)``, one per S mel frames) rather than one vector per
segment, so clips of any length encode and decode, and content stays aligned in time (what voice
conversion and latent traversal of whole clips need). Images ``(B, C, H, W)`` use the same network
with ``latent_layout="global"``: the bottleneck is a linear map of the whole ``(c_last, H / S, W / S)``
feature map to one latent vector ``(B, z)`` per image (and back), for a fixed ``width`` W. The
decoder can be conditioned on a speaker:
a learned ``nn.Embedding(n_speakers, speaker_dim)`` whose per-level linear projection is added as
a per-channel bias at each decoder level, so any latent sequence decodes in any known voice.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.models.vae.config import LEVEL_STRIDE, VAEConfig
from voicegen.nn import (
    ConvBlock,
    DiagonalGaussian,
    ResidualBlock,
    Upsample,
    activation,
    conv,
    norm_layer,
)

ACT = "leaky_relu"
# The 1-D convs at the bottleneck see a few latent frames of context on each side.
BOTTLENECK_KERNEL = 3


class VAEOutput(NamedTuple):
    """``mel_hat`` ``(B, C, n_mels, F)``; posterior ``mean`` and ``logvar`` ``(B, z, ceil(F / S))``
    (``(B, z)`` with the global latent layout)."""

    mel_hat: torch.Tensor
    mean: torch.Tensor
    logvar: torch.Tensor


class UpLevel(nn.Module):
    """Nearest 2x upsampling + conv -> norm -> act: ``(B, in, H, W) -> (B, out, 2H, 2W)``."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, norm: str) -> None:
        super().__init__()
        self.up = Upsample(2, in_ch, out_ch, LEVEL_STRIDE, kind="nearest", kernel_size=kernel_size)
        self.norm = norm_layer(norm, 2, out_ch)
        self.act = activation(ACT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.up(x)))


class SpectrogramVAE(nn.Module):
    """See the module docstring. ``forward(mel, speaker=None)`` -> :class:`VAEOutput`.

    Mels are normalised log-mels (about mean 0, std 1 per band); ``speaker`` is a ``(B,)`` long
    tensor of ids in ``[0, n_speakers)``, required exactly when ``config.n_speakers > 0``.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = c = config
        k = c.kernel_size
        self.bands = c.n_mels // c.stride
        flat = c.channels[-1] * self.bands
        self.input = ConvBlock(2, c.in_channels, c.channels[0], k, act=ACT)
        levels = []
        previous = c.channels[0]
        for ch in c.channels:
            blocks = [ConvBlock(2, previous, ch, k, LEVEL_STRIDE, c.norm, ACT)]
            blocks += [ResidualBlock(2, ch, k, norm=c.norm, act=ACT) for _ in range(c.n_residual)]
            levels.append(nn.Sequential(*blocks))
            previous = ch
        self.encoder = nn.ModuleList(levels)
        self.global_latent = c.latent_layout == "global"
        if self.global_latent:  # the whole (c_last, bands, steps) map <-> one vector
            self.steps = c.width // c.stride
            self.to_moments: nn.Module = nn.Linear(flat * self.steps, 2 * c.latent_channels)
            self.from_latent: nn.Module = nn.Linear(c.latent_channels, flat * self.steps)
        else:
            self.to_moments = conv(1, flat, 2 * c.latent_channels, BOTTLENECK_KERNEL)
            self.from_latent = conv(1, c.latent_channels, flat, BOTTLENECK_KERNEL)
        outs = (c.channels[0],) + c.channels[:-1]
        reversed_levels = list(reversed(range(len(c.channels))))
        self.decoder = nn.ModuleList(
            nn.Sequential(*[ResidualBlock(2, c.channels[i], k, norm=c.norm, act=ACT) for _ in range(c.n_residual)],
                          UpLevel(c.channels[i], outs[i], k, c.norm))
            for i in reversed_levels
        )
        self.output = conv(2, c.channels[0], c.in_channels, k)
        if c.n_speakers:
            self.speaker_embedding = nn.Embedding(c.n_speakers, c.speaker_dim)
            self.speaker_bias = nn.ModuleList(nn.Linear(c.speaker_dim, c.channels[i]) for i in reversed_levels)

    def encode(self, mel: torch.Tensor) -> DiagonalGaussian:
        """Posterior ``q(z | mel)`` with mean/logvar ``(B, z, ceil(F / S))`` for a mel ``(B, C, n_mels, F)``
        (``(B, z)`` for the global layout)."""
        self._check_mel(mel)
        frames = mel.shape[-1]
        padded = -(-frames // self.config.stride) * self.config.stride
        if padded != frames:
            mel = F.pad(mel, (0, padded - frames, 0, 0), mode="replicate")
        h = self.input(mel)
        for level in self.encoder:
            h = level(h)
        b, ch, bands, steps = h.shape
        flat = h.reshape(b, -1) if self.global_latent else h.reshape(b, ch * bands, steps)
        return DiagonalGaussian.from_moments(self.to_moments(flat))

    def decode(self, z: torch.Tensor, speaker: Optional[torch.Tensor] = None,
               frames: Optional[int] = None) -> torch.Tensor:
        """Mel ``(B, C, n_mels, frames)`` of latents ``z`` ``(B, z, T)`` (``frames`` defaults to ``T * S``);
        with the global layout ``z`` is ``(B, z)`` and the output ``(B, C, n_mels, width)``."""
        c = self.config
        if self.global_latent:
            if z.dim() != 2 or z.shape[1] != c.latent_channels:
                raise ValueError(f"SpectrogramVAE.decode: expected latents (B, {c.latent_channels}), "
                                 f"got shape {tuple(z.shape)}")
            steps, full = self.steps, c.width
        else:
            if z.dim() != 3 or z.shape[1] != c.latent_channels:
                raise ValueError(f"SpectrogramVAE.decode: expected latents (B, {c.latent_channels}, T), "
                                 f"got shape {tuple(z.shape)}")
            steps, full = z.shape[-1], z.shape[-1] * c.stride
        frames = full if frames is None else frames
        if not 1 <= frames <= full:
            raise ValueError(f"SpectrogramVAE.decode: frames must be in [1, {full}] for {steps} latent "
                             f"frames, got {frames}")
        return self.decode_with_biases(z, self._speaker_biases(speaker, z.shape[0]), frames)

    def decode_with_biases(self, z: torch.Tensor, biases: Optional[list[torch.Tensor]], frames: int) -> torch.Tensor:
        """:meth:`decode` with the speaker's per-level biases given (``speaker_biases``) and nothing
        checked: the fixed-speaker graph of the ONNX export is this."""
        c = self.config
        steps = self.steps if self.global_latent else z.shape[-1]
        h = self.from_latent(z)
        h = h.reshape(z.shape[0], c.channels[-1], self.bands, steps)
        for index, level in enumerate(self.decoder):
            if biases is not None:
                h = h + biases[index][:, :, None, None]
            h = level(h)
        return self.output(h)[..., :frames]

    def forward(self, mel: torch.Tensor, speaker: Optional[torch.Tensor] = None, *,
                sample: Optional[bool] = None, generator: Optional[torch.Generator] = None) -> VAEOutput:
        """Encode, draw ``z`` (``sample=None``: a reparameterised draw in training mode, the mean in
        eval mode), decode with ``speaker`` back to the input's shape."""
        posterior = self.encode(mel)
        if sample is None:
            sample = self.training
        z = posterior.sample(generator) if sample else posterior.mode()
        return VAEOutput(self.decode(z, speaker, mel.shape[-1]), posterior.mean, posterior.logvar)

    def speaker_biases(self, speaker: int) -> list[torch.Tensor]:
        """The decoder's per-level biases ``(1, channels)`` for speaker id ``speaker`` (checked)."""
        return self._speaker_biases(torch.tensor([speaker]), 1)

    def _speaker_biases(self, speaker: Optional[torch.Tensor], batch: int) -> Optional[list[torch.Tensor]]:
        n = self.config.n_speakers
        if n == 0:
            if speaker is not None:
                raise ValueError("SpectrogramVAE: this model has no speakers (n_speakers 0); pass speaker=None")
            return None
        if speaker is None:
            raise ValueError(f"SpectrogramVAE: this model decodes {n} speakers; pass speaker ids (B,)")
        speaker = torch.as_tensor(speaker, device=self.speaker_embedding.weight.device).long().reshape(-1)
        if speaker.shape[0] != batch or speaker.min() < 0 or speaker.max() >= n:
            raise ValueError(f"SpectrogramVAE: speaker must be {batch} ids in [0, {n}), got {speaker.tolist()}")
        embedding = self.speaker_embedding(speaker)
        return [project(embedding) for project in self.speaker_bias]

    def _check_mel(self, mel: torch.Tensor) -> None:
        c = self.config
        width = c.width if self.global_latent else "frames"
        if (mel.dim() != 4 or mel.shape[1] != c.in_channels or mel.shape[2] != c.n_mels
                or (self.global_latent and mel.shape[3] != c.width)):
            raise ValueError(f"SpectrogramVAE: expected a mel image (B, {c.in_channels}, {c.n_mels}, {width}), "
                             f"got shape {tuple(mel.shape)}")
