"""Inverse STFT aligned with the mel contract's frames, and a magnitude/phase waveform head.

The mel front end (HiFi-GAN convention, ``center=False``) pads ``(n_fft - hop_length) // 2``
samples per side, so mel frame ``i`` is centred on sample ``i * hop + hop / 2`` and ``T`` samples
give ``T // hop`` frames. :func:`overlap_add_istft` is the exact inverse of that analysis: it
overlap-adds ``frames`` windowed inverse FFTs, divides by the summed squared window and trims the
same padding, returning exactly ``frames * hop_length`` samples (``torch.istft`` cannot: its
``center=False`` mode needs a window that is non-zero at the edges, and ``center=True`` shifts
every frame by half a hop).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voicegen.nn import ConvNorm, conv

# The summed squared window is divided out; this floor keeps the few edge samples finite.
ENVELOPE_FLOOR = 1e-11
# Log-magnitudes are clipped here before exp (|X| <= e^4.6 ~ 100, as in Vocos): an early training
# step can push them high enough to overflow float32 otherwise.
LOG_MAGNITUDE_MAX = 4.6

_WINDOW_FNS = {"hann": torch.hann_window, "hamming": torch.hamming_window}


def padded_window(kind: str, win_length: int, n_fft: int) -> torch.Tensor:
    """Periodic ``kind`` window of ``win_length`` zero-padded, centred, to ``n_fft`` (as ``torch.stft`` does)."""
    if kind not in _WINDOW_FNS:
        raise ValueError(f"window must be one of {tuple(_WINDOW_FNS)}, got {kind!r}")
    if not 0 < win_length <= n_fft:
        raise ValueError(f"need 0 < win_length <= n_fft, got win_length={win_length}, n_fft={n_fft}")
    window = _WINDOW_FNS[kind](win_length, periodic=True)
    left = (n_fft - win_length) // 2
    return F.pad(window, (left, n_fft - win_length - left))


def overlap_add_istft(spec: torch.Tensor, n_fft: int, hop_length: int, window: torch.Tensor) -> torch.Tensor:
    """Complex spectrogram ``(B, n_fft // 2 + 1, frames)`` -> waveform ``(B, 1, frames * hop_length)``.

    ``window`` is the ``(n_fft,)`` analysis window (see :func:`padded_window`). For ``spec`` taken
    from ``torch.stft(center=False)`` of a signal reflect-padded by ``(n_fft - hop_length) // 2`` per
    side, this returns the signal (round-trip error ~1e-6). Differentiable; computes in float32+.
    """
    if spec.dim() != 3 or spec.shape[1] != n_fft // 2 + 1:
        raise ValueError(
            f"overlap_add_istft: expected a spectrogram (B, {n_fft // 2 + 1}, frames), got shape {tuple(spec.shape)}"
        )
    if window.shape != (n_fft,):
        raise ValueError(f"overlap_add_istft: window must have shape ({n_fft},), got {tuple(window.shape)}")
    batch, _, frames = spec.shape
    segments = torch.fft.irfft(spec, n=n_fft, dim=1) * window[:, None]  # (B, n_fft, frames)
    full = (frames - 1) * hop_length + n_fft
    fold = dict(output_size=(1, full), kernel_size=(1, n_fft), stride=(1, hop_length))
    wav = F.fold(segments, **fold)  # (B, 1, 1, full)
    envelope = F.fold(window.square()[None, :, None].expand(1, n_fft, frames), **fold)
    start = (n_fft - hop_length) // 2
    stop = start + frames * hop_length
    wav = wav[..., start:stop] / envelope[..., start:stop].clamp_min(ENVELOPE_FLOOR)
    return wav.reshape(batch, 1, frames * hop_length)


class ISTFTHead(nn.Module):
    """Features ``(B, in_channels, frames)`` -> waveform ``(B, 1, frames * hop_length)`` via magnitude and phase.

    A conv predicts ``n_fft // 2 + 1`` log-magnitudes and as many phases (radians, unbounded)
    per frame; ``|X| = exp(min(log_mag, 4.6))`` and ``X = |X| (cos phase + i sin phase)`` are then
    inverted with :func:`overlap_add_istft`. The window is a non-persistent buffer (rebuilt from
    the config, so state dicts hold only the conv).

    Args:
        kernel_size: 1 (a per-frame linear map, Vocos) or an odd size (iSTFTNet's ``conv_post``, 7).
        conv_norm: norm of that conv (``"weight"`` inside HiFi-GAN-style generators).
    """

    def __init__(
        self,
        in_channels: int,
        n_fft: int,
        hop_length: int,
        win_length: int,
        window: str = "hann",
        kernel_size: int = 1,
        conv_norm: ConvNorm = "none",
    ) -> None:
        super().__init__()
        if not 0 < hop_length <= n_fft:
            raise ValueError(f"ISTFTHead: need 0 < hop_length <= n_fft, got hop_length={hop_length}, n_fft={n_fft}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_bins = n_fft // 2 + 1
        self.proj = conv(1, in_channels, 2 * self.n_bins, kernel_size, norm=conv_norm)
        self.register_buffer("window", padded_window(window, win_length, n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, frames) -> (B, 1, frames * hop_length)``."""
        # FFTs run in float32 at least (half-precision inverse FFTs lose the quiet bins under AMP).
        with torch.autocast(device_type=x.device.type, enabled=False):
            param_dtype = next(self.proj.parameters()).dtype
            h = self.proj(x.to(param_dtype)).float()
            log_mag, phase = h.split(self.n_bins, dim=1)
            mag = log_mag.clamp(max=LOG_MAGNITUDE_MAX).exp()
            spec = torch.complex(mag * phase.cos(), mag * phase.sin())
            return overlap_add_istft(spec, self.n_fft, self.hop_length, self.window.to(h.dtype))

    def extra_repr(self) -> str:
        return f"n_fft={self.n_fft}, hop_length={self.hop_length}"
