"""Log-mel spectrograms of the mel contract in numpy (torch-free): whole arrays and streamed.

The same arithmetic as :class:`voicegen.audio.features.MelSpectrogram` (the differentiable torch
module that training uses)::

    pad -> |STFT|^power -> mel filterbank (slaney scale, slaney area norm) -> log(max(., log_floor))

computed here in float64 and returned as float32, so it agrees with the torch module to float32
rounding (tests hold the two within 1e-3 of each other and of librosa on real speech; float32 FFTs
differ by up to ~1e-4 in quiet bins). Inference (``convert``, ``vocode``,
``stream``) uses this front end whatever runtime runs the networks, so a clip gets the same
features with PyTorch and with ONNX Runtime.
"""

from __future__ import annotations

import math
import os

import numpy as np

from voicegen.audio.contract import FeatureConfig, mel_filterbank
from voicegen.audio.f0 import F0Config, F0Stream
from voicegen.audio.io import AudioReader

_BASES: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _analysis(config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n_fft,)`` window (periodic, centred in n_fft as torch.stft pads it) and the
    filterbank, both float64, cached per config."""
    key = tuple(sorted(config.to_dict().items(), key=lambda item: item[0]))
    if key not in _BASES:
        window = padded_window(config.window, config.win_length, config.n_fft)
        _BASES[key] = (window, mel_filterbank(config).astype(np.float64))
    return _BASES[key]


def padded_window(kind: str, win_length: int, n_fft: int) -> np.ndarray:
    """Periodic ``hann`` or ``hamming`` window of ``win_length`` zero-padded, centred, to ``n_fft``
    (float64; what ``torch.stft`` applies)."""
    n = np.arange(win_length, dtype=np.float64)
    cosine = np.cos(2 * math.pi * n / win_length)
    window = 0.5 - 0.5 * cosine if kind == "hann" else 0.54 - 0.46 * cosine
    left = (n_fft - win_length) // 2
    return np.pad(window, (left, n_fft - win_length - left))


def log_mel_from_padded(x: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """An already padded ``(L,)`` waveform with ``L >= n_fft`` -> log-mel ``(n_mels, 1 + (L - n_fft) // hop)``
    float32: frame ``t`` analyses ``x[t * hop : t * hop + n_fft]``."""
    window, basis = _analysis(config)
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=np.float64), config.n_fft)
    spec = np.fft.rfft(frames[::config.hop_length] * window, axis=-1)  # (frames, bins)
    if config.power == 2.0:
        mag = spec.real ** 2 + spec.imag ** 2
    else:
        mag = np.abs(spec) if config.power == 1.0 else np.abs(spec) ** config.power
    mel = np.maximum(basis @ mag.T, config.log_floor)
    return (np.log(mel) if config.log_base == "e" else np.log10(mel)).astype(np.float32)


def pad_wave(wav: np.ndarray, left: int, right: int, mode: str) -> np.ndarray:
    """``wav`` padded as the contract's ``pad_mode`` says (``reflect`` excludes the edge sample, as torch)."""
    return np.pad(np.asarray(wav, dtype=np.float32), (left, right), mode="reflect" if mode == "reflect" else "constant")


def log_mel(wav: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log-mel ``(n_mels, frames)`` float32 of a whole mono ``(T,)`` waveform (``T >= config.min_samples``)."""
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"log_mel expects a mono (T,) waveform, got shape {wav.shape}")
    if wav.shape[0] < config.min_samples:
        raise ValueError(f"MelSpectrogram: waveform of {wav.shape[0]} samples is shorter than the "
                         f"{config.min_samples} this config needs (n_fft={config.n_fft})")
    return log_mel_from_padded(pad_wave(wav, config.pad, config.pad, config.pad_mode), config)


class MelStream:
    """Log-mel frames of a waveform that arrives in blocks, with bounded memory.

        stream = MelStream(config)
        frames = [stream.push(block) for block in blocks] + [stream.finish()]

    ``push((n,) samples)`` returns the ``(n_mels, k)`` frames complete so far (k may be 0);
    ``finish()`` the rest. Their concatenation equals :func:`log_mel` of the concatenated samples
    exactly (the same padding at both ends, the same frames). It keeps less than one frame of
    samples between calls.
    """

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
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
            self._buf = np.concatenate([pad_wave(self._buf[:pad + 1], pad, 0, self.config.pad_mode)[:pad], self._buf])
            self._started = True
        return self._frames()

    def finish(self) -> np.ndarray:
        cfg = self.config
        if self.samples < cfg.min_samples:
            raise ValueError(f"MelSpectrogram: waveform of {self.samples} samples is shorter than the "
                             f"{cfg.min_samples} this config needs (n_fft={cfg.n_fft})")
        if not self._started:  # only possible without reflect padding
            self._buf = np.concatenate([pad_wave(self._buf, cfg.pad, 0, cfg.pad_mode)[:cfg.pad], self._buf])
            self._started = True
        if cfg.pad:
            self._buf = np.concatenate([self._buf, pad_wave(self._tail, 0, cfg.pad, cfg.pad_mode)[-cfg.pad:]])
        return self._frames()

    def _frames(self) -> np.ndarray:
        cfg = self.config
        count = (self._buf.shape[0] - cfg.n_fft) // cfg.hop_length + 1 if self._buf.shape[0] >= cfg.n_fft else 0
        if count <= 0:
            return self._empty()
        used = (count - 1) * cfg.hop_length + cfg.n_fft
        mel = log_mel_from_padded(self._buf[:used], cfg)
        self._buf = self._buf[count * cfg.hop_length:].copy()
        return mel

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
