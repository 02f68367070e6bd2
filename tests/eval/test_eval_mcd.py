"""Mel-cepstral distortion: the mel-cepstrum matches SPTK, and MCD behaves on known inputs."""

from __future__ import annotations

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.errors import ConfigError
from voicegen.eval.analysis import WorldAnalyzer, compare
from voicegen.eval.mcd import MelCepstrum, frame_distortion_db, mcep_settings, speech_span

pytest.importorskip("pyworld")

# pysptk.sp2mc(sp, 24, 0.42) of the two envelopes in _synthetic_envelopes (pysptk 1.0.1).
PYSPTK_SP2MC = np.array([
    [0.1883429858, 0.3692528044, -0.1660408994, 0.0932659145, -0.0640803256, 0.0482015335,
     -0.0367017572, 0.0275253547, -0.0202936389, 0.0148015436, -0.0107579386, 0.0078351063,
     -0.0057367572, 0.0042280355, -0.003136428, 0.0023401896, -0.0017547182, 0.0013211803,
     -0.000998265, 0.000756587, -0.0005749809, 0.0004380415, -0.0003344651, 0.000255905,
     -0.0001961675],
    [-0.4709550962, 0.5145115897, -0.1265542227, 0.0868144445, -0.0366884469, 0.028063001,
     -0.0051992054, 0.0030711386, 0.0033867244, 0.0011059507, -0.000661471, 0.0049742241,
     -0.0046059894, 0.0069290933, -0.0057847842, 0.0067289897, -0.0052608226, 0.0055853688,
     -0.0041940648, 0.004341753, -0.0031961668, 0.0033456286, -0.0024569899, 0.0026443036,
     -0.0019591941],
])


def _synthetic_envelopes() -> np.ndarray:
    w = np.linspace(0, np.pi, 513)
    return np.stack([(1.0 + 0.5 * np.cos(w)) ** 2 + 0.1 * (1 + np.cos(3 * w)),
                     np.exp(-w) + 0.01 * (2 + np.sin(5 * w))])


def test_mel_cepstrum_matches_frozen_pysptk_values() -> None:
    mc = MelCepstrum(1024, 24, 0.42)(_synthetic_envelopes())
    np.testing.assert_allclose(mc, PYSPTK_SP2MC, atol=1e-9)


def test_mel_cepstrum_matches_live_pysptk_when_it_imports() -> None:
    try:
        import pysptk
    except ImportError as err:  # also pysptk 1.0.1 under setuptools >= 81 (no pkg_resources)
        pytest.skip(f"pysptk not importable: {err}")
    sp = _synthetic_envelopes() * np.linspace(1.0, 2.0, 513)
    np.testing.assert_allclose(MelCepstrum(1024, 34, 0.45)(sp), pysptk.sp2mc(sp, 34, 0.45), atol=1e-9)


def test_mel_cepstrum_inverts_an_envelope_made_on_the_warped_axis() -> None:
    """Independent of SPTK: log|H(w)| = sum_m mc(m) cos(m w~(w)) must give back mc."""
    alpha, order = 0.42, 24
    mc_true = 0.8 * (-0.6) ** np.arange(order + 1) / (1 + np.arange(order + 1))
    w = np.linspace(0, np.pi, 1025)
    warped = w + 2 * np.arctan(alpha * np.sin(w) / (1 - alpha * np.cos(w)))  # all-pass phase
    log_amplitude = np.cos(np.outer(warped, np.arange(order + 1))) @ mc_true
    mc = MelCepstrum(2048, order, alpha)(np.exp(2 * log_amplitude)[None, :])
    np.testing.assert_allclose(mc[0], mc_true, atol=1e-6)


def test_settings_follow_the_sample_rate() -> None:
    assert (mcep_settings(16000).order, mcep_settings(16000).alpha) == (24, 0.42)
    assert (mcep_settings(22050).order, mcep_settings(22050).alpha) == (34, 0.45)
    assert mcep_settings(44100, order=40, alpha=0.53).order == 40
    with pytest.raises(ConfigError, match=r"no mel-cepstrum settings for 44100 Hz audio \(defined "
                                          r"for 16000 Hz or 22050 Hz\); resample"):
        mcep_settings(44100)


def test_speech_span_trims_quiet_edges_only() -> None:
    power = np.array([1e-9, 1e-9, 1.0, 1e-9, 0.5, 1e-9])[:, None] * np.ones((1, 4))
    assert speech_span(power, 40.0) == slice(2, 5)
    assert speech_span(power, None) == slice(0, 6)


@pytest.fixture(scope="module")
def analyzer() -> WorldAnalyzer:
    return WorldAnalyzer(16000)


def test_identical_files_give_zero(analyzer, sf1_clip) -> None:
    wav = load_audio(sf1_clip)
    result = compare(analyzer(wav), analyzer(wav.copy()))
    assert result.mcd_db == 0.0
    assert result.f0.f0_rmse_cents == 0.0 and result.f0.vuv_error == 0.0
    assert result.duration_ratio == 1.0


def test_time_shifted_copy_gives_about_zero_after_dtw(analyzer, sf1_clip) -> None:
    wav = load_audio(sf1_clip)
    reference = analyzer(wav)
    # 0.25 s of silence in front and 0.1 s of faint noise behind: 50 and 20 whole 5 ms frames.
    noise = np.random.default_rng(0).normal(0, 1e-4, 1600).astype(np.float32)
    shifted = np.concatenate([np.zeros(4000, np.float32), wav, noise])
    result = compare(analyzer(shifted), reference)
    assert result.mcd_db < 1e-3
    assert result.f0.f0_rmse_cents < 1e-3
    assert result.duration_ratio == pytest.approx(1.0)


def test_dtw_absorbs_a_shift_that_is_not_trimmed(sf1_clip) -> None:
    """With every frame kept, the 50 silent frames in front all map to the first reference frame."""
    untrimmed = WorldAnalyzer(16000, trim_db=None)
    wav = load_audio(sf1_clip)
    shifted, reference = untrimmed(np.concatenate([np.zeros(4000, np.float32), wav])), untrimmed(wav)
    frames = min(shifted.mcep.shape[0], reference.mcep.shape[0])
    no_dtw = frame_distortion_db(shifted.mcep[:frames], reference.mcep[:frames]).mean()
    assert no_dtw > 10.0  # 14.1 dB frame by frame
    assert compare(shifted, reference).mcd_db < 1.0  # 0.53 dB: only the silent frames count


def test_sub_frame_shift_stays_below_the_documented_floor(analyzer, sf1_clip) -> None:
    """Half a 5 ms frame out of phase is the worst case of the definition (~2.7 dB)."""
    wav = load_audio(sf1_clip)
    result = compare(analyzer(np.concatenate([np.zeros(40, np.float32), wav])), analyzer(wav))
    assert 0.5 < result.mcd_db < 3.5


def test_different_speakers_are_far_apart(analyzer, sf1_clip, tm1_clip) -> None:
    result = compare(analyzer(load_audio(sf1_clip)), analyzer(load_audio(tm1_clip)))
    assert 7.0 < result.mcd_db < 11.0  # 8.51 dB; the dev set's 10 pairs average 9.43 dB
    assert result.f0.f0_rmse_cents > 600  # SF1 ~210 Hz, TM1 ~130 Hz: ~830 cents apart


def test_compare_refuses_features_from_different_analyzers(analyzer, sf1_clip) -> None:
    wav = load_audio(sf1_clip)
    with pytest.raises(ValueError, match="analysed differently"):
        compare(analyzer(wav), WorldAnalyzer(16000, f0_method="harvest")(wav[:8000]))
