"""voicegen.audio.features: the mel contract, its presets, and parity of the mel module with librosa."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

from voicegen.audio.features import (
    PRESETS,
    FeatureConfig,
    MelSpectrogram,
    compute_mel,
    get_preset,
    hz_to_mel,
    log_floor_value,
    log_mel,
    mel_filterbank,
    mel_to_hz,
)
from voicegen.audio.io import load_audio
from voicegen.errors import ConfigError

# Max abs difference allowed between our log-mel and librosa's, in natural-log units (float32
# FFTs differ slightly; 1e-3 is ~0.009 dB).
LIBROSA_LOG_TOLERANCE = 1e-3
PARITY_SECONDS = 3.0


def _librosa_log_mel(wav: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """The reference: librosa with the same padding, window, power, filterbank and log clamp."""
    if not cfg.center:  # HiFi-GAN convention: pad (n_fft - hop) / 2 per side, no centring
        wav = np.pad(wav, (cfg.pad, cfg.pad), mode=cfg.pad_mode)
    mel = librosa.feature.melspectrogram(
        y=wav, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=cfg.win_length, window=cfg.window, center=cfg.center, pad_mode=cfg.pad_mode,
        power=cfg.power, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax_hz,
        htk=cfg.mel_scale == "htk", norm=cfg.mel_norm)
    return np.log(np.maximum(mel, cfg.log_floor))


# ---------------------------------------------------------------- the config


def test_presets_are_the_documented_settings() -> None:
    assert set(PRESETS) == {"vc16k", "hifigan22k"}
    vc = get_preset("vc16k")
    assert (vc.sample_rate, vc.n_fft, vc.win_length, vc.hop_length, vc.n_mels) == (16000, 1024, 1024, 256, 80)
    assert (vc.fmin, vc.fmax_hz) == (0.0, 8000.0)
    hifi = get_preset("hifigan22k")
    assert (hifi.sample_rate, hifi.n_fft, hifi.win_length, hifi.hop_length) == (22050, 1024, 1024, 256)
    assert (hifi.n_mels, hifi.fmin, hifi.fmax) == (80, 0.0, 8000.0)
    assert (hifi.center, hifi.pad_mode, hifi.pad) == (False, "reflect", 384)
    assert (hifi.power, hifi.log_floor, hifi.log_base, hifi.mel_norm) == (1.0, 1e-5, "e", "slaney")
    assert log_floor_value(hifi) == pytest.approx(np.log(1e-5))


def test_unknown_preset_lists_the_names() -> None:
    with pytest.raises(ConfigError, match="unknown feature preset 'vc8k'; choose one of: vc16k, hifigan22k"):
        get_preset("vc8k")


def test_dict_round_trip_and_strict_keys() -> None:
    cfg = get_preset("hifigan22k")
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    data = cfg.to_dict() | {"fmin": 0, "log_floor": 1}  # YAML ints for float fields
    assert FeatureConfig.from_dict(data).fmin == 0.0
    with pytest.raises(ConfigError, match=r"unknown key\(s\) hop_size, n_mel; valid keys: sample_rate"):
        FeatureConfig.from_dict(cfg.to_dict() | {"hop_size": 256, "n_mel": 80})
    partial = cfg.to_dict()
    del partial["n_mels"]
    with pytest.raises(ConfigError, match="features: missing key\\(s\\) n_mels"):
        FeatureConfig.from_dict(partial)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"win_length": 2048}, r"features.win_length \(2048\) must be <= n_fft \(1024\)"),
        ({"fmax": 9000.0}, r"need 0 <= fmin < fmax <= sample_rate/2 = 8000 Hz"),
        ({"hop_length": 0}, "features.hop_length must be a positive integer, got 0"),
        ({"n_mels": True}, "features.n_mels must be a positive integer, got True"),
        ({"window": "blackman"}, "features.window must be one of"),
        ({"log_floor": 0.0}, "features.log_floor must be > 0"),
    ],
)
def test_invalid_configs_fail_with_one_line(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(get_preset("vc16k"), **change)


def test_diff_names_the_fields_that_differ() -> None:
    vc = get_preset("vc16k")
    assert vc.diff(vc) == []
    assert vc.diff(dataclasses.replace(vc, fmax=None)) == []  # None resolves to 8000 at 16 kHz
    assert vc.diff(get_preset("hifigan22k")) == ["sample_rate"]
    assert vc.diff(dataclasses.replace(vc, hop_length=160, log_floor=1e-4)) == ["hop_length", "log_floor"]


@pytest.mark.parametrize("center", [False, True])
def test_frames_matches_the_module(center: bool) -> None:
    cfg = dataclasses.replace(get_preset("vc16k"), center=center)
    module = MelSpectrogram(cfg)
    assert cfg.min_samples == (513 if center else 385)  # reflect padding needs T > pad
    for num_samples in (cfg.min_samples, 1024, 1025, 4000, 16000):
        mel = module(torch.zeros(num_samples))
        assert mel.shape == (80, cfg.frames(num_samples))
        expected = 1 + num_samples // cfg.hop_length if center else num_samples // cfg.hop_length
        assert cfg.frames(num_samples) == expected


# ---------------------------------------------------------------- parity with librosa


@pytest.mark.parametrize("mel_scale", ["slaney", "htk"])
def test_mel_scale_and_filterbank_match_librosa(mel_scale: str) -> None:
    hz = np.array([0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0])
    htk = mel_scale == "htk"
    np.testing.assert_allclose(hz_to_mel(hz, mel_scale), librosa.hz_to_mel(hz, htk=htk), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, mel_scale), mel_scale), hz, atol=1e-9)
    for cfg in (get_preset("vc16k"), dataclasses.replace(get_preset("hifigan22k"), fmin=80.0, n_mels=64),
                dataclasses.replace(get_preset("vc16k"), mel_norm=None, fmax=7000.0)):
        cfg = dataclasses.replace(cfg, mel_scale=mel_scale)
        reference = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin,
                                        fmax=cfg.fmax_hz, htk=htk, norm=cfg.mel_norm)
        ours = mel_filterbank(cfg)
        assert ours.shape == reference.shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-7 * float(np.abs(reference).max()))


# Both front ends: the torch module (training) and the numpy one (inference, torch-free).
FRONT_ENDS = {"torch": compute_mel, "numpy": log_mel}


@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
@pytest.mark.parametrize(("preset", "clip"), [("vc16k", "sf1_clip"), ("hifigan22k", "lj_clip")])
def test_log_mel_matches_librosa(preset: str, clip: str, front_end: str, request: pytest.FixtureRequest) -> None:
    cfg = get_preset(preset)
    wav = load_audio(request.getfixturevalue(clip), cfg.sample_rate)[: int(PARITY_SECONDS * cfg.sample_rate)]
    ours = FRONT_ENDS[front_end](wav, cfg)
    reference = _librosa_log_mel(wav, cfg)
    assert ours.shape == reference.shape == (80, cfg.frames(wav.shape[0]))
    assert ours.dtype == np.float32
    assert np.abs(ours - reference).max() < LIBROSA_LOG_TOLERANCE
    assert ours.max() > -2.0 and ours.min() >= np.log(cfg.log_floor) - 1e-6  # real speech, clamped


@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_centered_power_htk_variant_matches_librosa(tm1_clip: Path, front_end: str) -> None:
    cfg = dataclasses.replace(get_preset("vc16k"), center=True, pad_mode="constant", power=2.0,
                              mel_scale="htk", fmin=80.0, n_mels=64, window="hamming", win_length=800)
    wav = load_audio(tm1_clip)[:32000]
    ours = FRONT_ENDS[front_end](wav, cfg)
    assert ours.shape == (64, 1 + 32000 // 256)
    assert np.abs(ours - _librosa_log_mel(wav, cfg)).max() < LIBROSA_LOG_TOLERANCE


# ---------------------------------------------------------------- the module


def test_batched_equals_per_item_and_shapes(sf1_clip: Path, tm1_clip: Path) -> None:
    cfg = get_preset("vc16k")
    module = MelSpectrogram(cfg)
    wavs = torch.stack([torch.from_numpy(load_audio(p)[:16000]) for p in (sf1_clip, tm1_clip)])
    wavs = torch.cat([wavs, 0.1 * wavs[:1]])  # (3, T), three different items
    batched = module(wavs)
    assert batched.shape == (3, 80, 62)
    for index in range(3):
        torch.testing.assert_close(batched[index], module(wavs[index]), rtol=0, atol=1e-5)
    assert module(wavs.unsqueeze(1)).shape == (3, 1, 80, 62)  # (B, 1, T) as a vocoder outputs
    assert not torch.allclose(batched[0], batched[2])


def test_buffers_move_but_are_not_in_the_state_dict() -> None:
    module = MelSpectrogram(get_preset("vc16k"))
    assert module.state_dict() == {}
    assert module.mel_basis.shape == (80, 513) and module.window.shape == (1024,)
    torch.manual_seed(0)
    wav = 0.1 * torch.randn(4000)
    reference = module(wav)
    assert module.double()(wav.double()).dtype == torch.float32  # always computed in float32
    torch.testing.assert_close(module(wav), reference)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mixed precision must not touch the STFT
        torch.testing.assert_close(module(wav.bfloat16()), module.float()(wav.bfloat16().float()))


def test_gradients_are_finite_also_on_silence() -> None:
    module = MelSpectrogram(get_preset("vc16k"))
    torch.manual_seed(0)
    for wav in (0.1 * torch.randn(2, 4000), torch.zeros(2, 4000)):
        wav.requires_grad_(True)
        module(wav).mean().backward()
        assert wav.grad is not None and torch.isfinite(wav.grad).all()


def test_too_short_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="waveform of 100 samples is shorter than the 385 this config needs"):
        MelSpectrogram(get_preset("vc16k"))(torch.zeros(100))
