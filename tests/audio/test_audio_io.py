"""voicegen.audio.io and voicegen.audio.writer: loading, formats, resampling, atomic saving, one clear error per bad file."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio import io as audio_io
from voicegen.audio.io import AudioInfo, AudioWarning, audio_info, load_audio
from voicegen.audio.writer import save_audio
from voicegen.errors import AudioError

SR = 16000


def _sine(freq: float, seconds: float, sample_rate: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_hz(wav: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return float(np.fft.rfftfreq(len(wav), 1 / sample_rate)[np.argmax(spectrum)])


def _audio_error(path: Path, **kwargs) -> str:
    """Load ``path``, expect an AudioError, check it is one line naming the file, return it."""
    with pytest.raises(AudioError) as info:
        load_audio(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert info.value.__cause__ is None  # no library traceback chained underneath
    return message


# ---------------------------------------------------------------- loading good files


def test_load_wav_is_mono_float32_matching_soundfile(sf1_clip: Path) -> None:
    wav = load_audio(sf1_clip)
    reference, rate = sf.read(sf1_clip, dtype="float32")
    assert rate == SR
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert wav.shape == (62201,)
    np.testing.assert_array_equal(wav, reference)
    assert np.abs(wav).max() <= 1.0


def test_stereo_channels_are_averaged(tmp_path: Path) -> None:
    left, right = _sine(300, 0.2), _sine(500, 0.2, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=1e-7)


def test_flac_round_trip_is_lossless(tmp_path: Path, sf1_clip: Path) -> None:
    wav = load_audio(sf1_clip)
    path = save_audio(tmp_path / "clip.flac", wav, SR)
    np.testing.assert_array_equal(load_audio(path), wav)


@pytest.mark.parametrize("ext", [".ogg", ".mp3"])
def test_lossy_round_trip_keeps_length_and_waveform(tmp_path: Path, sf1_clip: Path, ext: str) -> None:
    if ext == ".mp3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    wav = load_audio(sf1_clip)
    decoded = load_audio(save_audio(tmp_path / f"clip{ext}", wav, SR))
    assert decoded.shape == wav.shape
    assert np.corrcoef(wav, decoded)[0, 1] > 0.99


def test_bundled_flac_loads(flac_clip: Path) -> None:
    wav = load_audio(flac_clip)
    assert wav.shape == (230800,) and wav.dtype == np.float32


def test_resample_up_keeps_length_ratio_and_sine_frequency(tmp_path: Path) -> None:
    path = tmp_path / "sine.wav"
    sf.write(path, _sine(440.0, 1.0), SR, subtype="FLOAT")
    wav = load_audio(path, 22050)
    assert abs(wav.shape[0] - 22050) <= 1
    assert _dominant_hz(wav, 22050) == pytest.approx(440.0, abs=1.5)
    assert np.abs(wav).max() == pytest.approx(0.5, abs=0.01)


def test_resample_real_clips_both_directions(sf1_clip: Path, lj_clip: Path) -> None:
    assert abs(load_audio(sf1_clip, 22050).shape[0] - round(62201 * 22050 / 16000)) <= 1
    assert abs(load_audio(lj_clip, 16000).shape[0] - round(212893 * 16000 / 22050)) <= 1
    assert load_audio(sf1_clip, 16000).shape[0] == 62201  # same rate: untouched


def test_audio_info_describes_the_file(tmp_path: Path, sf1_clip: Path) -> None:
    info = audio_info(sf1_clip)
    assert isinstance(info, AudioInfo)
    assert (info.sample_rate, info.channels, info.frames) == (16000, 1, 62201)
    assert info.duration_seconds == pytest.approx(62201 / 16000)
    assert (info.format, info.subtype) == ("WAV", "PCM_16")
    assert info.peak == pytest.approx(float(np.abs(load_audio(sf1_clip)).max()))
    stereo = tmp_path / "st.flac"
    sf.write(stereo, np.full((441, 2), 0.25, dtype=np.float32), 44100)
    info = audio_info(stereo)
    assert (info.sample_rate, info.channels, info.frames, info.format) == (44100, 2, 441, "FLAC")
    assert info.peak == pytest.approx(0.25, abs=1e-4)


# ---------------------------------------------------------------- one clear error per bad file


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in _audio_error(tmp_path / "nope.wav")


def test_folder_given_as_file(tmp_path: Path) -> None:
    folder = tmp_path / "voices.wav"
    folder.mkdir()
    assert "is a folder, not an audio file" in _audio_error(folder)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    assert "file is empty (0 bytes)" in _audio_error(path)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SR)
    assert path.stat().st_size > 0
    assert "contains no audio (0 frames)" in _audio_error(path)


def test_header_truncated_to_20_bytes(tmp_path: Path, sf1_clip: Path) -> None:
    path = tmp_path / "truncated.wav"
    path.write_bytes(sf1_clip.read_bytes()[:20])
    message = _audio_error(path)
    assert "cannot decode audio" in message and "corrupt, truncated" in message


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.wav"
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    message = _audio_error(path)
    assert "cannot decode audio (Format not recognised)" in message
    assert "re-export it" in message


def test_text_renamed_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n" * 20)
    assert "is a text file, not audio" in _audio_error(path)


def test_png_renamed_wav(tmp_path: Path) -> None:
    path = tmp_path / "picture.wav"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert "is a PNG image, not audio" in _audio_error(path)


@pytest.mark.parametrize("name", ["notes.txt", "clip.xyz", "noext"])
def test_unsupported_extension(tmp_path: Path, sf1_clip: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copy(sf1_clip, path)  # real audio, but an extension we do not decode
    message = _audio_error(path)
    assert "unsupported audio format" in message and "use one of .wav .wave .flac .ogg" in message


def test_mp3_without_decoder_support_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3" + bytes(100))
    monkeypatch.setattr(audio_io.sf, "available_formats", lambda: {"WAV": "WAV (Microsoft)"})
    assert "cannot read MP3; upgrade soundfile" in _audio_error(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_float_samples(tmp_path: Path, bad: float) -> None:
    wav = _sine(200, 0.1)
    wav[100] = bad
    path = tmp_path / "broken.wav"
    sf.write(path, wav, SR, subtype="FLOAT")
    assert "contains NaN or Inf samples" in _audio_error(path)


def test_too_short_for_one_frame(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, _sine(200, 0.03), SR)  # 480 samples
    message = _audio_error(path, min_samples=1024)
    assert "too short (480 samples = 30 ms at 16000 Hz)" in message
    assert "need at least 1024 samples (64 ms)" in message
    assert load_audio(path, min_samples=480).shape == (480,)


def test_too_short_is_checked_at_the_output_rate(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, _sine(200, 0.05), SR)  # 800 samples at 16 kHz -> ~1102 at 22.05 kHz
    assert load_audio(path, 22050, min_samples=1024).shape[0] >= 1024
    assert "at 8000 Hz" in _audio_error(path, sample_rate=8000, min_samples=1024)


# ---------------------------------------------------------------- warnings


def test_all_silence_warns(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(1600, dtype=np.float32), SR)
    with pytest.warns(AudioWarning, match="is all silence"):
        wav = load_audio(path)
    assert not wav.any()


def test_clipped_pcm_source_warns(tmp_path: Path) -> None:
    wav = np.clip(_sine(200, 0.1, amplitude=2.0), -1, 1)  # a squashed sine: many full-scale samples
    path = tmp_path / "clipped.wav"
    sf.write(path, wav, SR, subtype="PCM_16")
    with pytest.warns(AudioWarning, match=r"is clipped \(\d+ samples at or beyond full scale"):
        load_audio(path)


def test_a_few_full_scale_peaks_are_not_clipping(tmp_path: Path) -> None:
    wav = _sine(200, 0.1)
    wav[[10, 20, 30]] = 1.0  # three isolated full-scale samples: quiet
    sf.write(tmp_path / "three.wav", wav, SR)
    wav[40] = -1.0  # a fourth: clipping
    sf.write(tmp_path / "four.wav", wav, SR)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        load_audio(tmp_path / "three.wav")
    with pytest.warns(AudioWarning, match=r"four\.wav: is clipped \(4 samples"):
        load_audio(tmp_path / "four.wav")


def test_out_of_range_float_source_warns_and_is_clipped(tmp_path: Path) -> None:
    wav = _sine(200, 0.1, amplitude=0.5)
    wav[10] = 1.5
    path = tmp_path / "hot.wav"
    sf.write(path, wav, SR, subtype="FLOAT")
    with pytest.warns(AudioWarning, match="peak 1.500"):
        loaded = load_audio(path)
    assert loaded.max() == 1.0


def test_clean_clip_gives_no_warning(sf1_clip: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        load_audio(sf1_clip)


# ---------------------------------------------------------------- saving


def test_save_pcm16_and_float_round_trip(tmp_path: Path) -> None:
    wav = _sine(330, 0.1)
    pcm = load_audio(save_audio(tmp_path / "a" / "b" / "pcm.wav", wav, SR))  # parents created
    assert np.abs(pcm - wav).max() <= 1 / 32768
    assert audio_info(tmp_path / "a" / "b" / "pcm.wav").subtype == "PCM_16"
    flt = load_audio(save_audio(tmp_path / "float.wav", wav, SR, subtype="FLOAT"))
    np.testing.assert_array_equal(flt, wav)


def test_save_accepts_torch_tensor(tmp_path: Path) -> None:
    import torch

    wav = torch.linspace(-0.5, 0.5, 400, requires_grad=True)
    loaded = load_audio(save_audio(tmp_path / "t.wav", wav * 1.0, SR, subtype="FLOAT"))
    np.testing.assert_allclose(loaded, wav.detach().numpy(), atol=1e-7)
    half = load_audio(save_audio(tmp_path / "bf16.wav", wav.to(torch.bfloat16), SR, subtype="FLOAT"))
    np.testing.assert_allclose(half, wav.detach().numpy(), atol=4e-3)


def test_save_refuses_existing_file_unless_overwrite(tmp_path: Path) -> None:
    path = save_audio(tmp_path / "out.wav", _sine(200, 0.1), SR)
    with pytest.raises(AudioError, match=r"out\.wav: already exists; pass --overwrite"):
        save_audio(path, _sine(400, 0.1), SR)
    assert _dominant_hz(load_audio(path), SR) == pytest.approx(200, abs=10)
    save_audio(path, _sine(400, 0.1), SR, overwrite=True)
    assert _dominant_hz(load_audio(path), SR) == pytest.approx(400, abs=10)
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]  # no temporary files left behind


def test_save_is_atomic_when_the_writer_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_audio(tmp_path / "keep.wav", _sine(200, 0.1), SR)
    before = path.read_bytes()

    real_write = audio_io.sf.SoundFile.write

    def failing_write(self, data):
        real_write(self, data[: len(data) // 2])  # a half-written temporary file
        raise OSError("disk full")

    monkeypatch.setattr(audio_io.sf.SoundFile, "write", failing_write)
    with pytest.raises(AudioError, match=r"keep\.wav: cannot write \(disk full\); check free space"):
        save_audio(path, _sine(400, 0.1), SR, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.wav"]


def test_save_into_a_path_below_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(AudioError, match=r"out\.wav: cannot create its folder"):
        save_audio(tmp_path / "file" / "sub" / "out.wav", _sine(200, 0.1), SR)


def test_save_clips_and_warns_beyond_a_few_samples(tmp_path: Path) -> None:
    wav = _sine(200, 0.1, amplitude=1.2)
    with pytest.warns(AudioWarning, match=r"\d+ samples beyond \[-1, 1\] were clipped"):
        path = save_audio(tmp_path / "hot.wav", wav, SR, subtype="FLOAT")
    with pytest.warns(AudioWarning, match="is clipped"):  # the saved file is now full scale
        loaded = load_audio(path)
    assert loaded.max() == 1.0 and loaded.min() == -1.0


def test_save_few_clipped_samples_clip_silently(tmp_path: Path) -> None:
    wav = _sine(200, 0.1)
    wav[[5, 50, 500]] = 1.01
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        path = save_audio(tmp_path / "ok.wav", wav, SR, subtype="FLOAT")
    assert np.abs(sf.read(path, dtype="float32")[0]).max() == 1.0


def test_save_refuses_nan_empty_and_unknown_extension(tmp_path: Path) -> None:
    bad = _sine(200, 0.1)
    bad[3] = np.nan
    with pytest.raises(AudioError, match="nan.wav: refusing to write NaN/Inf samples"):
        save_audio(tmp_path / "nan.wav", bad, SR)
    with pytest.raises(AudioError, match=r"nothing to write: expected samples shaped \(T,\)"):
        save_audio(tmp_path / "empty.wav", np.zeros(0), SR)
    with pytest.raises(AudioError, match=r"cannot write '\.xyz' files; use one of \.wav \.flac"):
        save_audio(tmp_path / "x.xyz", _sine(200, 0.1), SR)
    with pytest.raises(AudioError, match="subtype 'FLOAT' is not available for .flac"):
        save_audio(tmp_path / "x.flac", _sine(200, 0.1), SR, subtype="FLOAT")
    assert os.listdir(tmp_path) == []
