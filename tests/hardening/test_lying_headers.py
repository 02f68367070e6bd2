"""Class 2: headers that lie (rate, channels, length) are caught before decoding.

A 64 KB WAV declaring 1 Hz became 32 000 s of audio (a hung conversion and a 139 MB temporary);
a WAV cut after its header converted silently. Rates and channel counts outside the stated ranges
are refused, a declared length no file of that size can decode to is refused, and a WAV/AIFF that
holds less than its header declares gives a warning naming both lengths.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
from hostile import CONVERTER, one_error_line, patched_wav, tone, wav_bytes

from voicegen.audio.headers import MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from voicegen.audio.io import AudioWarning, audio_info, load_audio
from voicegen.cli import cli
from voicegen.errors import AudioError


@pytest.mark.parametrize("rate", [1, 100, MIN_SAMPLE_RATE - 1, MAX_SAMPLE_RATE + 1, 2**31 - 1])
def test_implausible_rates_are_refused(tmp_path, rate) -> None:
    path = patched_wav(tmp_path / "r.wav", rate=rate, **({"data_size": 16000} if rate > 2**30 else {}))
    with pytest.raises(AudioError, match=rf"r.wav: (header declares a sample rate of {rate} Hz, outside the "
                                         rf"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz|cannot decode audio)"):
        load_audio(path)


@pytest.mark.parametrize("rate", [MIN_SAMPLE_RATE, 8000, 48000])
def test_plausible_rates_still_read(tmp_path, rate) -> None:
    path = tmp_path / "ok.wav"
    sf.write(path, tone(0.2, rate), rate)
    assert audio_info(path).sample_rate == rate


@pytest.mark.parametrize("channels", [MAX_CHANNELS + 1, 1000])
def test_too_many_channels_are_refused(tmp_path, channels) -> None:
    path = patched_wav(tmp_path / "c.wav", channels=channels, block_align=2 * channels)
    with pytest.raises(AudioError, match=rf"header declares {channels} channels, outside the 1-{MAX_CHANNELS}"):
        audio_info(path)


def test_zero_channels_is_a_clean_error(tmp_path) -> None:
    with pytest.raises(AudioError, match="c0.wav: cannot decode audio"):
        audio_info(patched_wav(tmp_path / "c0.wav", channels=0))


def test_truncated_wav_warns_naming_both_lengths(tmp_path) -> None:
    data = wav_bytes(seconds=2.0)
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: 44 + 16000])  # header says 2 s, 0.5 s of samples follow
    with pytest.warns(AudioWarning, match=r"cut.wav: header declares 2.000 s of audio but the file holds 0.500 s "
                                          r"\(truncated\?\)"):
        wav = load_audio(path)
    assert wav.shape == (8000,)


def test_placeholder_sizes_of_streamed_wavs_do_not_warn(tmp_path) -> None:
    path = patched_wav(tmp_path / "stream.wav", data_size=0xFFFFFFFF)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        assert audio_info(path).frames == 8000


def test_truncated_aiff_warns(tmp_path) -> None:
    full = tmp_path / "full.aiff"
    sf.write(full, tone(1.0), 16000, format="AIFF", subtype="PCM_16")
    cut = tmp_path / "cut.aiff"
    cut.write_bytes(full.read_bytes()[:-16000])
    with pytest.warns(AudioWarning, match=r"cut.aiff: header declares 1.000 s of audio but the file holds 0.500 s"):
        load_audio(cut)


def test_a_flac_declaring_a_huge_length_is_refused(tmp_path) -> None:
    path = tmp_path / "x.flac"
    sf.write(path, np.zeros(4096, np.float32), 16000, format="FLAC")
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC"
    # STREAMINFO starts at byte 8; its 36-bit total sample count ends at byte 8 + 18.
    data[8 + 13] |= 0x0F
    data[8 + 14:8 + 18] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"x.flac: (header declares .* s of audio in only \d+ bytes \(more than "
                                         r"2000x expansion\)|cannot decode audio)"):
        load_audio(path)


def test_convert_refuses_a_1_hz_wav_before_the_models_load_and_leaves_nothing(runner, tmp_path, search_dirs) -> None:
    src = patched_wav(tmp_path / "one_hz.wav", rate=1)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["convert", "--src", str(src), "--target", "TM1", "--model", str(CONVERTER),
                                 "--out", str(out / "o.wav")])
    assert result.exit_code == 1
    assert "sample rate of 1 Hz" in one_error_line(result.output)
    assert "model:" not in result.output  # refused before the models were loaded
    assert not out.exists()


def test_info_on_a_truncated_wav_prints_one_warning_line(runner, tmp_path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(seconds=2.0)[: 44 + 16000])
    result = runner.invoke(cli, ["info", str(path)])
    assert result.exit_code == 0, result.output
    warnings_lines = [line for line in result.output.splitlines() if line.startswith("Warning: ")]
    assert len(warnings_lines) == 1 and "(truncated?)" in warnings_lines[0]
    assert "Traceback" not in result.output and "AudioWarning" not in result.output
