"""DNSMOS naturalness (speechmos) and the gross pitch error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.errors import ConfigError
from voicegen.eval.evaluate import evaluate_folders
from voicegen.eval.f0 import gross_pitch_error
from voicegen.eval.naturalness import DNSMOS_KEYS, dnsmos_available, dnsmos_scores, framed, framing_offsets

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


def test_framings_differ_in_window_and_mel_frame_positions() -> None:
    # j/K of the span rounded down to a whole 160-sample mel hop, plus j/K of a hop
    assert framing_offsets(1000, 4) == [0, 200, 560, 760]
    assert framing_offsets(16000, 4) == [0, 4040, 8080, 12120]
    assert framing_offsets(5000, 1) == [0]
    short = np.arange(1000, dtype=np.float32)  # shorter than one 9.01 s window: rotated
    clips = framed(short, 4)
    assert [c[0] for c in clips] == [0, 200, 560, 760] and all(sorted(c) == list(short) for c in clips)
    np.testing.assert_array_equal(clips[0], short)
    long = np.arange(16000 * 10, dtype=np.float32)  # longer: scored from later starts within a window hop
    assert [c[0] for c in framed(long, 4)] == [0, 4040, 8080, 12120]
    assert [len(c) for c in framed(long, 2)] == [160000, 151920]


def test_framings_must_be_a_positive_integer() -> None:
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match=rf"^DNSMOS framings must be an integer >= 1, got {bad!r}$"):
            dnsmos_scores(np.zeros(16000, np.float32), 16000, bad)


@needs_dnsmos
def test_framed_scores_are_the_mean_over_the_framings_and_jitter_less(tm1_clip) -> None:
    from speechmos import dnsmos

    wav = load_audio(tm1_clip)
    assert dnsmos_scores(wav, 16000)["dnsmos_ovrl"] == pytest.approx(dnsmos.run(wav, 16000)["ovrl_mos"], abs=1e-6)
    two = [dnsmos.run(np.roll(wav, -offset), 16000) for offset in framing_offsets(len(wav), 2)]
    got = dnsmos_scores(wav, 16000, 2)
    for key, theirs in (("dnsmos_ovrl", "ovrl_mos"), ("dnsmos_sig", "sig_mos"), ("dnsmos_bak", "bak_mos")):
        assert got[key] == pytest.approx(np.mean([r[theirs] for r in two]), abs=1e-6)
    # The same recording with a few zero samples appended: one framing moves with the length (measured range
    # 0.069 over these four lengths), four framings much less (0.005).
    spread = {}
    for framings in (1, 4):
        scores = [dnsmos_scores(np.concatenate([wav, np.zeros(pad, np.float32)]), 16000, framings)["dnsmos_ovrl"]
                  for pad in (0, 64, 129, 256)]
        spread[framings] = max(scores) - min(scores)
    assert spread[4] < 0.5 * spread[1]


@needs_dnsmos
def test_eval_reports_framed_dnsmos(tm1_clip, sf1_clip) -> None:
    report = evaluate_folders(sf1_clip, tm1_clip, None, speaker_similarity=False, dnsmos_framings=2, progress=False)
    row = report.rows[0]
    assert row["dnsmos_ovrl"] == pytest.approx(dnsmos_scores(load_audio(sf1_clip), 16000, 2)["dnsmos_ovrl"])
    assert row["reference_dnsmos_ovrl"] == pytest.approx(dnsmos_scores(load_audio(tm1_clip), 16000, 2)["dnsmos_ovrl"])
    settings = report.summary["settings"]
    assert settings["dnsmos_framings"] == 2 and settings["naturalness"].endswith(", each score the mean over 2 framings")


def test_gross_pitch_error_counts_frames_off_by_more_than_20_percent() -> None:
    reference = np.array([100.0, 100, 100, 100, 0, 100])
    converted = np.array([119.0, 121, 50, 100, 100, 0])
    assert gross_pitch_error(converted, reference) == pytest.approx(2 / 4)  # 121 and 50; 2 frames unvoiced in one
    assert math.isnan(gross_pitch_error(np.zeros(3), reference[:3]))


def test_conversion_scorer_averages_its_framings(tm1_clip) -> None:
    from voicegen.eval.scoring import ConversionScorer

    with pytest.raises(ConfigError, match=r"^DNSMOS framings must be an integer >= 1, got 0$"):
        ConversionScorer(16000, dnsmos_framings=0)
    if not dnsmos_available():
        pytest.skip("speechmos/onnxruntime not installed (pip install 'voicegen[eval]')")
    wav = load_audio(tm1_clip)[:16000 * 3]
    got = ConversionScorer(16000, dnsmos_framings=3)(wav)
    assert got == {"dnsmos_ovrl": pytest.approx(dnsmos_scores(wav, 16000, 3)["dnsmos_ovrl"], abs=1e-9)}
    assert ConversionScorer(16000)(wav)["dnsmos_ovrl"] == pytest.approx(dnsmos_scores(wav, 16000)["dnsmos_ovrl"])
