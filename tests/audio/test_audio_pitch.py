"""voicegen.audio.pitch: YIN F0 with a voicing decision, on synthetic tones and real speech."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.audio.pitch import log_f0

SR = 16000
HOP = 256
# Our budget: statistics over minutes of speech on 2 cores need < 1 s per 10 s of audio.
MAX_SECONDS_PER_10S = 1.0


def _harmonic_tone(f0: float, seconds: float, sample_rate: int = SR) -> np.ndarray:
    """A voice-like tone: f0 plus decaying harmonics, 0.3 peak-ish amplitude."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wav = sum((0.3 / k) * np.sin(2 * np.pi * k * f0 * t + k) for k in range(1, 6))
    return wav.astype(np.float32)


@pytest.mark.parametrize("f0", [90.0, 220.0, 400.0])
def test_harmonic_tone_is_voiced_at_its_f0(f0: float) -> None:
    wav = _harmonic_tone(f0, 1.0)
    f0_hz, voiced = log_f0(wav, SR, HOP)
    assert f0_hz.shape == voiced.shape == (1 + SR // HOP,)
    assert f0_hz.dtype == np.float32 and voiced.dtype == bool
    inner = slice(3, -3)  # edge frames see the zero padding
    assert voiced[inner].all()
    np.testing.assert_allclose(f0_hz[inner], f0, rtol=0.01)


def test_silence_and_noise_are_unvoiced() -> None:
    f0_hz, voiced = log_f0(np.zeros(SR, dtype=np.float32), SR, HOP)
    assert not voiced.any() and not f0_hz.any()
    noise = 0.1 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    assert log_f0(noise, SR, HOP)[1].mean() < 0.05


def test_tone_then_silence_is_voiced_only_where_the_tone_is() -> None:
    wav = np.concatenate([_harmonic_tone(150.0, 0.5), np.zeros(SR // 2, dtype=np.float32)])
    _, voiced = log_f0(wav, SR, HOP)
    half = len(voiced) // 2
    assert voiced[3:half - 3].all() and not voiced[half + 3:].any()


def test_female_clip_is_higher_than_male_clip(sf1_clip: Path, tm1_clip: Path) -> None:
    medians = {}
    for name, path in (("SF1", sf1_clip), ("TM1", tm1_clip)):
        f0_hz, voiced = log_f0(load_audio(path), SR, HOP)
        assert 0.3 < voiced.mean() < 0.8  # speech: roughly half the frames voiced
        medians[name] = float(np.median(f0_hz[voiced]))
    assert 180 < medians["SF1"] < 260
    assert 100 < medians["TM1"] < 150


def test_fast_enough_for_statistics(flac_clip: Path) -> None:
    wav = load_audio(flac_clip)[: 10 * SR]
    start = time.perf_counter()
    log_f0(wav, SR, HOP)
    assert time.perf_counter() - start < MAX_SECONDS_PER_10S


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"expects a mono \(T,\) waveform"):
        log_f0(np.zeros((2, 100)), SR, HOP)
    with pytest.raises(ValueError, match="needs 0 < fmin < fmax <= sample_rate/2"):
        log_f0(np.zeros(1000), SR, HOP, fmin=500, fmax=60)
