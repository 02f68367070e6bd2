"""Log-mel spectrograms of the mel contract: the torch module, whole-array and streamed versions.

The contract itself (:class:`FeatureConfig`, presets, filterbank) lives in the torch-free
:mod:`voicegen.audio.contract` and is re-exported here.

The log-mel of a waveform ``wav`` is::

    pad -> |STFT|^power -> mel filterbank (slaney scale, slaney area norm) -> log(max(., log_floor))

which matches ``librosa.feature.melspectrogram`` with the same settings (see the parity test).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voicegen.audio.contract import (  # noqa: F401  (re-exported: the contract's historical home)
    DEFAULT_LOG_FLOOR,
    LOG_BASES,
    MEL_NORMS,
    MEL_SCALES,
    PAD_MODES,
    PRESETS,
    WINDOWS,
    FeatureConfig,
    get_preset,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)
from voicegen.audio.f0 import F0Config, F0Stream
from voicegen.audio.io import AudioReader


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


def file_mel(path: str | os.PathLike, config: FeatureConfig, f0: F0Config | None = None) -> tuple[np.ndarray, int]:
    """Log-mel ``(n_mels, frames)`` float32 of an audio file at ``config``'s rate, and its length in
    samples at that rate; read block by block (:class:`~voicegen.audio.io.AudioReader` into
    :class:`MelStream`), so only the mel is held in full. Same errors as ``load_audio``.

    With ``f0`` settings, the F0 rows of :mod:`voicegen.audio.f0` (continuous log-F0, voicing) are
    appended: ``(n_mels + 2, frames)``, the input of a pitch-conditioned vocoder."""
    reader = AudioReader(path, config.sample_rate, min_samples=config.min_samples)
    stream = MelStream(config)
    pitch = F0Stream(config.sample_rate, config.hop_length, f0) if f0 is not None else None
    mels, rows = [], []
    for block in reader:
        mels.append(stream.push(block))
        if pitch is not None:
            rows.append(pitch.push(block))
    mels.append(stream.finish())
    mel = np.concatenate(mels, axis=1)
    if pitch is not None:
        rows.append(pitch.finish())
        mel = np.concatenate([mel, np.concatenate(rows, axis=1)], axis=0)
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
