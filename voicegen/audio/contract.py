"""The mel contract, torch-free: :class:`FeatureConfig` (what a log-mel frame means), its presets
and the mel filterbank in numpy.

A converter and a vocoder can only be chained when their FeatureConfigs agree; ``diff`` names the
fields that do not, and artifacts store ``to_dict()`` beside their weights. The torch module that
computes log-mels is :class:`voicegen.audio.features.MelSpectrogram`; this module imports neither
torch nor librosa, so artifact metadata can be read and checked without them.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def mel_band_edges(config: FeatureConfig) -> np.ndarray:
    """The ``n_mels + 2`` band edges in Hz (float64) of ``config``'s filterbank, evenly spaced in mel between fmin
    and fmax: band ``i`` rises from edge ``i`` to its peak at edge ``i + 1`` and falls to edge ``i + 2``."""
    mel_lo, mel_hi = hz_to_mel([config.fmin, config.fmax_hz], config.mel_scale)
    return np.asarray(mel_to_hz(np.linspace(mel_lo, mel_hi, config.n_mels + 2), config.mel_scale), dtype=np.float64)


def mel_filterbank(config: FeatureConfig) -> np.ndarray:
    """The ``(n_mels, n_fft // 2 + 1)`` float32 triangular filterbank for ``config``.

    Band edges are ``n_mels + 2`` points evenly spaced in mel between fmin and fmax; band ``i``
    rises from edge ``i`` to a peak at edge ``i + 1`` and falls to edge ``i + 2``. With
    ``mel_norm="slaney"`` each triangle is scaled by 2 / (its width in Hz) so all have equal area.
    Same result as ``librosa.filters.mel`` (tested), without importing librosa.
    """
    fft_hz = np.linspace(0.0, config.sample_rate / 2, config.n_fft // 2 + 1)
    edges_hz = mel_band_edges(config)
    widths = np.diff(edges_hz)
    offsets = edges_hz[:, None] - fft_hz[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if config.mel_norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)
