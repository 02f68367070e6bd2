"""F0 metrics: exact on constructed tracks, near k*100 cents for copies shifted by k semitones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.errors import ConfigError
from voicegen.eval.analysis import WorldAnalyzer, compare
from voicegen.eval.f0 import f0_metrics, world_f0

pyworld = pytest.importorskip("pyworld")


def test_metrics_on_constructed_tracks() -> None:
    f0_y = np.array([0.0, 100.0, 110.0, 120.0, 0.0, 130.0])
    f0_x = f0_y * 2 ** (3 / 12)  # three semitones up, same voicing
    f0_x[5] = 0.0  # ... except one frame called unvoiced
    path = (np.arange(6), np.arange(6))
    metrics = f0_metrics(f0_x, f0_y, path)
    assert metrics.f0_rmse_cents == pytest.approx(300.0, abs=1e-9)
    assert metrics.f0_corr == pytest.approx(1.0)
    assert metrics.vuv_error == pytest.approx(1 / 6)
    assert metrics.voiced_pairs == 3


def test_metrics_follow_the_path_and_handle_no_voicing() -> None:
    f0_x, f0_y = np.array([100.0, 200.0]), np.array([200.0, 200.0, 100.0])
    # x[1] aligned with y[0] and y[1] (same pitch), x[0] with y[2] (same pitch): 0 cents.
    metrics = f0_metrics(f0_x, f0_y, (np.array([1, 1, 0]), np.array([0, 1, 2])))
    assert metrics.f0_rmse_cents == 0.0 and metrics.voiced_pairs == 3
    silent = f0_metrics(np.zeros(3), f0_y, (np.arange(3), np.arange(3)))
    assert math.isnan(silent.f0_rmse_cents) and math.isnan(silent.f0_corr)
    assert silent.vuv_error == 1.0 and silent.voiced_pairs == 0


@pytest.fixture(scope="module")
def world_copies():
    """WORLD re-syntheses of a clip with F0 scaled by 2**(k/12); envelope and timing unchanged."""
    def make(path, semitones):
        wav = load_audio(path).astype(np.float64)
        f0, times = world_f0(wav, 16000)
        sp = pyworld.cheaptrick(wav, f0, times, 16000)
        ap = pyworld.d4c(wav, f0, times, 16000)
        return {k: pyworld.synthesize(f0 * 2 ** (k / 12), sp, ap, 16000).astype(np.float32)
                for k in semitones}
    return make


@pytest.mark.parametrize("clip", ["sf1_clip", "tm1_clip"])
def test_pitch_shifted_copy_gives_k_hundred_cents(request, world_copies, clip) -> None:
    copies = world_copies(request.getfixturevalue(clip), (0, -3, 2, 5))
    analyzer = WorldAnalyzer(16000)
    unshifted = analyzer(copies[0])
    for semitones in (-3, 2, 5):
        result = compare(analyzer(copies[semitones]), unshifted)
        # Measured: 299/204/498 cents (SF1) and 309/210/498 cents (TM1).
        assert result.f0.f0_rmse_cents == pytest.approx(100 * abs(semitones), abs=15)
        assert result.f0.f0_corr > 0.95
        assert result.mcd_db < 3.0  # same envelope: only re-synthesis noise


def test_librosa_pitch_shift_gives_about_two_hundred_cents(sf1_clip) -> None:
    """An independent shifter (phase vocoder + resampling, which moves formants too)."""
    librosa = pytest.importorskip("librosa")
    wav = load_audio(sf1_clip)
    shifted = librosa.effects.pitch_shift(wav, sr=16000, n_steps=2)
    analyzer = WorldAnalyzer(16000)
    result = compare(analyzer(shifted), analyzer(wav))
    assert result.f0.f0_rmse_cents == pytest.approx(200, abs=40)  # measured 222
    assert result.f0.f0_corr > 0.9


def test_harvest_and_unknown_method(sf1_clip) -> None:
    wav = load_audio(sf1_clip)[:16000]
    f0, times = world_f0(wav, 16000, "harvest")
    assert f0.shape == times.shape and times[1] == pytest.approx(0.005)
    assert 150 < np.median(f0[f0 > 0]) < 300  # SF1 is ~210 Hz
    with pytest.raises(ConfigError, match="unknown F0 method 'yin'; choose one of: dio, harvest"):
        world_f0(wav, 16000, "yin")
