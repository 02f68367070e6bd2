"""Waveform segment datasets: deterministic per-seed crops, padding, splits."""

from __future__ import annotations

import numpy as np
import pytest

from voicegen.audio.datasets import AudioSegmentDataset, random_segment, split_files
from voicegen.audio.io import load_audio
from voicegen.errors import AudioError


def test_segments_are_crops_of_the_clip_and_repeat_per_seed(sf1_clip, tm1_clip) -> None:
    ds = AudioSegmentDataset([sf1_clip, tm1_clip], 16000, 4096, repeats=3)
    assert len(ds) == 6 and ds.takes_seed
    assert ds.total_seconds == pytest.approx((62201 + len(ds.clips[1])) / 16000)
    a, b = ds[(0, 11)], ds[(0, 11)]
    assert a.shape == (4096,) and a.dtype.is_floating_point
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), ds[(0, 12)].numpy())
    clip = load_audio(sf1_clip, 16000)
    starts = [i for i in range(len(clip) - 4096 + 1) if clip[i] == a[0] and np.array_equal(clip[i:i + 4096], a.numpy())]
    assert starts, "the segment is a contiguous crop of the clip"
    assert np.array_equal(ds[(3, 5)].numpy(), ds[(1, 5)].numpy())  # index 3 is clip 1 again


def test_short_clip_is_zero_padded() -> None:
    wav = np.ones(10, dtype=np.float32)
    seg = random_segment(wav, 32, np.random.default_rng(0))
    assert seg.shape == (32,) and seg.sum() == 10
    nonzero = np.flatnonzero(seg)
    assert nonzero[-1] - nonzero[0] == 9


def test_split_is_deterministic_and_disjoint(tmp_path) -> None:
    files = [tmp_path / f"{i:03d}.wav" for i in range(20)]
    train, val = split_files(files, 3)
    assert len(val) == 3 and len(train) == 17 and not set(train) & set(val)
    assert split_files(list(reversed(files)), 3) == (train, val)
    train2, val2 = split_files(files + [tmp_path / "zzz_new.wav"], 3)
    assert set(val2) - {tmp_path / "zzz_new.wav"} <= set(val)
    with pytest.raises(AudioError, match="cannot hold out 20 validation files from 20"):
        split_files(files, 20)


def test_empty_folder_is_an_error(tmp_path) -> None:
    with pytest.raises(AudioError, match=str(tmp_path)):
        AudioSegmentDataset(tmp_path, 16000, 1024)


def test_speed_factors_add_faster_copies_whose_f0_follows(sf1_clip) -> None:
    from voicegen.audio.f0 import F0Config

    f0 = F0Config(method="dio", f0_min=50.0, f0_max=800.0)
    ds = AudioSegmentDataset([sf1_clip], 16000, 8192, f0=f0, hop_length=256, speed_factors=[1.0, 1.25])
    assert len(ds) == 2 and len(ds.f0_rows) == 2
    assert np.array_equal(ds.clips[0], load_audio(sf1_clip, 16000))
    assert len(ds.clips[1]) == pytest.approx(len(ds.clips[0]) / 1.25, abs=2)
    medians = [np.median(rows[0][rows[1] > 0.5]) for rows in ds.f0_rows]  # log-F0 over voiced frames
    cents = 1200 * (medians[1] - medians[0]) / np.log(2)
    assert cents == pytest.approx(1200 * np.log2(1.25), abs=30)  # +386 cents
    item = ds[(1, 3)]
    assert item["wav"].shape == (8192,) and item["f0"].shape == (2, 32)
    assert ds.f0_rows[1].shape == (2, len(ds.clips[1]) // 256)


def test_speed_rows_scale_f0_and_resample_time() -> None:
    from voicegen.audio.datasets import speed_rows

    lf0 = np.log(100.0 + np.arange(8, dtype=np.float32))  # frame i: 100 + i Hz
    rows = np.stack([lf0, np.array([0, 1, 1, 1, 1, 1, 1, 0], dtype=np.float32)])
    assert np.array_equal(speed_rows(rows, 1.0, 8), rows)
    fast = speed_rows(rows, 2.0, 4)  # copy frame j sits at original frame 2j + 0.5
    expected_hz = 2.0 * np.exp(np.interp([0.5, 2.5, 4.5, 6.5], np.arange(8), lf0))
    assert np.allclose(np.exp(fast[0]), expected_hz, rtol=1e-5)
    assert fast[1].tolist() == [0, 1, 1, 1]  # nearest original frame: 0, 2, 4, 6 (halves round to even)


@pytest.mark.parametrize("factors, message", [
    ([], "data.speed_factors is empty; use [1.0] for the recordings as they are"),
    ([1.0, 3.0], "data.speed_factors: 3.0 is outside [0.5, 2.0]"),
    ([1.0, 1.0], "data.speed_factors repeats a factor: [1.0, 1.0]"),
])
def test_bad_speed_factors_are_one_config_error(factors, message) -> None:
    from voicegen.errors import ConfigError
    from voicegen.train.vocoder import VocoderDataConfig

    with pytest.raises(ConfigError) as err:
        VocoderDataConfig(train=["x"], speed_factors=factors)
    assert str(err.value) == message


def test_input_mels_are_cropped_with_the_audio_and_used_for_a_share(sf1_clip, tm1_clip) -> None:
    from voicegen.audio.f0 import F0Config

    f0 = F0Config(method="dio", f0_min=50.0, f0_max=800.0)
    frames = len(load_audio(sf1_clip, 16000)) // 256
    marked = np.tile(np.arange(frames, dtype=np.float32), (4, 1))  # column j holds j: shows where a crop starts
    make = lambda share: AudioSegmentDataset([sf1_clip, tm1_clip], 16000, 8192, f0=f0, hop_length=256,  # noqa: E731
                                             input_mels=[[marked, marked + 1000], []], input_mel_share=share)
    always, never = make(1.0), make(0.0)
    clip = always.clips[0]
    for seed in range(5):
        item = always[(0, seed)]
        start = int(item["mel"][0, 0]) % 1000
        assert item["use_mel"].item() == 1.0
        assert np.array_equal(item["mel"].numpy() % 1000, marked[:, start:start + 32])
        assert np.array_equal(item["wav"].numpy(), clip[start * 256:start * 256 + 8192])
        assert np.array_equal(item["f0"].numpy(), always.f0_rows[0][:, start:start + 32])
        other = always[(1, seed)]  # the clip without an input mel: a zero placeholder, not used
        assert other["use_mel"].item() == 0.0 and not other["mel"].any() and other["mel"].shape == (4, 32)
        assert never[(0, seed)]["use_mel"].item() == 0.0
        assert np.array_equal(never[(0, seed)]["wav"].numpy(), item["wav"].numpy())  # same crop either way
    half = make(0.5)
    used = [half[(0, seed)]["use_mel"].item() for seed in range(200)]
    assert 70 < sum(used) < 130
    second = [always[(0, seed)]["mel"][0, 0].item() >= 1000 for seed in range(200)]  # which of the two mels
    assert 70 < sum(second) < 130


def test_input_mel_files_mirror_the_audio_folders(tmp_path) -> None:
    from voicegen.audio.datasets import input_mel_files

    files = [tmp_path / "a" / "x.wav", tmp_path / "a" / "sub" / "y.flac", tmp_path / "b" / "x.wav"]
    got = input_mel_files(files, {tmp_path / "a": [tmp_path / "m1", tmp_path / "m2"]})
    assert got == [[tmp_path / "m1" / "x.npy", tmp_path / "m2" / "x.npy"],
                   [tmp_path / "m1" / "sub" / "y.npy", tmp_path / "m2" / "sub" / "y.npy"], []]


def test_bad_input_mels_are_one_line_errors(tmp_path, sf1_clip) -> None:
    from voicegen.audio.datasets import load_input_mels
    from voicegen.audio.f0 import F0Config

    missing = tmp_path / "gone.npy"
    with pytest.raises(AudioError, match=rf"^{missing}: input mel not found; make one .npy per training file"):
        load_input_mels([[missing]], 80)
    np.save(tmp_path / "wide.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(AudioError, match=r"wide.npy: expected a finite log-mel shaped \(80, frames\), got float32 \(3, 5\)$"):
        load_input_mels([[tmp_path / "wide.npy"]], 80)
    assert load_input_mels([[]], 80) == [[]]
    f0 = F0Config(method="dio", f0_min=50.0, f0_max=800.0)
    frames = len(load_audio(sf1_clip, 16000)) // 256
    with pytest.raises(AudioError, match=rf"^{sf1_clip}: its input mel has {frames - 1} frames but the recording "
                                         rf"has {frames}; make the input mels from these recordings again$"):
        AudioSegmentDataset([sf1_clip], 16000, 8192, f0=f0, hop_length=256,
                            input_mels=[[np.zeros((80, frames - 1), np.float32)]])
