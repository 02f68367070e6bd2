"""Naturalness without a reference: DNSMOS P.835 (SIG, BAK, OVRL) and P.808, from ``speechmos``.

DNSMOS (Reddy et al., ICASSP 2022) is a neural predictor of listener opinion scores (1-5) trained on
the ITU-T P.835 and P.808 ratings of the Deep Noise Suppression challenge. The ONNX models ship
inside the ``speechmos`` wheel (MIT licence), so scoring works offline. Input is 16 kHz audio; a
clip shorter than 9.01 s is repeated to that length, a longer one scored in 9.01 s windows a
second apart and averaged (speechmos's procedure). Scores: ``dnsmos_sig`` (speech distortion),
``dnsmos_bak`` (background noise), ``dnsmos_ovrl`` (overall) and ``dnsmos_p808``.

Measured on this project's CPU: ~1.5 s per clip of up to 9 s (two small ONNX models and a mel).
On the held-out VCC 2016 recordings real TM1 speech scores OVRL ~3.26 (see the README).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

from voicegen.errors import ConfigError

DNSMOS_SAMPLE_RATE = 16000
DNSMOS_KEYS: tuple[str, ...] = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")
_SPEECHMOS_KEYS = {"dnsmos_sig": "sig_mos", "dnsmos_bak": "bak_mos", "dnsmos_ovrl": "ovrl_mos",
                   "dnsmos_p808": "p808_mos"}
INSTALL_HINT = "pip install 'voicegen[eval]' (speechmos, onnxruntime)"


def dnsmos_available() -> bool:
    """True when speechmos and onnxruntime are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("speechmos", "onnxruntime", "requests"))


def dnsmos_scores(wav: np.ndarray, sample_rate: int) -> dict[str, float]:
    """DNSMOS scores of a mono waveform (any rate; resampled to 16 kHz); ConfigError without speechmos."""
    if not dnsmos_available():
        raise ConfigError(f"DNSMOS needs speechmos: {INSTALL_HINT}")
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    if sample_rate != DNSMOS_SAMPLE_RATE:
        from scipy.signal import resample_poly

        divisor = np.gcd(int(sample_rate), DNSMOS_SAMPLE_RATE)
        wav = resample_poly(wav, DNSMOS_SAMPLE_RATE // divisor, int(sample_rate) // divisor).astype(np.float32)
    wav = np.clip(wav, -1.0, 1.0)  # speechmos refuses samples beyond full scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from speechmos import dnsmos

        result = dnsmos.run(wav, DNSMOS_SAMPLE_RATE)
    return {key: float(result[theirs]) for key, theirs in _SPEECHMOS_KEYS.items()}
