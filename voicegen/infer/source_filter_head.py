"""The weightless half of the source-filter vocoder in numpy: excitation, filter, inverse STFT.

:class:`voicegen.models.vocoder.source_filter.SourceFilterGenerator` is a network
(``filter_params``: mel, F0 and voicing -> per-frame filter log-gain, residual log-magnitude and
phase, and for a mixed-phase filter the added phase's coefficients) followed by signal processing:
the harmonic excitation at F0, its STFT, the filter's phase, and the inverse STFT. The torch-free
runtime runs the network as an ONNX graph and this half here, because numpy's FFTs are ~3x faster
than ONNX Runtime's DFT on this CPU (the DFT was a third of the whole vocoder's time). The
arithmetic mirrors the torch module step by step in float32; the export checks the pair against
the module (max difference ~1e-5 on the shipped vocoder).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from voicegen.audio.logmel import padded_window
from voicegen.infer.stream import Net

# As in voicegen.models.vocoder (which imports torch): clamps and the harmonic sum's small-angle guard.
LOG_MAGNITUDE_MAX = 4.6
DIRICHLET_EPS = 1e-6
ENVELOPE_FLOOR = 1e-11
TWO_PI = 2.0 * math.pi
HEAD = "source_filter"
"""``head`` of a graph entry in onnx.json whose graph is ``filter_params`` only."""
HEAD_KEYS = ("n_mels", "sample_rate", "n_fft", "hop_length", "win_length", "window", "phase_terms")
"""The generator config's keys an onnx.json ``head_config`` holds (``phase_terms`` absent: 0)."""


class SourceFilterHead:
    """Rows ``(B, n_mels + 3, frames)`` (mel, lf0, vuv, phase) and the network's output ``(B, 3 *
    bins + phase_terms, frames)`` -> waveform ``(B, 1, frames * hop)``, per the generator's config (a
    dict: ``n_mels``, ``sample_rate``, ``n_fft``, ``hop_length``, ``win_length``, ``window`` and,
    for a mixed-phase filter, ``phase_terms``)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.n_mels, self.rate = int(config["n_mels"]), int(config["sample_rate"])
        self.n_fft, self.hop = int(config["n_fft"]), int(config["hop_length"])
        self.bins = self.n_fft // 2 + 1
        self.window = padded_window(config.get("window", "hann"), int(config["win_length"]),
                                    self.n_fft).astype(np.float32)
        fold = np.zeros(self.n_fft, dtype=np.float32)
        fold[0] = fold[self.n_fft // 2] = 1.0
        fold[1:self.n_fft // 2] = 2.0
        self.fold = fold
        terms = int(config.get("phase_terms", 0))
        lags = np.arange(1, terms + 1, dtype=np.float64)[:, None]
        omega = TWO_PI * np.arange(self.bins, dtype=np.float64)[None, :] / self.n_fft
        self.phase_basis = np.sin(lags * omega).astype(np.float32).T.copy()  # (bins, terms)

    def __call__(self, x: np.ndarray, params: np.ndarray) -> np.ndarray:
        lf0 = np.ascontiguousarray(x[:, self.n_mels], dtype=np.float32)
        phase = np.ascontiguousarray(x[:, self.n_mels + 2], dtype=np.float32)
        params = params.astype(np.float32, copy=False)
        log_gain, log_res, res_phase = np.split(params[:, :3 * self.bins], 3, axis=1)
        log_gain = np.minimum(log_gain, np.float32(LOG_MAGNITUDE_MAX))
        source = self.source_spectrum(lf0, phase)
        filter_phase = np.fft.rfft(np.fft.irfft(log_gain, n=self.n_fft, axis=1) * self.fold[:, None], axis=1).imag
        if self.phase_basis.shape[1]:  # the mixed-phase filter's added phase
            filter_phase = filter_phase + np.matmul(self.phase_basis, params[:, 3 * self.bins:])
        # X = exp(a) e^{i phase} S + exp(b) e^{i psi}, in real arithmetic (complex exp is slow)
        gain = np.exp(log_gain)
        g_re, g_im = gain * np.cos(filter_phase), gain * np.sin(filter_phase)
        res = np.exp(np.minimum(log_res, np.float32(LOG_MAGNITUDE_MAX)))
        spec = np.empty(source.shape, dtype=np.complex64)
        spec.real = g_re * source.real - g_im * source.imag + res * np.cos(res_phase)
        spec.imag = g_re * source.imag + g_im * source.real + res * np.sin(res_phase)
        return self.overlap_add(spec)

    def source_spectrum(self, lf0: np.ndarray, phase: np.ndarray) -> np.ndarray:
        """The excitation's STFT ``(B, bins, frames)`` (complex64), frames as the mel's."""
        pad = (self.n_fft - self.hop) // 2
        source = harmonic_excitation(lf0, phase, self.rate, self.hop, pad)
        frames = np.lib.stride_tricks.sliding_window_view(source, self.n_fft, axis=-1)[:, ::self.hop][:, :lf0.shape[1]]
        return np.fft.rfft(frames * self.window, axis=-1).transpose(0, 2, 1)

    def overlap_add(self, spec: np.ndarray) -> np.ndarray:
        """Complex ``(B, bins, frames)`` -> ``(B, 1, frames * hop)``: windowed inverse FFTs overlap-added,
        divided by the summed squared window, the analysis padding trimmed (as ``overlap_add_istft``)."""
        batch, _, frames = spec.shape
        segments = np.fft.irfft(spec, n=self.n_fft, axis=1).astype(np.float32) * self.window[:, None]
        full = (frames - 1) * self.hop + self.n_fft
        wav = np.zeros((batch, full), dtype=np.float32)
        envelope = np.zeros(full, dtype=np.float32)
        square = self.window ** 2
        for start in range(0, self.n_fft, self.hop):  # one slice of hop samples of every frame at a time
            stop = min(start + self.hop, self.n_fft)
            width = stop - start
            piece = segments[:, start:stop, :].transpose(0, 2, 1)  # (B, frames, width)
            if width == self.hop:  # frame i's slice lands at i * hop + start: one contiguous run
                wav[:, start:start + frames * self.hop] += piece.reshape(batch, frames * self.hop)
                envelope[start:start + frames * self.hop] += np.tile(square[start:stop], frames)
            else:  # n_fft not a multiple of hop: frame by frame
                for index in range(frames):
                    at = index * self.hop + start
                    wav[:, at:at + width] += piece[:, index]
                    envelope[at:at + width] += square[start:stop]
        first = (self.n_fft - self.hop) // 2
        last = first + frames * self.hop
        out = wav[:, first:last] / np.maximum(envelope[first:last], np.float32(ENVELOPE_FLOOR))
        return out.reshape(batch, 1, frames * self.hop)


def harmonic_excitation(lf0: np.ndarray, phase: np.ndarray, sample_rate: int, hop: int, pad: int) -> np.ndarray:
    """Band-limited harmonic source ``(B, (frames - 1) * hop + 2 * pad + hop)`` float32: the numpy twin
    of :func:`voicegen.models.vocoder.source_filter.harmonic_excitation` (see its doc)."""
    batch, frames = lf0.shape
    length = (frames - 1) * hop + 2 * pad + hop
    n = np.arange(length, dtype=np.float32) - np.float32(pad)
    seg = np.clip(np.floor((n - np.float32(hop // 2)) / np.float32(hop)), 0, frames - 1).astype(np.int64)
    t = n - (seg.astype(np.float32) * np.float32(hop) + np.float32(hop // 2))
    nxt = np.minimum(seg + 1, frames - 1)
    f0 = np.exp(lf0)
    f_s, f_n = f0[:, seg], f0[:, nxt]
    tp = np.maximum(t, np.float32(0))
    omega = np.float32(TWO_PI / sample_rate)
    theta = phase[:, seg] + omega * (f_s * t + (f_n - f_s) * np.square(tp) / np.float32(2 * hop))
    theta = np.mod(theta, np.float32(TWO_PI))
    freq = f_s + (f_n - f_s) * np.minimum(tp, np.float32(hop)) / np.float32(hop)
    harmonics = np.float32(0.5 * sample_rate) / freq
    top = np.maximum(np.floor(harmonics), np.float32(1))
    frac = np.clip(harmonics - top, np.float32(0), np.float32(1))
    below = top - 1
    half_sin = np.sin(np.float32(0.5) * theta)
    safe = np.abs(half_sin) > DIRICHLET_EPS
    dirichlet = np.where(safe, np.sin((below + np.float32(0.5)) * theta) / (2 * np.where(safe, half_sin, 1)) - 0.5,
                         below).astype(np.float32)
    source = dirichlet + frac * np.cos(top * theta)
    return source * np.sqrt(2 * freq / np.float32(sample_rate))


class HeadedNet:
    """The whole generator as one net: ``net`` (the graph of ``filter_params``) then ``head``."""

    def __init__(self, net: Net, head: SourceFilterHead) -> None:
        self.net, self.head = net, head

    def run_numpy(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        return self.head(x, self.net(x))

    __call__ = run_numpy
