"""DNSMOS naturalness (speechmos) and the gross pitch error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.eval.f0 import gross_pitch_error
from voicegen.eval.naturalness import DNSMOS_KEYS, dnsmos_available, dnsmos_scores

needs_dnsmos = pytest.mark.skipif(not dnsmos_available(), reason="speechmos/onnxruntime not installed "
                                  "(pip install 'voicegen[eval]')")


@needs_dnsmos
def test_clean_speech_scores_clearly_above_the_same_speech_with_noise_and_buzz(sf1_clip) -> None:
    wav = load_audio(sf1_clip)
    t = np.arange(len(wav)) / 16000
    rng = np.random.default_rng(0)
    buzz = 0.05 * np.sign(np.sin(2 * np.pi * 100 * t))
    degraded = (wav + 0.03 * rng.standard_normal(len(wav)) + buzz).astype(np.float32)
    clean, bad = dnsmos_scores(wav, 16000), dnsmos_scores(degraded, 16000)
    assert set(clean) == set(DNSMOS_KEYS)
    assert all(1.0 <= v <= 5.0 for v in clean.values())
    assert clean["dnsmos_ovrl"] > 3.0 and clean["dnsmos_ovrl"] - bad["dnsmos_ovrl"] > 1.0
    assert clean["dnsmos_bak"] - bad["dnsmos_bak"] > 1.5


@needs_dnsmos
def test_other_rates_are_resampled_to_16k(lj_clip) -> None:
    scores = dnsmos_scores(load_audio(lj_clip, 22050)[:22050 * 4], 22050)
    assert 2.5 < scores["dnsmos_ovrl"] < 4.5


def test_gross_pitch_error_counts_frames_off_by_more_than_20_percent() -> None:
    reference = np.array([100.0, 100, 100, 100, 0, 100])
    converted = np.array([119.0, 121, 50, 100, 100, 0])
    assert gross_pitch_error(converted, reference) == pytest.approx(2 / 4)  # 121 and 50; 2 frames unvoiced in one
    assert math.isnan(gross_pitch_error(np.zeros(3), reference[:3]))
