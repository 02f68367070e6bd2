"""A loss on the harmonics' relative phases: what a magnitude loss cannot see of a voiced frame's shape.

In a voiced frame with fundamental ``f``, harmonic ``k`` has phase ``phi_k`` (read from the STFT at the
bin nearest ``k f``). A delay of the whole frame by ``tau`` adds ``-2 pi k f tau`` to ``phi_k``, so
``d_k = phi_{k+1} - phi_k - phi_1`` does not depend on where the pulses sit in the frame, only on the
pulse's shape (for a zero-phase pulse train every ``d_k`` is 0; a glottal pulse through a vocal
tract has its own). The loss is ``1 - cos(d_k(generated) - d_k(recording))`` averaged over the
harmonic pairs below ``max_hz`` of the frames voiced in the F0 rows, each pair weighted by the
recording's magnitude there (loud harmonics count, valleys between formants little). 0 for equal
relative phases, 2 for opposite ones; ~1 for unrelated ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Harmonic pairs are read up to this frequency by default (the band where recordings and vocoder differ most).
DEFAULT_MAX_HZ = 2000.0
# Added to magnitudes before normalising a product to a unit phasor.
UNIT_EPS = 1e-8


def harmonic_phase_loss(
    wav_hat: torch.Tensor,
    wav: torch.Tensor,
    lf0: torch.Tensor,
    vuv: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int,
    pad: int,
    sample_rate: int,
    window: torch.Tensor,
    max_hz: float = DEFAULT_MAX_HZ,
) -> torch.Tensor:
    """Scalar loss (see the module doc) of ``wav_hat`` against ``wav`` ``(B, T)``.

    ``lf0``, ``vuv`` ``(B, frames)``: natural-log F0 and voicing at the STFT's frames (frame ``t``
    analyses the signal padded by ``pad`` on each side, samples ``t * hop_length`` onwards, as the mel
    contract frames it). ``window``: ``(win_length,)``, ``win_length <= n_fft``. Returns 0 (with a
    gradient path) when no voiced frame has two harmonics below ``max_hz``.
    """
    if wav_hat.shape != wav.shape or wav.dim() != 2:
        raise ValueError(f"harmonic_phase_loss: expected two (B, T) waveforms of one shape, got "
                         f"{tuple(wav_hat.shape)} and {tuple(wav.shape)}")
    both = F.pad(torch.cat([wav_hat, wav]).float()[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(both, n_fft, hop_length=hop_length, win_length=window.shape[-1], window=window.float(),
                      center=False, return_complex=True)
    frames = min(spec.shape[-1], lf0.shape[-1])
    batch = wav.shape[0]
    spec = spec[..., :frames]
    f0 = lf0[:, :frames].float().exp()
    voiced = vuv[:, :frames] > 0.5
    pairs = max(int(max_hz / max(float(f0.min()), 1.0)) - 1, 0)
    if pairs == 0:
        return wav_hat.sum() * 0.0
    k = torch.arange(1, pairs + 2, device=wav.device, dtype=f0.dtype)[None, :, None]  # harmonics 1..pairs+1
    bins = torch.round(k * f0[:, None, :] * n_fft / sample_rate).long().clamp(max=n_fft // 2)
    index = torch.cat([bins, bins])  # (2B, pairs + 1, frames): generated then recording
    z = torch.complex(spec.real.gather(1, index), spec.imag.gather(1, index))
    rel = z[:, 1:] * z[:, :-1].conj() * z[:, :1].conj()  # e^{i d_k} times magnitudes
    unit = rel / (rel.abs() + UNIT_EPS)
    gen, ref = unit[:batch], unit[batch:]
    cos = (gen * ref.conj()).real
    with torch.no_grad():
        mag = z[batch:].abs()
        inside = (k[:, 1:] * f0[:, None, :] <= max_hz) & voiced[:, None, :]
        weight = torch.sqrt(mag[:, 1:] * mag[:, :-1]) * inside
    total = weight.sum()
    if float(total) <= 0:
        return wav_hat.sum() * 0.0
    return ((1.0 - cos) * weight).sum() / total
