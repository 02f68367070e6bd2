"""WORLD analysis of one utterance for evaluation: F0 and mel-cepstrum over its speech span.

    analyzer = WorldAnalyzer(16000)            # order 24, alpha 0.42, DIO + StoneMask, 5 ms frames
    ref = analyzer(load_audio("ref.wav"))
    conv = analyzer(load_audio("conv.wav"))
    result = compare(conv, ref)                # MCD, F0 metrics, duration ratio, DTW path

Both files of a pair must be analysed by the same analyzer (same rate and settings); ``compare``
checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicegen.audio.stats import F0_MIN_HZ
from voicegen.eval.dtw import dtw_path
from voicegen.eval.f0 import FRAME_PERIOD_MS, F0Metrics, f0_metrics, world_f0
from voicegen.eval.mcd import (
    TRIM_DB,
    McepSettings,
    MelCepstrum,
    mcep_settings,
    mel_cepstral_distortion,
    speech_span,
)


@dataclass(frozen=True)
class WorldFeatures:
    """One utterance, cut to its speech span (see :func:`voicegen.eval.mcd.speech_span`).

    ``f0_hz``: float64 ``(frames,)``, 0 where unvoiced. ``mcep``: float64 ``(frames, order + 1)``.
    ``start_frame``: index of the first kept frame in the untrimmed analysis (frame ``t`` is
    centred at ``t * frame_period_ms``). ``num_samples`` / ``sample_rate``: the whole file.
    """

    f0_hz: np.ndarray
    mcep: np.ndarray
    start_frame: int
    frame_period_ms: float
    num_samples: int
    sample_rate: int
    settings: McepSettings
    f0_method: str

    @property
    def speech_seconds(self) -> float:
        """Length of the speech span in seconds."""
        return self.mcep.shape[0] * self.frame_period_ms / 1000.0

    @property
    def seconds(self) -> float:
        """Length of the whole file in seconds."""
        return self.num_samples / self.sample_rate


@dataclass(frozen=True)
class Comparison:
    """Metrics of a converted utterance against its reference, plus the DTW path used."""

    mcd_db: float
    f0: F0Metrics
    duration_ratio: float
    path: tuple[np.ndarray, np.ndarray]


class WorldAnalyzer:
    """Analyse waveforms at one sample rate into :class:`WorldFeatures`.

    Args:
        sample_rate: rate of every waveform passed in (Hz).
        order, alpha: mel-cepstrum settings; None picks them from the rate (16 kHz: 24, 0.42;
            22.05 kHz: 34, 0.45).
        f0_method: "dio" (DIO + StoneMask) or "harvest".
        trim_db: edge frames this far below the loudest are dropped; None keeps every frame.
    """

    def __init__(self, sample_rate: int, *, order: int | None = None, alpha: float | None = None,
                 f0_method: str = "dio", trim_db: float | None = TRIM_DB) -> None:
        import pyworld

        self.sample_rate = sample_rate
        self.settings = mcep_settings(sample_rate, order, alpha)
        self.f0_method = f0_method
        self.trim_db = trim_db
        self.fft_size = int(pyworld.get_cheaptrick_fft_size(sample_rate, F0_MIN_HZ))
        self._mcep = MelCepstrum(self.fft_size, self.settings.order, self.settings.alpha)

    def __call__(self, wav: np.ndarray) -> WorldFeatures:
        """Analyse a mono ``(T,)`` float waveform at ``self.sample_rate``."""
        import pyworld

        wav = np.ascontiguousarray(wav, dtype=np.float64)
        if wav.ndim != 1 or wav.shape[0] == 0:
            raise ValueError(f"expected a non-empty mono (T,) waveform, got shape {wav.shape}")
        f0, times = world_f0(wav, self.sample_rate, self.f0_method, frame_period_ms=FRAME_PERIOD_MS)
        sp = pyworld.cheaptrick(wav, f0, times, self.sample_rate, f0_floor=F0_MIN_HZ,
                                fft_size=self.fft_size)
        span = speech_span(sp, self.trim_db)
        return WorldFeatures(f0_hz=f0[span], mcep=self._mcep(sp[span]), start_frame=span.start,
                             frame_period_ms=FRAME_PERIOD_MS, num_samples=int(wav.shape[0]),
                             sample_rate=self.sample_rate, settings=self.settings,
                             f0_method=self.f0_method)


def compare(converted: WorldFeatures, reference: WorldFeatures) -> Comparison:
    """MCD (dB), F0 metrics and speech-duration ratio (converted / reference) after DTW."""
    mine = (converted.sample_rate, converted.settings, converted.f0_method)
    theirs = (reference.sample_rate, reference.settings, reference.f0_method)
    if mine != theirs:
        raise ValueError(f"features were analysed differently (rate, mcep settings, F0 method): "
                         f"{mine} vs {theirs}; use one WorldAnalyzer for both")
    path = dtw_path(converted.mcep[:, 1:], reference.mcep[:, 1:])
    return Comparison(
        mcd_db=mel_cepstral_distortion(converted.mcep, reference.mcep, path),
        f0=f0_metrics(converted.f0_hz, reference.f0_hz, path),
        duration_ratio=converted.speech_seconds / reference.speech_seconds,
        path=path,
    )
