"""voicegen.audio.stats: per-speaker mel/log-F0 statistics, JSON round trip, normalisation."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from voicegen.audio.f0 import F0Config, track_f0
from voicegen.audio.features import compute_mel, get_preset, log_mel
from voicegen.audio.io import load_audio
from voicegen.audio.stats import (
    MIN_STD,
    SpeakerStats,
    compute_stats,
    denormalize,
    list_audio_files,
    normalize,
)
from voicegen.errors import ArtifactError, AudioError

CONFIG = get_preset("vc16k")


@pytest.fixture(scope="module")
def female_files(samples_dir: Path) -> list[Path]:
    return [samples_dir / "SF1_200001.wav", samples_dir / "SF1_100001.wav"]


@pytest.fixture(scope="module")
def female_stats(female_files: list[Path]) -> SpeakerStats:
    return compute_stats(female_files, CONFIG, progress=False)


def test_stats_match_a_direct_numpy_computation(female_files: list[Path], female_stats: SpeakerStats) -> None:
    wavs = [load_audio(p, CONFIG.sample_rate) for p in female_files]
    mels = np.concatenate([log_mel(w, CONFIG) for w in wavs], axis=1).astype(np.float64)  # the numpy front end
    np.testing.assert_allclose(female_stats.mel_mean, mels.mean(axis=1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(female_stats.mel_std, mels.std(axis=1), rtol=0, atol=1e-7)
    lf0 = np.concatenate([np.log(f0[f0 > 0])
                          for f0 in (track_f0(w, CONFIG.sample_rate, CONFIG.hop_length, F0Config()) for w in wavs)])
    assert female_stats.log_f0_mean == pytest.approx(lf0.mean(), abs=1e-12)
    assert female_stats.log_f0_std == pytest.approx(lf0.std(), abs=1e-9)
    assert female_stats.num_voiced_frames == lf0.shape[0]
    assert female_stats.num_files == 2 and female_stats.num_frames == mels.shape[1]
    assert female_stats.total_seconds == pytest.approx(sum(len(w) for w in wavs) / 16000)
    assert female_stats.features == CONFIG


def test_female_log_f0_is_above_male(female_stats: SpeakerStats, samples_dir: Path) -> None:
    male_files = [samples_dir / "TM1_200001.wav", samples_dir / "TM1_100082.wav"]
    male = compute_stats(male_files, CONFIG, progress=False)
    assert female_stats.log_f0_mean - male.log_f0_mean > math.log(1.3)  # SF1 ~210 Hz vs TM1 ~130 Hz
    assert 5.1 < female_stats.log_f0_mean < 5.6 and 4.4 < male.log_f0_mean < 5.0


def test_folder_is_searched_recursively_for_audio_only(tmp_path: Path, female_files: list[Path],
                                                       female_stats: SpeakerStats) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(female_files[0], tmp_path / "a.wav")
    shutil.copy(female_files[1], tmp_path / "sub" / "deeper" / "b.WAV")
    (tmp_path / "sub" / "notes.txt").write_text("not audio")
    (tmp_path / ".hidden.wav").write_bytes(b"junk")
    assert [p.name for p in list_audio_files(tmp_path)] == ["a.wav", "b.WAV"]
    stats = compute_stats(tmp_path, CONFIG, progress=False)
    np.testing.assert_allclose(stats.mel_mean, female_stats.mel_mean, rtol=0, atol=1e-12)


def test_json_round_trip_is_exact_and_atomic(tmp_path: Path, female_stats: SpeakerStats) -> None:
    path = female_stats.save_json(tmp_path / "stats" / "SF1.json")
    data = json.loads(path.read_text())
    assert data["format_version"] == 1 and data["features"]["hop_length"] == 256
    loaded = SpeakerStats.load_json(path)
    np.testing.assert_array_equal(loaded.mel_mean, female_stats.mel_mean)
    np.testing.assert_array_equal(loaded.mel_std, female_stats.mel_std)
    assert loaded.to_dict() == female_stats.to_dict()
    with pytest.raises(AudioError, match=r"SF1\.json: already exists; pass --overwrite"):
        female_stats.save_json(path)
    female_stats.save_json(path, overwrite=True)
    assert os.listdir(tmp_path / "stats") == ["SF1.json"]


def test_load_json_errors_name_the_file(tmp_path: Path, female_stats: SpeakerStats) -> None:
    with pytest.raises(ArtifactError, match=r"missing\.json: speaker stats file not found"):
        SpeakerStats.load_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ArtifactError, match=r"broken\.json: not a valid speaker stats file"):
        SpeakerStats.load_json(broken)
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(female_stats.to_dict() | {"pitch": 1}))
    with pytest.raises(ArtifactError, match=r"unknown key\(s\) \['pitch'\]"):
        SpeakerStats.load_json(extra)
    future = tmp_path / "future.json"
    future.write_text(json.dumps(female_stats.to_dict() | {"format_version": 99}))
    with pytest.raises(ArtifactError, match="format_version 99 is not supported"):
        SpeakerStats.load_json(future)


def test_empty_or_missing_sources_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no audio here")
    with pytest.raises(AudioError, match=r"empty: no audio files \(\.wav .*\) found in this folder or below"):
        compute_stats(tmp_path / "empty", CONFIG, progress=False)
    with pytest.raises(AudioError, match="gone: folder not found"):
        compute_stats(tmp_path / "gone", CONFIG, progress=False)
    with pytest.raises(AudioError, match="no audio files given"):
        compute_stats([], CONFIG, progress=False)


def test_a_bad_file_in_the_set_names_that_file(tmp_path: Path, female_files: list[Path]) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + bytes(10))
    with pytest.raises(AudioError, match=r"bad\.wav: cannot decode audio"):
        compute_stats([female_files[0], bad], CONFIG, progress=False)


def test_normalize_round_trip_numpy_and_torch(female_files: list[Path], female_stats: SpeakerStats) -> None:
    mel = compute_mel(load_audio(female_files[0]), CONFIG)
    z = normalize(mel, female_stats)
    assert z.dtype == np.float32 and z.shape == mel.shape
    np.testing.assert_allclose(denormalize(z, female_stats), mel, atol=1e-5)
    expected = (mel - female_stats.mel_mean[:, None]) / female_stats.mel_std[:, None]
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)
    batch = torch.from_numpy(np.stack([mel, mel]))[:, None]  # (B, 1, n_mels, frames), as an image
    z_torch = normalize(batch, female_stats)
    assert z_torch.dtype == torch.float32
    np.testing.assert_allclose(z_torch[1, 0].numpy(), z, atol=1e-6)
    torch.testing.assert_close(denormalize(z_torch, female_stats), batch, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"mel must be shaped \(\.\.\., 80, frames\)"):
        normalize(mel[:40], female_stats)


def test_normalized_pooled_frames_have_zero_mean_unit_std(female_files: list[Path],
                                                          female_stats: SpeakerStats) -> None:
    mels = np.concatenate([compute_mel(load_audio(p), CONFIG) for p in female_files], axis=1)
    z = normalize(mels.astype(np.float64), female_stats)
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=1), 1.0, atol=1e-5)


def test_constant_band_is_not_divided_by_zero(female_stats: SpeakerStats) -> None:
    flat = SpeakerStats.from_dict(female_stats.to_dict() | {"mel_std": [0.0] * 80})
    z = normalize(np.full((80, 5), 1.0, dtype=np.float32), flat)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[:, 0], (1.0 - flat.mel_mean) / MIN_STD, rtol=1e-5)
