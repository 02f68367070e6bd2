"""Spectral losses on waveforms: mel L1 (with a caller-supplied mel transform) and multi-resolution STFT.

Waveforms are ``(B, T)`` or ``(B, 1, T)`` float tensors in [-1, 1]. The mel transform is passed
in (``mel_fn``) so this package stays free of the audio front end.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

# Floor on |STFT|^2 before sqrt/log: keeps log-magnitudes finite and sqrt differentiable at 0.
POWER_FLOOR = 1e-7
# (n_fft, hop_length, win_length) triples of Yamamoto et al. (Parallel WaveGAN).
DEFAULT_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))

_HALF_DTYPES = (torch.float16, torch.bfloat16)

MelFn = Callable[[torch.Tensor], torch.Tensor]


def _as_batch_of_signals(wav: torch.Tensor, name: str) -> torch.Tensor:
    """``(B, T)`` or ``(B, 1, T)`` -> ``(B, T)``."""
    if wav.dim() == 3 and wav.shape[1] == 1:
        return wav[:, 0]
    if wav.dim() != 2:
        raise ValueError(f"{name}: expected a waveform (B, T) or (B, 1, T), got shape {tuple(wav.shape)}")
    return wav


def _check_pair(wav_hat: torch.Tensor, wav: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    # FFTs and logs run in float32 at least: half-precision STFTs (AMP) lose the small magnitudes.
    wav_hat = _as_batch_of_signals(wav_hat, name)
    wav = _as_batch_of_signals(wav, name)
    if wav_hat.dtype in _HALF_DTYPES or wav.dtype in _HALF_DTYPES:
        wav_hat, wav = wav_hat.float(), wav.float()
    if wav_hat.shape != wav.shape:
        raise ValueError(
            f"{name}: wav_hat {tuple(wav_hat.shape)} and wav {tuple(wav.shape)} differ; trim both to the same length"
        )
    return wav_hat, wav


def mel_l1_loss(wav_hat: torch.Tensor, wav: torch.Tensor, mel_fn: MelFn) -> torch.Tensor:
    """Mean |mel_fn(wav_hat) - mel_fn(wav)| (scalar), HiFi-GAN's mel reconstruction loss.

    ``mel_fn`` maps ``(B, T) -> (B, n_mels, frames)`` (normally the model's log-mel module); the
    target's mel is computed without gradients. Half-precision waveforms are promoted to float32.
    """
    wav_hat, wav = _check_pair(wav_hat, wav, "mel_l1_loss")
    mel_hat = mel_fn(wav_hat)
    with torch.no_grad():
        mel = mel_fn(wav)
    if mel_hat.shape != mel.shape:
        raise ValueError(f"mel_l1_loss: mel_fn gave shapes {tuple(mel_hat.shape)} and {tuple(mel.shape)}")
    return (mel_hat - mel).abs().mean()


def check_resolutions(resolutions: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """``resolutions`` as ``(n_fft, hop_length, win_length)`` integer triples; ValueError (one line) unless
    there is at least one and each has ``hop_length > 0`` and ``0 < win_length <= n_fft``."""
    if not resolutions:
        raise ValueError("resolutions must not be empty")
    checked = []
    for i, res in enumerate(resolutions):
        if len(res) != 3:
            raise ValueError(f"resolution {i} must be (n_fft, hop_length, win_length), got {res!r}")
        n_fft, hop, win = (int(v) for v in res)
        if not (0 < hop and 0 < win <= n_fft):
            raise ValueError(f"resolution {i} needs hop_length > 0 and 0 < win_length <= n_fft, got {res!r}")
        checked.append((n_fft, hop, win))
    return checked


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1, averaged over STFT resolutions (Yamamoto et al. 2020).

    For each ``(n_fft, hop_length, win_length)`` with a Hann window (centred frames):
    ``sc = ||S - S_hat||_F / ||S||_F`` and ``mag = mean |log S - log S_hat|`` on magnitudes ``S``.
    ``forward`` returns ``sc + mag`` (scalar); ``terms`` returns both separately. Needs signals
    longer than ``max(n_fft) // 2`` samples. Holds no weights (its windows are non-persistent buffers).
    """

    def __init__(self, resolutions: Sequence[Sequence[int]] = DEFAULT_RESOLUTIONS) -> None:
        super().__init__()
        try:
            self.resolutions = check_resolutions(resolutions)
        except ValueError as error:
            raise ValueError(f"MultiResolutionSTFTLoss: {error}") from None
        for i, (_, _, win) in enumerate(self.resolutions):
            self.register_buffer(f"window_{i}", torch.hann_window(win), persistent=False)

    def _magnitude(self, wav: torch.Tensor, index: int) -> torch.Tensor:
        n_fft, hop, win = self.resolutions[index]
        window = getattr(self, f"window_{index}")
        spec = torch.stft(
            wav, n_fft, hop_length=hop, win_length=win, window=window.to(wav.dtype), center=True, return_complex=True
        )
        return (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(POWER_FLOOR).sqrt()

    def terms(self, wav_hat: torch.Tensor, wav: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"stft_sc": ..., "stft_mag": ...}``, each averaged over resolutions (scalars)."""
        wav_hat, wav = _check_pair(wav_hat, wav, "MultiResolutionSTFTLoss")
        longest = max(n_fft for n_fft, _, _ in self.resolutions)
        if wav.shape[-1] <= longest // 2:
            raise ValueError(
                f"MultiResolutionSTFTLoss: signals of {wav.shape[-1]} samples are too short for n_fft={longest}; "
                f"use segments longer than {longest // 2} samples"
            )
        sc_total = wav.new_zeros(())
        mag_total = wav.new_zeros(())
        for i in range(len(self.resolutions)):
            mag_hat = self._magnitude(wav_hat, i)
            mag = self._magnitude(wav, i)
            sc_total = sc_total + torch.linalg.norm(mag - mag_hat) / torch.linalg.norm(mag)
            mag_total = mag_total + (mag.log() - mag_hat.log()).abs().mean()
        n = len(self.resolutions)
        return {"stft_sc": sc_total / n, "stft_mag": mag_total / n}

    def forward(self, wav_hat: torch.Tensor, wav: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` or ``(B, 1, T)`` pair -> scalar ``stft_sc + stft_mag``."""
        parts = self.terms(wav_hat, wav)
        return parts["stft_sc"] + parts["stft_mag"]
