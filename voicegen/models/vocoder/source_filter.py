"""A pitch-true CPU vocoder: a harmonic source at the given F0, shaped by a learnt minimum-phase
filter, plus a learnt aperiodic part, all in the STFT domain of one inverse STFT.

Pitch is imposed, not learnt: the harmonic excitation is synthesised sample by sample from the
frame-level F0 (band-limited, every harmonic up to Nyquist, phase integrated from F0), and the
network only chooses, per frame and frequency bin,

* ``a``: the log-gain of a filter applied to the excitation's STFT; its phase is the minimum
  phase of that magnitude (a folded real cepstrum), as in classic source-filter vocoders;
* ``b``, ``psi``: log-magnitude and phase of an additive residual (noise, breath, onsets),
  predicted freely as a frame-rate ConvNeXt + iSTFT vocoder predicts its whole output;
* with ``phase_terms`` J > 0, ``d_1..d_J``: a phase added to the filter's minimum phase,
  ``phi(w) = sum_n d_n sin(n w)`` (``w`` in radians per sample, ``n`` a lag in samples), smooth in
  frequency, so that the harmonics' relative phases are no longer tied to the filter's magnitude
  (a mixed-phase filter, as a glottal pulse is). Its layer starts at zero: a generator grown from
  one without it starts with the same output.

``X = exp(a) e^{i (minphase(a) + phi)} STFT(excitation) + exp(b) e^{i psi}`` is inverted with the mel
contract's ``n_fft``/``hop_length``/window (:func:`overlap_add_istft`). The ConvNeXt stack runs at
the frame rate, so the cost stays close to the mel-only ``istft`` generator's.

Input rows ``(B, n_mels + 3, frames)``: the log-mel, then ``lf0`` (natural log of F0 in Hz,
continuous through unvoiced frames), ``vuv`` (1 voiced, 0 unvoiced) and ``phase``: the
excitation's phase in radians at each frame centre (sample ``i * hop + hop / 2``). The phase row
makes a chunk's output independent of where the chunk starts (the streaming vocoder carries it
from chunk to chunk); :func:`frame_phase` computes it from ``lf0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from voicegen.models.vocoder.config import WINDOWS, _positive, hop_mismatch_message
from voicegen.models.vocoder.convnext import ConvNeXtBlock, init_convnext_weights
from voicegen.models.vocoder.generator import check_mel
from voicegen.models.vocoder.istft import (
    LOG_MAGNITUDE_MAX,
    overlap_add_istft,
    padded_window,
)
from voicegen.nn import ChannelLayerNorm, conv, remove_weight_norm

# Rows after the mel bands, in order (see the module doc).
LF0_ROW, VUV_ROW, PHASE_ROW = 0, 1, 2
EXTRA_ROWS = 3
# The network sees log2(F0 / 110 Hz): octaves from A2, about -1..3 for voices.
LF0_REFERENCE_HZ = 110.0
# Initial log-gains of the harmonic filter and of the residual: both parts start quiet.
INITIAL_LOG_GAIN = -3.0
# |sin(theta / 2)| below this uses the limit of the harmonic sum (all harmonics in phase).
DIRICHLET_EPS = 1e-6
TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class SourceFilterGeneratorConfig:
    """Frame-rate ConvNeXt stack predicting a source filter and a residual; see the module doc.

    Args:
        n_mels: mel bands of the input.
        sample_rate: Hz; turns F0 into phase increments (the mel contract's rate).
        channels, intermediate_channels, n_blocks, kernel_size: the ConvNeXt stack.
        n_fft, hop_length, win_length, window: the STFT of the excitation and the inverse STFT
            (use the mel contract's, so output frames line up with mel frames).
        phase_terms: J, the sine terms of the filter's added phase (0: a minimum-phase filter).
    """

    n_mels: int = 80
    sample_rate: int = 16000
    channels: int = 256
    intermediate_channels: int = 768
    n_blocks: int = 8
    kernel_size: int = 7
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    window: str = "hann"
    phase_terms: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.phase_terms, bool) or not isinstance(self.phase_terms, int) or self.phase_terms < 0:
            raise ValueError(f"phase_terms must be an integer >= 0, got {self.phase_terms!r}")
        for name in ("n_mels", "sample_rate", "channels", "intermediate_channels", "n_blocks", "kernel_size",
                     "n_fft", "hop_length", "win_length"):
            _positive(name, (getattr(self, name),))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if not self.hop_length <= self.win_length <= self.n_fft:
            raise ValueError(f"need hop_length <= win_length <= n_fft, got {self.hop_length}, {self.win_length}, "
                             f"{self.n_fft}")
        if (self.n_fft - self.hop_length) % 2 or self.n_fft % 2:
            raise ValueError(f"n_fft and n_fft - hop_length must be even, got {self.n_fft}, {self.hop_length}")
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS}, got {self.window!r}")


def frame_phase(lf0: torch.Tensor, start: torch.Tensor, sample_rate: int, hop_length: int) -> torch.Tensor:
    """Excitation phase (radians in [0, 2 pi)) at each frame centre: ``(B, frames)``.

    ``lf0`` ``(B, frames)`` natural-log F0; ``start`` ``(B,)`` the phase of frame 0. Between two
    centres the frequency moves linearly, so the phase advances by
    ``2 pi hop (f_i + f_{i+1}) / (2 sample_rate)``. Accumulated in float64.
    """
    f0 = lf0.double().exp()
    step = TWO_PI * hop_length * 0.5 * (f0[:, :-1] + f0[:, 1:]) / sample_rate
    phase = torch.cat([start.double()[:, None], start.double()[:, None] + step.cumsum(dim=1)], dim=1)
    return torch.remainder(phase, TWO_PI).to(lf0.dtype)


def harmonic_excitation(lf0: torch.Tensor, phase: torch.Tensor, sample_rate: int, hop_length: int,
                        pad: int) -> torch.Tensor:
    """Band-limited harmonic source ``(B, (frames - 1) * hop + 2 * pad + hop)`` for the frames' STFT.

    Sample ``n`` (from ``-pad`` to ``frames * hop + pad - 1``) lies between frame centres ``s`` and
    ``s + 1``; its phase is frame ``s``'s phase plus the integral of the linearly moving frequency
    (constant before the first and after the last centre). The source is the sum of all
    harmonics ``k f <= sample_rate / 2`` with unit amplitude (the top one faded by the fractional
    part, so harmonics enter and leave smoothly), in closed form (a Dirichlet kernel), scaled by
    ``sqrt(2 f / sample_rate)``: the power is ~0.5 whatever F0.
    """
    batch, frames = lf0.shape
    length = (frames - 1) * hop_length + 2 * pad + hop_length
    n = torch.arange(length, device=lf0.device, dtype=lf0.dtype) - pad
    seg = torch.div(n - hop_length // 2, hop_length, rounding_mode="floor").clamp(0, frames - 1).long()
    t = n - (seg.to(n.dtype) * hop_length + hop_length // 2)
    nxt = (seg + 1).clamp(max=frames - 1)
    f0 = lf0.exp()
    f_s = f0[:, seg]
    f_n = f0[:, nxt]
    tp = t.clamp(min=0)
    omega = TWO_PI / sample_rate
    theta = phase[:, seg] + omega * (f_s * t + (f_n - f_s) * tp.square() / (2 * hop_length))
    theta = torch.remainder(theta, TWO_PI)
    freq = f_s + (f_n - f_s) * tp.clamp(max=hop_length) / hop_length
    harmonics = (0.5 * sample_rate) / freq
    top = harmonics.floor().clamp(min=1)
    frac = (harmonics - top).clamp(0, 1)
    below = top - 1  # harmonics 1..top-1 at full amplitude
    half_sin = torch.sin(0.5 * theta)
    safe = half_sin.abs() > DIRICHLET_EPS
    dirichlet = torch.where(safe, torch.sin((below + 0.5) * theta) / (2 * torch.where(safe, half_sin, 1.0)) - 0.5,
                            below)
    source = dirichlet + frac * torch.cos(top * theta)
    return source * torch.sqrt(2 * freq / sample_rate)


def phase_basis(terms: int, n_fft: int) -> torch.Tensor:
    """``(terms, n_fft // 2 + 1)``: row ``n - 1`` is ``sin(n w)`` at the rfft bins' ``w = 2 pi bin / n_fft``."""
    lags = torch.arange(1, terms + 1, dtype=torch.float64)[:, None]
    omega = TWO_PI * torch.arange(n_fft // 2 + 1, dtype=torch.float64)[None, :] / n_fft
    return torch.sin(lags * omega).float()


class SourceFilterGenerator(nn.Module):
    """``(B, n_mels + 3, frames)`` rows (mel, lf0, vuv, phase) -> waveform ``(B, 1, frames * hop_length)``."""

    needs_f0 = True

    def __init__(self, config: SourceFilterGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = conv(1, config.n_mels + 2, config.channels, config.kernel_size)
        self.norm_in = ChannelLayerNorm(config.channels)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(1, config.channels, config.intermediate_channels, config.kernel_size, 1.0 / config.n_blocks)
            for _ in range(config.n_blocks)
        )
        self.norm_out = ChannelLayerNorm(config.channels)
        self.n_bins = config.n_fft // 2 + 1
        self.proj = conv(1, config.channels, 3 * self.n_bins, 1)
        if config.phase_terms:
            self.phase_proj = conv(1, config.channels, config.phase_terms, 1)
            self.register_buffer("phase_basis", phase_basis(config.phase_terms, config.n_fft), persistent=False)
        self.register_buffer("window", padded_window(config.window, config.win_length, config.n_fft),
                             persistent=False)
        fold = torch.zeros(config.n_fft)
        fold[0] = fold[config.n_fft // 2] = 1.0
        fold[1:config.n_fft // 2] = 2.0
        self.register_buffer("cepstrum_fold", fold, persistent=False)
        self.apply(init_convnext_weights)
        with torch.no_grad():
            self.proj.bias[: 2 * self.n_bins].fill_(INITIAL_LOG_GAIN)  # a and b; psi starts at 0
            if config.phase_terms:  # the added phase starts at 0
                self.phase_proj.weight.zero_()
                self.phase_proj.bias.zero_()

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @property
    def in_rows(self) -> int:
        """Input rows: ``n_mels`` + lf0, vuv, phase."""
        return self.config.n_mels + EXTRA_ROWS

    def validate_hop(self, hop_length: int) -> None:
        """Raise ``ValueError`` (one line) unless this generator's hop equals the mel contract's ``hop_length``."""
        if self.hop_length != hop_length:
            raise ValueError(hop_mismatch_message(
                "source_filter generator hop_length is", self.hop_length, hop_length,
                "set hop_length to the mel contract's"))

    def remove_weight_norm(self) -> SourceFilterGenerator:
        """No-op kept for interface parity (this model has no weight norm)."""
        return remove_weight_norm(self)

    def filter_params(self, x: torch.Tensor) -> torch.Tensor:
        """The network part: ``(B, n_mels + 3, frames) -> (B, 3 * bins + phase_terms, frames)`` float32
        rows, the filter's log-gain, the residual's log-magnitude and its phase (before any clamp),
        then the added phase's sine coefficients (if any). The rest of
        :meth:`forward` is signal processing without weights (the torch-free runtime runs this part as
        an ONNX graph and the rest in numpy: :mod:`voicegen.infer.source_filter_head`)."""
        cfg = self.config
        check_mel(x, self.in_rows, "SourceFilterGenerator (n_mels + lf0, vuv, phase rows)")
        mel, extra = x[:, :cfg.n_mels], x[:, cfg.n_mels:]
        lf0, vuv = extra[:, LF0_ROW], extra[:, VUV_ROW]
        octaves = (lf0 - math.log(LF0_REFERENCE_HZ)) / math.log(2.0)
        h = self.norm_in(self.embed(torch.cat([mel, octaves[:, None], vuv[:, None]], dim=1)))
        for block in self.blocks:
            h = block(h)
        h = self.norm_out(h)
        with torch.autocast(device_type=x.device.type, enabled=False):
            h = h.to(self.proj.weight.dtype)
            out = self.proj(h).float()
            if self.config.phase_terms:
                out = torch.cat([out, self.phase_proj(h).float()], dim=1)
            return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels + 3, frames) -> (B, 1, frames * hop_length)``."""
        harmonic, residual = self.spectrum_parts(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            return overlap_add_istft(harmonic + residual, self.config.n_fft, self.config.hop_length,
                                     self.window.float())

    def spectrum_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two complex STFTs ``(B, bins, frames)`` whose sum :meth:`forward` inverts: the harmonic part
        (the excitation through the filter) and the learnt residual."""
        cfg = self.config
        out = self.filter_params(x)
        lf0, phase = x[:, cfg.n_mels + LF0_ROW], x[:, cfg.n_mels + PHASE_ROW]
        with torch.autocast(device_type=x.device.type, enabled=False):
            log_gain, log_res, res_phase = out[:, :3 * self.n_bins].split(self.n_bins, dim=1)
            log_gain = log_gain.clamp(max=LOG_MAGNITUDE_MAX)
            src_re, src_im = self._source_spectrum(lf0.float(), phase.float())
            filter_phase = self._minimum_phase(log_gain)
            if self.config.phase_terms:
                filter_phase = filter_phase + torch.einsum("kb,nkt->nbt", self.phase_basis,
                                                           out[:, 3 * self.n_bins:])
            gain = log_gain.exp()
            g_re, g_im = gain * filter_phase.cos(), gain * filter_phase.sin()
            res = log_res.clamp(max=LOG_MAGNITUDE_MAX).exp()
            harmonic = torch.complex(g_re * src_re - g_im * src_im, g_re * src_im + g_im * src_re)
            return harmonic, torch.complex(res * res_phase.cos(), res * res_phase.sin())

    def _source_spectrum(self, lf0: torch.Tensor, phase: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts ``(B, bins, frames)`` of the excitation's STFT (frames as the mel's)."""
        cfg = self.config
        pad = (cfg.n_fft - cfg.hop_length) // 2
        source = harmonic_excitation(lf0, phase, cfg.sample_rate, cfg.hop_length, pad)
        frames = source.unfold(-1, cfg.n_fft, cfg.hop_length)[:, :lf0.shape[1]]  # (B, frames, n_fft)
        spec = torch.fft.rfft(frames * self.window, dim=-1).transpose(1, 2)
        return spec.real, spec.imag

    def _minimum_phase(self, log_gain: torch.Tensor) -> torch.Tensor:
        """Minimum phase ``(B, bins, frames)`` of the magnitude ``exp(log_gain)`` (folded real cepstrum)."""
        cepstrum = torch.fft.irfft(log_gain, n=self.config.n_fft, dim=1)
        return torch.fft.rfft(cepstrum * self.cepstrum_fold[:, None], dim=1).imag
