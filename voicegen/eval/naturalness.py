"""Naturalness without a reference: DNSMOS P.835 (SIG, BAK, OVRL) and P.808, from ``speechmos``.

DNSMOS (Reddy et al., ICASSP 2022) is a neural predictor of listener opinion scores (1-5) trained on
the ITU-T P.835 and P.808 ratings of the Deep Noise Suppression challenge. The ONNX models ship
inside the ``speechmos`` wheel (MIT licence), so scoring works offline. Input is 16 kHz audio; a
clip shorter than 9.01 s is repeated to that length, a longer one scored in 9.01 s windows a
second apart and averaged (speechmos's procedure). Scores: ``dnsmos_sig`` (speech distortion),
``dnsmos_bak`` (background noise), ``dnsmos_ovrl`` (overall) and ``dnsmos_p808``.

Measured on this project's CPU: ~1.5 s per clip of up to 9 s (two small ONNX models and a mel).
On the held-out VCC 2016 recordings real TM1 speech scores OVRL ~3.26 (see the README).

That procedure's framing makes the score jitter: where the 9.01 s windows and the mel frames (10 ms
hop) fall on the clip moves the score. The 10 VCC 2016 SF1 evaluation recordings rotated by 40 or 80
samples (the same content) move by 0.028 per file (standard deviation) and their mean from 3.221 to
3.184; ``framings=K`` averages K framings of the clip (:func:`framed`): with K = 4 the same test moves
a file by 0.005-0.013 and the 10-file mean by 0.001-0.009 (standard deviations; recordings, vocoder
copy-synthesis and live-conversion outputs: ``recipes/vcc2016/logs/2026-12-06_dnsmos_framing/``).
K = 1 is speechmos's single framing, comparable with published DNSMOS figures and this project's tables.
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
# speechmos scores 9.01 s windows one second apart (its INPUT_LENGTH and hop), each as a mel
# spectrogram with a 160-sample hop.
WINDOW_SECONDS = 9.01
HOP_SECONDS = 1.0
MEL_HOP = 160


def dnsmos_available() -> bool:
    """True when speechmos and onnxruntime are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("speechmos", "onnxruntime", "requests"))


def dnsmos_scores(wav: np.ndarray, sample_rate: int, framings: int = 1) -> dict[str, float]:
    """DNSMOS scores of a mono waveform (any rate; resampled to 16 kHz), each the mean over
    ``framings`` framings of the clip (see the module doc); ConfigError without speechmos."""
    check_framings(framings)
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

        results = [dnsmos.run(clip, DNSMOS_SAMPLE_RATE) for clip in framed(wav, framings)]
    return {key: float(np.mean([result[theirs] for result in results])) for key, theirs in _SPEECHMOS_KEYS.items()}


def framing_offsets(span: int, framings: int) -> list[int]:
    """Sample offsets of the framings: ``j / framings`` of ``span`` rounded down to a whole mel hop, plus
    ``j / framings`` of a mel hop, so the framings differ both in where the windows fall and in where
    the mel frames fall (all on one mel-hop grid would score nearly alike)."""
    return [(j * span // framings) // MEL_HOP * MEL_HOP + j * MEL_HOP // framings for j in range(framings)]


def framed(wav: np.ndarray, framings: int) -> list[np.ndarray]:
    """The ``framings`` versions of a 16 kHz clip that :func:`dnsmos_scores` averages (the first is the clip):
    a clip shorter than a window rotated by :func:`framing_offsets` of its length, a longer one cut to start
    at the offsets of a window hop."""
    n = wav.shape[0]
    if n < WINDOW_SECONDS * DNSMOS_SAMPLE_RATE:
        return [np.roll(wav, -offset) for offset in framing_offsets(n, framings)]
    return [wav[offset:] for offset in framing_offsets(int(HOP_SECONDS * DNSMOS_SAMPLE_RATE), framings)]


def check_framings(framings: object, name: str = "DNSMOS framings") -> None:
    """ConfigError (one line, naming ``name``) unless ``framings`` is an integer >= 1."""
    if isinstance(framings, bool) or not isinstance(framings, (int, np.integer)) or framings < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {framings!r}")
