"""Copy-synthesis metrics: exact values for known gains, and the PyPI scores where installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.eval.spectral import copy_synthesis_metrics, log_spectral_distance, mel_l1, pesq_wb, stoi


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    """2 s of white noise at -20 dBFS: every STFT and mel bin is far above the floors."""
    return np.random.default_rng(0).normal(0, 0.1, 32000).astype(np.float32)


def test_lsd_and_mel_l1_of_a_gain(noise) -> None:
    assert log_spectral_distance(noise, noise) == 0.0
    assert mel_l1(noise, noise, 16000) == 0.0
    half = 0.5 * noise
    assert log_spectral_distance(half, noise) == pytest.approx(20 * math.log10(2), abs=1e-3)
    assert mel_l1(half, noise, 16000) == pytest.approx(math.log(2), abs=1e-4)
    assert mel_l1(half[:22050], noise[:22050], 22050) == pytest.approx(math.log(2), abs=1e-4)


def test_lengths_are_cut_to_the_shorter(noise) -> None:
    assert log_spectral_distance(noise[:20000], noise) == 0.0
    with pytest.raises(ValueError, match="too short"):
        log_spectral_distance(noise[:100], noise)


def test_pesq_and_stoi_rank_degradations(sf1_clip) -> None:
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    clean = load_audio(sf1_clip)
    noisy = clean + np.random.default_rng(1).normal(0, 0.02, clean.shape).astype(np.float32)
    assert pesq_wb(clean, clean, 16000) == pytest.approx(4.64, abs=0.01)  # P.862.2's ceiling
    assert stoi(clean, clean, 16000) == pytest.approx(1.0, abs=1e-6)
    assert pesq_wb(noisy, clean, 16000) < 3.0
    assert stoi(noisy, clean, 16000) < 0.97  # measured 0.958
    metrics = copy_synthesis_metrics(noisy, clean, 16000)
    assert metrics.lsd_db > 5.0 and metrics.mel_l1 > 0.1
    assert metrics.pesq_wb == pytest.approx(pesq_wb(noisy, clean, 16000))
