"""Baselines: mel mean/variance transfer moves each band to the target's statistics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from voicegen.audio.features import compute_mel, get_preset
from voicegen.audio.io import load_audio
from voicegen.audio.stats import SpeakerStats
from voicegen.audio.writer import save_audio
from voicegen.errors import ConfigError
from voicegen.eval.baselines import mel_stats_transfer, mel_stats_transfer_folder, transfer_mel_stats


def _stats_of(mel: np.ndarray, features) -> SpeakerStats:
    return SpeakerStats(mel_mean=mel.mean(axis=1).astype(np.float64),
                        mel_std=mel.std(axis=1).astype(np.float64),
                        log_f0_mean=None, log_f0_std=None, num_files=1, total_seconds=1.0,
                        num_frames=mel.shape[1], num_voiced_frames=0, features=features)


@pytest.fixture(scope="module")
def clips(sf1_clip, tm1_clip):
    config = get_preset("vc16k")
    sf1, tm1 = load_audio(sf1_clip), load_audio(tm1_clip)
    mel_sf1, mel_tm1 = compute_mel(sf1, config), compute_mel(tm1, config)
    return sf1, mel_sf1, _stats_of(mel_sf1, config), _stats_of(mel_tm1, config)


def test_transfer_gives_the_target_band_statistics(clips) -> None:
    _, mel, source_stats, target_stats = clips
    converted = transfer_mel_stats(mel, source_stats, target_stats)
    np.testing.assert_allclose(converted.mean(axis=1), target_stats.mel_mean, atol=1e-3)
    bands = source_stats.mel_std > 1e-3  # bands above the std floor are rescaled exactly
    np.testing.assert_allclose(converted.std(axis=1)[bands], target_stats.mel_std[bands], rtol=1e-3)
    np.testing.assert_allclose(transfer_mel_stats(mel, source_stats, source_stats), mel, atol=1e-4)


def test_vocoder_receives_the_transferred_mel(clips) -> None:
    wav, mel, source_stats, target_stats = clips
    seen = []

    def vocoder_fn(mel_in: np.ndarray) -> np.ndarray:
        seen.append(mel_in)
        return np.zeros(mel_in.shape[1] * 256, dtype=np.float32) + 0.01

    out = mel_stats_transfer(wav, source_stats, target_stats, vocoder_fn)
    assert out.shape == wav.shape  # mel.shape[1] * 256 samples, cut to the input's length
    vocoded = mel.shape[1] * 256
    assert vocoded < wav.shape[0]  # so the tail is zero-padded
    assert np.all(out[:vocoded] == np.float32(0.01)) and np.all(out[vocoded:] == 0.0)
    np.testing.assert_allclose(seen[0], transfer_mel_stats(mel, source_stats, target_stats), atol=1e-5)
    with pytest.raises(ValueError, match="vocoder_fn must return a finite mono"):
        mel_stats_transfer(wav, source_stats, target_stats, lambda m: np.full((2, 10), np.nan))


def test_griffin_lim_vocoder_writes_a_folder(clips, sf1_clip, tmp_path) -> None:
    librosa = pytest.importorskip("librosa")
    _, _, source_stats, target_stats = clips
    config = source_stats.features

    def griffin_lim(mel: np.ndarray) -> np.ndarray:
        return librosa.feature.inverse.mel_to_audio(
            np.exp(mel), sr=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length,
            win_length=config.win_length, power=config.power, fmin=config.fmin, fmax=config.fmax_hz,
            n_iter=4)

    wav = load_audio(sf1_clip)[:24000]  # 1.5 s keeps Griffin-Lim quick
    save_audio(tmp_path / "src" / "200001.wav", wav, 16000)
    written = mel_stats_transfer_folder(tmp_path / "src", tmp_path / "out", source_stats, target_stats,
                                        griffin_lim, progress=False)
    assert written == [tmp_path / "out" / "200001.wav"]
    out = load_audio(written[0])
    assert out.shape == wav.shape
    assert 1e-3 < np.sqrt(np.mean(out**2)) and np.abs(out).max() <= 1.0  # clip guard: peaks above 1 scale to 0.99


def test_mismatched_mel_contracts_are_refused(clips) -> None:
    _, mel, source_stats, target_stats = clips
    other = dataclasses.replace(target_stats, features=get_preset("hifigan22k"))
    with pytest.raises(ConfigError, match=r"different mel settings \(sample_rate\); recompute"):
        transfer_mel_stats(mel, source_stats, other)
