"""Log-mel spectrograms of the mel contract: the torch module (training, losses) and whole files.

The contract itself (:class:`FeatureConfig`, presets, filterbank) lives in the torch-free
:mod:`voicegen.audio.contract`, the numpy front end of inference (:class:`MelStream`, ``log_mel``)
in :mod:`voicegen.audio.logmel`; both are re-exported here.

The log-mel of a waveform ``wav`` is::

    pad -> |STFT|^power -> mel filterbank (slaney scale, slaney area norm) -> log(max(., log_floor))

which matches ``librosa.feature.melspectrogram`` with the same settings (see the parity test).
"""

from __future__ import annotations

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
from voicegen.audio.logmel import (  # noqa: F401  (re-exported; numpy, torch-free)
    MelStream,
    check_log_mel,
    file_mel,
    log_floor_value,
    log_mel,
)


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
