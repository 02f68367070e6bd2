"""Scoring one converted waveform during training: against a parallel reference recording when
there is one (MCD, log-F0 RMSE, gross pitch error, as ``voicegen eval`` computes them), and its
naturalness (DNSMOS) either way.

    scorer = ConversionScorer(16000)
    scorer(wav_hat, reference)     # {"mcd_db": ..., "f0_rmse_cents": ..., "gpe": ..., "dnsmos_ovrl": ...}
    scorer(wav_hat)                # {"dnsmos_ovrl": ...} (when speechmos is installed)
"""

from __future__ import annotations

import math

import numpy as np

from voicegen.eval.analysis import WorldAnalyzer, compare
from voicegen.eval.naturalness import (
    DNSMOS_SAMPLE_RATE,
    check_framings,
    dnsmos_available,
    dnsmos_scores,
)


class ConversionScorer:
    """Metrics of converted audio at ``sample_rate``; ``naturalness`` None = DNSMOS when installed, the
    mean over ``dnsmos_framings`` framings of the clip (:func:`voicegen.eval.naturalness.dnsmos_scores`)."""

    def __init__(self, sample_rate: int, *, f0_method: str = "dio", naturalness: bool | None = None,
                 dnsmos_framings: int = 1) -> None:
        check_framings(dnsmos_framings)
        self.sample_rate = sample_rate
        self.dnsmos_framings = dnsmos_framings
        self.analyzer = WorldAnalyzer(sample_rate, f0_method=f0_method)
        self.naturalness = dnsmos_available() if naturalness is None else naturalness

    def __call__(self, converted: np.ndarray, reference: np.ndarray | None = None) -> dict[str, float]:
        converted = np.asarray(converted, dtype=np.float32).reshape(-1)
        metrics: dict[str, float] = {}
        if reference is not None:
            result = compare(self.analyzer(converted), self.analyzer(np.asarray(reference, np.float32).reshape(-1)))
            metrics.update(mcd_db=result.mcd_db, f0_rmse_cents=result.f0.f0_rmse_cents, gpe=result.f0.gpe)
        if self.naturalness and converted.size >= DNSMOS_SAMPLE_RATE // 10:
            metrics["dnsmos_ovrl"] = dnsmos_scores(converted, self.sample_rate, self.dnsmos_framings)["dnsmos_ovrl"]
        return {name: value for name, value in metrics.items() if math.isfinite(value)}
