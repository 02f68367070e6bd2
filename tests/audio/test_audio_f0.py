"""F0 rows for pitch-conditioned vocoders: contract, alignment, gap filling, stream == whole."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicegen.audio.f0 import (
    BLOCK_FRAMES,
    F0Config,
    F0Stream,
    GapFill,
    _subframe_median,
    f0_rows,
    shift_lf0,
)
from voicegen.audio.io import load_audio
from voicegen.errors import ConfigError

SR, HOP = 16000, 256


def harmonic(f0_hz: np.ndarray, sample_rate: int = SR, harmonics: int = 10) -> np.ndarray:
    """A harmonic tone whose instantaneous F0 is ``f0_hz`` (per sample), 1/k amplitudes."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / sample_rate
    return (0.3 * sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))).astype(np.float32)


def test_f0_config_is_strict() -> None:
    assert F0Config.from_dict(F0Config().to_dict()) == F0Config()
    with pytest.raises(ConfigError, match="unknown f0 setting"):
        F0Config.from_dict({"fmin": 60})
    with pytest.raises(ConfigError, match="f0.method must be one of dio, harvest"):
        F0Config(method="yin")
    with pytest.raises(ConfigError, match="0 < f0_min < f0_max"):
        F0Config(f0_min=300, f0_max=200)
    with pytest.raises(ConfigError, match="default_hz 20 must lie in"):
        F0Config(default_hz=20)
    with pytest.raises(ConfigError, match=r"f0.voicing_threshold must be a number in \(0, 1\], got 0"):
        F0Config(voicing_threshold=0)
    with pytest.raises(ConfigError, match="f0.dio_speed must be an integer from 1 to 12, got 13"):
        F0Config(dio_speed=13)
    with pytest.raises(ConfigError, match="f0.dio_speed must be an integer from 1 to 12, got True"):
        F0Config(dio_speed=True)
    with pytest.raises(ConfigError, match="f0.dio_subframes must be an integer from 1 to 16, got 0"):
        F0Config(dio_subframes=0)


def test_artifacts_written_before_the_dio_settings_read_as_before() -> None:
    """Artifacts of voicegen <= 0.2 store five f0 keys: they get WORLD's defaults (0.1, speed 1)."""
    old = {"method": "dio", "f0_min": 50.0, "f0_max": 800.0, "fill_frames": 32, "default_hz": 120.0}
    config = F0Config.from_dict(old)
    assert (config.voicing_threshold, config.dio_speed, config.dio_subframes) == (0.1, 1, 1)


def test_subframe_median_by_hand() -> None:
    """Frame i takes sub-frames 2i-1..2i+1 (sub 2): the median of the voiced ones when they are the majority."""
    fine = np.array([100.0, 0.0, 110.0, 120.0, 130.0, 0.0, 0.0, 0.0, 150.0])
    # frame 0: [pad, 100, 0] -> 1 voiced of 3: unvoiced; frame 1: [0, 110, 120] -> 115; frame 2: [120, 130, 0]
    # -> 125; frame 3: [0, 0, 0] -> 0; frame 4: [0, 150, pad] -> unvoiced; frame 5: only padding -> 0.
    assert _subframe_median(fine, 2, 6).tolist() == [0.0, 115.0, 125.0, 0.0, 0.0, 0.0]
    # sub 3 (odd): 3 sub-frames centred on the frame, [pad, 200, 210] -> 205; sub 4: [pad, pad, 200, 210, 190] -> 200.
    assert _subframe_median(np.array([200.0, 210.0, 190.0, 205.0]), 3, 1).tolist() == [205.0]
    assert _subframe_median(np.array([200.0, 210.0, 190.0, 205.0]), 4, 1).tolist() == [200.0]


def test_subframes_follow_a_glide_and_stream_equals_whole(flac_clip) -> None:
    config = F0Config(dio_subframes=4, voicing_threshold=0.2, f0_min=60.0)
    n = 3 * SR
    f0 = np.geomspace(110.0, 220.0, n)
    rows = f0_rows(harmonic(f0), SR, HOP, config)
    assert rows.shape == (2, n // HOP)
    centres = np.arange(n // HOP) * HOP + HOP // 2
    inner = slice(4, -4)
    assert rows[1, inner].min() == 1.0
    cents = 1200 * np.log2(np.exp(rows[0, inner]) / f0[centres][inner])
    assert np.max(np.abs(cents)) < 20
    wav = load_audio(flac_clip)
    whole = f0_rows(wav, SR, HOP, config)
    stream, parts = F0Stream(SR, HOP, config), []
    for i in range(0, len(wav), 7001):
        parts.append(stream.push(wav[i:i + 7001]))
    parts.append(stream.finish())
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


def test_voicing_threshold_calls_more_speech_frames_voiced_and_speed_keeps_the_pitch(flac_clip) -> None:
    wav = load_audio(flac_clip)
    plain = f0_rows(wav, SR, HOP, F0Config())
    looser = f0_rows(wav, SR, HOP, F0Config(voicing_threshold=0.2))
    # Frames voiced at 0.1 (nearly all) stay voiced at 0.2, and more join them.
    assert looser[1][plain[1] == 1].mean() > 0.95
    assert looser[1].sum() > plain[1].sum() * 1.05
    n = 3 * SR
    f0 = np.geomspace(110.0, 220.0, n)
    fast = f0_rows(harmonic(f0), SR, HOP, F0Config(dio_speed=2))
    centres = np.arange(n // HOP) * HOP + HOP // 2
    inner = slice(4, -4)
    assert fast[1, inner].min() == 1.0
    cents = 1200 * np.log2(np.exp(fast[0, inner]) / f0[centres][inner])
    assert np.max(np.abs(cents)) < 20


def test_rows_follow_a_known_contour_at_the_mel_frame_centres() -> None:
    seconds = 2.0
    n = int(seconds * SR)
    f0 = np.geomspace(110.0, 220.0, n)  # one octave glide
    rows = f0_rows(harmonic(f0), SR, HOP, F0Config())
    assert rows.shape == (2, n // HOP) and rows.dtype == np.float32
    centres = np.arange(n // HOP) * HOP + HOP // 2  # mel frame i is centred on i * hop + hop / 2
    inner = slice(4, -4)
    assert rows[1, inner].min() == 1.0  # voiced throughout
    cents = 1200 * np.log2(np.exp(rows[0, inner]) / f0[centres][inner])
    assert np.max(np.abs(cents)) < 20


def test_stream_equals_whole_for_any_push_sizes(flac_clip) -> None:
    wav = load_audio(flac_clip)  # 14.4 s: several tracker blocks
    assert len(wav) // HOP > 2 * BLOCK_FRAMES
    whole = f0_rows(wav, SR, HOP, F0Config())
    rng = np.random.default_rng(0)
    stream, parts, i = F0Stream(SR, HOP, F0Config()), [], 0
    while i < len(wav):
        step = int(rng.integers(1, 6000))
        parts.append(stream.push(wav[i:i + step]))
        i += step
    parts.append(stream.finish())
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    assert 0.3 < whole[1].mean() < 0.95  # speech: mostly voiced, some unvoiced


def _filled(raw: list[float], **settings) -> np.ndarray:
    fill = GapFill(F0Config(**settings))
    return np.concatenate([fill.push(np.asarray(raw)), fill.finish()], axis=1)


def test_gap_fill_interpolates_short_gaps_and_holds_long_ones() -> None:
    rows = _filled([100, 0, 0, 400, 0, 0, 0, 0, 200], fill_frames=3)
    assert rows[1].tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 1]
    lf0 = np.exp(rows[0])
    assert np.allclose(lf0[:4], [100, 100 * 4 ** (1 / 3), 100 * 4 ** (2 / 3), 400], rtol=1e-5)  # log-linear
    assert np.allclose(lf0[4:8], 400, rtol=1e-5)  # 4 > fill_frames: held
    assert math.isclose(lf0[8], 200, rel_tol=1e-5)


def test_gap_fill_leading_and_silent_inputs() -> None:
    assert np.allclose(np.exp(_filled([0, 0, 150], fill_frames=3)[0]), 150, rtol=1e-5)  # back-filled
    assert np.allclose(np.exp(_filled([0] * 5, default_hz=130.0)[0]), 130, rtol=1e-5)
    assert _filled([]).shape == (2, 0)


def test_shift_lf0_moves_pitch_only() -> None:
    rows = np.array([[math.log(100.0)], [1.0]], dtype=np.float32)
    shifted = shift_lf0(rows, 12.0)
    assert math.isclose(float(np.exp(shifted[0, 0])), 200.0, rel_tol=1e-5) and shifted[1, 0] == 1.0
    assert rows[0, 0] == np.float32(math.log(100.0))  # not in place
