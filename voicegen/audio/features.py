"""The mel contract: :class:`FeatureConfig` (what a log-mel frame means) and the module computing it.

A converter and a vocoder can only be chained when their FeatureConfigs agree; ``diff`` names the
fields that do not, and artifacts store ``to_dict()`` beside their weights.

The log-mel of a waveform ``wav`` is::

    pad -> |STFT|^power -> mel filterbank (slaney scale, slaney area norm) -> log(max(., log_floor))

which matches ``librosa.feature.melspectrogram`` with the same settings (see the parity test).
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voicegen.audio.io import AudioReader
from voicegen.errors import ConfigError

WINDOWS = ("hann", "hamming")
PAD_MODES = ("reflect", "constant")
MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", None)
LOG_BASES = ("e", "10")
DEFAULT_LOG_FLOOR = 1e-5  # HiFi-GAN's clamp: -11.5 in natural log, ~100 dB below full scale


@dataclass(frozen=True)
class FeatureConfig:
    """How a waveform becomes a log-mel spectrogram ``(n_mels, frames)``.

    Args:
        sample_rate: waveform rate in Hz.
        n_fft: FFT size in samples; ``n_fft // 2 + 1`` linear bins.
        hop_length: samples between frames (frame rate = sample_rate / hop_length).
        win_length: window length in samples, <= n_fft (zero-padded to n_fft, centred).
        n_mels: number of mel bands.
        fmin, fmax: band edges in Hz; ``fmax=None`` means sample_rate / 2.
        window: "hann" or "hamming" (periodic, as in librosa/scipy ``fftbins=True``).
        center: True pads ``n_fft // 2`` samples per side (librosa/torch convention,
            ``frames = 1 + T // hop``); False pads ``(n_fft - hop_length) // 2`` per side
            (HiFi-GAN convention, ``frames = T // hop`` when n_fft - hop is even).
        pad_mode: "reflect" or "constant" (zeros) for that padding.
        power: 1.0 magnitude, 2.0 power spectrogram.
        mel_scale: "slaney" (librosa default) or "htk".
        mel_norm: "slaney" (area-normalised triangles, librosa default) or None.
        log_floor: magnitudes are clamped to at least this before the log.
        log_base: "e" (natural log, HiFi-GAN) or "10".
    """

    sample_rate: int
    n_fft: int
    hop_length: int
    win_length: int
    n_mels: int
    fmin: float = 0.0
    fmax: float | None = None
    window: str = "hann"
    center: bool = False
    pad_mode: str = "reflect"
    power: float = 1.0
    mel_scale: str = "slaney"
    mel_norm: str | None = "slaney"
    log_floor: float = DEFAULT_LOG_FLOOR
    log_base: str = "e"

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"features.{name} must be a positive integer, got {value!r}")
        if self.win_length > self.n_fft:
            raise ConfigError(f"features.win_length ({self.win_length}) must be <= n_fft ({self.n_fft})")
        if self.hop_length > self.n_fft:
            raise ConfigError(f"features.hop_length ({self.hop_length}) must be <= n_fft ({self.n_fft})")
        nyquist = self.sample_rate / 2
        if not 0 <= self.fmin < self.fmax_hz <= nyquist:
            raise ConfigError(f"features: need 0 <= fmin < fmax <= sample_rate/2 = {nyquist:g} Hz, "
                              f"got fmin={self.fmin}, fmax={self.fmax}")
        choices = {"window": WINDOWS, "pad_mode": PAD_MODES, "mel_scale": MEL_SCALES,
                   "mel_norm": MEL_NORMS, "log_base": LOG_BASES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"features.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not isinstance(self.center, bool):
            raise ConfigError(f"features.center must be true or false, got {self.center!r}")
        if not self.power > 0:
            raise ConfigError(f"features.power must be > 0, got {self.power!r}")
        if not self.log_floor > 0:
            raise ConfigError(f"features.log_floor must be > 0, got {self.log_floor!r}")

    @property
    def fmax_hz(self) -> float:
        """The upper band edge in Hz, with None resolved to sample_rate / 2."""
        return self.sample_rate / 2 if self.fmax is None else float(self.fmax)

    @property
    def pad(self) -> int:
        """Samples of padding added to each side before framing."""
        return self.n_fft // 2 if self.center else (self.n_fft - self.hop_length) // 2

    @property
    def min_samples(self) -> int:
        """Shortest waveform this config can analyse: one full frame; reflect padding needs T > pad."""
        reflect_need = self.pad + 1 if self.pad_mode == "reflect" else 1
        return max(self.n_fft - 2 * self.pad, reflect_need, 1)

    @property
    def frame_seconds(self) -> float:
        """Seconds between frames (hop_length / sample_rate)."""
        return self.hop_length / self.sample_rate

    def frames(self, num_samples: int) -> int:
        """Number of frames for a waveform of ``num_samples`` samples."""
        return 1 + (num_samples + 2 * self.pad - self.n_fft) // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of all fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureConfig:
        """Build from ``to_dict()`` output; unknown or missing keys are a ConfigError."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"features: unknown key(s) {', '.join(unknown)}; "
                              f"valid keys: {', '.join(known)}")
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise ConfigError(f"features: missing key(s) {', '.join(missing)}")
        values = dict(data)
        for name in ("fmin", "fmax", "power", "log_floor"):  # JSON/YAML may give ints for float fields
            if isinstance(values.get(name), int) and not isinstance(values.get(name), bool):
                values[name] = float(values[name])
        return cls(**values)

    def diff(self, other: FeatureConfig) -> list[str]:
        """Names of the fields whose effective values differ (fmax compared after resolving None)."""
        names = [f.name for f in dataclasses.fields(self)]
        mine, theirs = self.to_dict(), other.to_dict()
        mine["fmax"], theirs["fmax"] = self.fmax_hz, other.fmax_hz
        return [name for name in names if mine[name] != theirs[name]]


# 16 kHz voice conversion: hop 256 (16 ms, 62.5 frames/s) rather than 160 (10 ms) because it
# halves the frames the converter sees and the upsampling the vocoder does, and a 64-frame
# CycleGAN segment then spans ~1 s of speech. n_fft = win = 1024 (64 ms) resolves low male F0
# harmonics; fmax 8000 = Nyquist; fmin 0 keeps the mel range HiFi-GAN-compatible. HiFi-GAN style
# padding makes frames = T // hop, so a vocoder with total upsampling hop returns exactly T samples.
_VC16K = FeatureConfig(sample_rate=16000, n_fft=1024, hop_length=256, win_length=1024, n_mels=80,
                       fmin=0.0, fmax=8000.0, center=False, pad_mode="reflect")
# HiFi-GAN's LJSpeech V1 setting (22.05 kHz, 80 bands up to 8 kHz, natural log clamped at 1e-5).
_HIFIGAN22K = FeatureConfig(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, n_mels=80,
                            fmin=0.0, fmax=8000.0, center=False, pad_mode="reflect")
PRESETS: Mapping[str, FeatureConfig] = types.MappingProxyType({"vc16k": _VC16K, "hifigan22k": _HIFIGAN22K})


def get_preset(name: str) -> FeatureConfig:
    """The FeatureConfig named ``name`` in :data:`PRESETS`; ConfigError listing the names otherwise."""
    if name not in PRESETS:
        raise ConfigError(f"unknown feature preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


# Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3
_SLANEY_LOG_START_HZ = 1000.0
_SLANEY_LOG_STEP = math.log(6.4) / 27.0
# HTK's mel scale: 2595 log10(1 + f / 700).
_HTK_SCALE, _HTK_CORNER_HZ = 2595.0, 700.0


def hz_to_mel(hz: np.ndarray | float, mel_scale: str = "slaney") -> np.ndarray:
    """Frequencies in Hz -> mel (float64), on the "slaney" or "htk" scale."""
    hz = np.asarray(hz, dtype=np.float64)
    if mel_scale == "htk":
        return _HTK_SCALE * np.log10(1.0 + hz / _HTK_CORNER_HZ)
    log_start_mel = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL
    above = np.log(np.maximum(hz, _SLANEY_LOG_START_HZ) / _SLANEY_LOG_START_HZ) / _SLANEY_LOG_STEP
    return np.where(hz >= _SLANEY_LOG_START_HZ, log_start_mel + above, hz / _SLANEY_HZ_PER_MEL)


def mel_to_hz(mel: np.ndarray | float, mel_scale: str = "slaney") -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    if mel_scale == "htk":
        return _HTK_CORNER_HZ * (10.0 ** (mel / _HTK_SCALE) - 1.0)
    log_start_mel = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL
    above = _SLANEY_LOG_START_HZ * np.exp(_SLANEY_LOG_STEP * (np.maximum(mel, log_start_mel) - log_start_mel))
    return np.where(mel >= log_start_mel, above, mel * _SLANEY_HZ_PER_MEL)


def mel_filterbank(config: FeatureConfig) -> np.ndarray:
    """The ``(n_mels, n_fft // 2 + 1)`` float32 triangular filterbank for ``config``.

    Band edges are ``n_mels + 2`` points evenly spaced in mel between fmin and fmax; band ``i``
    rises from edge ``i`` to a peak at edge ``i + 1`` and falls to edge ``i + 2``. With
    ``mel_norm="slaney"`` each triangle is scaled by 2 / (its width in Hz) so all have equal area.
    Same result as ``librosa.filters.mel`` (tested), without importing librosa.
    """
    fft_hz = np.linspace(0.0, config.sample_rate / 2, config.n_fft // 2 + 1)
    mel_lo, mel_hi = hz_to_mel([config.fmin, config.fmax_hz], config.mel_scale)
    mel_edges = np.linspace(mel_lo, mel_hi, config.n_mels + 2)
    edges_hz = mel_to_hz(mel_edges, config.mel_scale)
    widths = np.diff(edges_hz)
    offsets = edges_hz[:, None] - fft_hz[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if config.mel_norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


class MelSpectrogram(nn.Module):
    """Waveform ``(..., T)`` in [-1, 1] -> log-mel ``(..., n_mels, frames)`` per a FeatureConfig.

    The filterbank and window are non-persistent buffers (rebuilt from the config, which artifacts
    store), so ``.to(device)`` moves them and state dicts stay free of them. Always computes in
    float32, also under autocast. Differentiable (used by mel losses).
    """

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config
        window_fn = torch.hann_window if config.window == "hann" else torch.hamming_window
        self.register_buffer("window", window_fn(config.win_length, periodic=True), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(mel_filterbank(config)), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if wav.shape[-1] < cfg.min_samples:
            raise ValueError(f"MelSpectrogram: waveform of {wav.shape[-1]} samples is shorter than the "
                             f"{cfg.min_samples} this config needs (n_fft={cfg.n_fft})")
        lead = wav.shape[:-1]
        with torch.autocast(device_type=wav.device.type, enabled=False):
            x = F.pad(wav.reshape(-1, 1, wav.shape[-1]).float(), (cfg.pad, cfg.pad), mode=cfg.pad_mode)
            mel = self.mel_from_padded(x.squeeze(1))
        return mel.reshape(*lead, cfg.n_mels, mel.shape[-1])

    def mel_from_padded(self, x: torch.Tensor) -> torch.Tensor:
        """Already padded float32 ``(B, L)`` with ``L >= n_fft`` -> log-mel ``(B, n_mels, 1 + (L - n_fft) // hop)``:
        frame ``t`` analyses ``x[:, t * hop : t * hop + n_fft]`` (what :class:`MelStream` calls per block)."""
        cfg = self.config
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.stft(x.float(), cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                              window=self.window.float(), center=False, normalized=False, onesided=True,
                              return_complex=True)
            if cfg.power == 1.0:
                mag = spec.abs()
            elif cfg.power == 2.0:  # skip the sqrt of abs()
                mag = spec.real.square() + spec.imag.square()
            else:
                mag = spec.abs().pow(cfg.power)
            mel = torch.matmul(self.mel_basis.float(), mag).clamp(min=cfg.log_floor)
            return mel.log() if cfg.log_base == "e" else mel.log10()

    def extra_repr(self) -> str:
        cfg = self.config
        return (f"sample_rate={cfg.sample_rate}, n_fft={cfg.n_fft}, hop_length={cfg.hop_length}, "
                f"n_mels={cfg.n_mels}, fmax={cfg.fmax_hz:g}")


def compute_mel(wav: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log-mel ``(n_mels, frames)`` float32 of a mono ``(T,)`` waveform (CPU, no grad)."""
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"compute_mel expects a mono (T,) waveform, got shape {wav.shape}")
    with torch.no_grad():
        mel = MelSpectrogram(config)(torch.from_numpy(wav))
    return mel.numpy()


class MelStream:
    """Log-mel frames of a waveform that arrives in blocks, with bounded memory.

        stream = MelStream(config)
        frames = [stream.push(block) for block in blocks] + [stream.finish()]

    ``push((n,) samples)`` returns the ``(n_mels, k)`` frames complete so far (k may be 0);
    ``finish()`` the rest. Their concatenation equals :func:`compute_mel` of the concatenated
    samples (the same padding at both ends, the same frames; only float rounding of the
    filterbank product may differ). It keeps less than one frame of samples between calls.
    """

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self._mel = MelSpectrogram(config)
        self._buf = np.zeros(0, dtype=np.float32)  # unconsumed samples (padded once started)
        self._tail = np.zeros(0, dtype=np.float32)  # the last pad + 1 samples (the end padding)
        self._started = False
        self.samples = 0

    def push(self, wav: np.ndarray) -> np.ndarray:
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        pad = self.config.pad
        self.samples += wav.shape[0]
        self._tail = np.concatenate([self._tail, wav])[-(pad + 1):]
        self._buf = np.concatenate([self._buf, wav])
        if not self._started:
            if self._buf.shape[0] <= pad:
                return self._empty()
            self._buf = np.concatenate([self._pad(self._buf[:pad + 1], pad, 0)[:pad], self._buf])
            self._started = True
        return self._frames()

    def finish(self) -> np.ndarray:
        cfg = self.config
        if self.samples < cfg.min_samples:
            raise ValueError(f"MelSpectrogram: waveform of {self.samples} samples is shorter than the "
                             f"{cfg.min_samples} this config needs (n_fft={cfg.n_fft})")
        if not self._started:  # only possible without reflect padding
            self._buf = np.concatenate([self._pad(self._buf, cfg.pad, 0)[:cfg.pad], self._buf])
            self._started = True
        if cfg.pad:
            self._buf = np.concatenate([self._buf, self._pad(self._tail, 0, cfg.pad)[-cfg.pad:]])
        return self._frames()

    def _frames(self) -> np.ndarray:
        cfg = self.config
        count = (self._buf.shape[0] - cfg.n_fft) // cfg.hop_length + 1 if self._buf.shape[0] >= cfg.n_fft else 0
        if count <= 0:
            return self._empty()
        used = (count - 1) * cfg.hop_length + cfg.n_fft
        with torch.no_grad():
            mel = self._mel.mel_from_padded(torch.from_numpy(self._buf[:used])[None])[0].numpy()
        self._buf = self._buf[count * cfg.hop_length:].copy()
        return mel

    def _pad(self, wav: np.ndarray, left: int, right: int) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(wav))[None, None]
        return F.pad(x, (left, right), mode=self.config.pad_mode)[0, 0].numpy()

    def _empty(self) -> np.ndarray:
        return np.zeros((self.config.n_mels, 0), dtype=np.float32)


def file_mel(path: str | os.PathLike, config: FeatureConfig) -> tuple[np.ndarray, int]:
    """Log-mel ``(n_mels, frames)`` float32 of an audio file at ``config``'s rate, and its length in
    samples at that rate; read block by block (:class:`~voicegen.audio.io.AudioReader` into
    :class:`MelStream`), so only the mel is held in full. Same errors as ``load_audio``."""
    reader = AudioReader(path, config.sample_rate, min_samples=config.min_samples)
    stream = MelStream(config)
    mel = np.concatenate([stream.push(block) for block in reader] + [stream.finish()], axis=1)
    return mel, reader.samples


def log_floor_value(config: FeatureConfig) -> float:
    """The log-mel value of silence (log of ``log_floor`` in the config's base)."""
    return math.log(config.log_floor) if config.log_base == "e" else math.log10(config.log_floor)


def check_log_mel(mel: np.ndarray, n_mels: int, where: str = "") -> np.ndarray:
    """``mel`` as float32 ``(n_mels, frames)`` with frames >= 1 and finite values; ValueError
    (prefixed with ``where``, e.g. ``"convert_mel: "``) otherwise."""
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[0] != n_mels or mel.shape[1] < 1:
        raise ValueError(f"{where}expected a log-mel ({n_mels}, frames), got shape {mel.shape}")
    if not np.isfinite(mel).all():
        raise ValueError(f"{where}the mel holds NaN or Inf values")
    return mel
