"""Pairing by name across extensions and subfolders; one clear error per mismatch."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from voicegen.errors import AudioError
from voicegen.eval.pairing import FilePair, common_sample_rate, pair_files


def _tone(path, rate=16000, seconds=0.2):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    return path


def test_pairs_by_relative_name_across_extensions(tmp_path) -> None:
    for name in ("a.wav", "sub/b.wav"):
        _tone(tmp_path / "conv" / name)
    _tone(tmp_path / "ref" / "a.flac")
    _tone(tmp_path / "ref" / "sub" / "b.wav")
    _tone(tmp_path / "ref" / ".hidden.wav")
    (tmp_path / "ref" / "notes.txt").write_text("not audio")
    for name in ("a.wav", "sub/b.wav", "extra.wav"):
        _tone(tmp_path / "src" / name)
    pairs = pair_files(tmp_path / "conv", tmp_path / "ref", tmp_path / "src")
    assert [p.name for p in pairs] == ["a", "sub/b"]
    assert pairs[0].reference.name == "a.flac" and pairs[1].source == tmp_path / "src" / "sub" / "b.wav"
    assert common_sample_rate(pairs) == 16000


def test_unpaired_names_are_listed(tmp_path) -> None:
    for name in ("a.wav", "b.wav", "c.wav"):
        _tone(tmp_path / "conv" / name)
    _tone(tmp_path / "ref" / "a.wav")
    with pytest.raises(AudioError) as err:
        pair_files(tmp_path / "conv", tmp_path / "ref")
    assert str(err.value) == (f"2 converted file(s) have no reference in {tmp_path / 'ref'}: b.wav, "
                              f"c.wav; files pair by name (path without extension)")
    shutil.rmtree(tmp_path / "conv")
    _tone(tmp_path / "conv" / "a.wav")
    _tone(tmp_path / "ref" / "z.wav")
    with pytest.raises(AudioError, match=r"^1 reference file\(s\) have no converted file in .*: z.wav;"):
        pair_files(tmp_path / "conv", tmp_path / "ref")


def test_missing_source_and_duplicate_names(tmp_path) -> None:
    _tone(tmp_path / "conv" / "a.wav")
    _tone(tmp_path / "ref" / "a.wav")
    _tone(tmp_path / "src" / "other.wav")
    with pytest.raises(AudioError, match=r"^1 converted file\(s\) have no source in .*: a.wav;"):
        pair_files(tmp_path / "conv", tmp_path / "ref", tmp_path / "src")
    _tone(tmp_path / "ref" / "a.flac")
    with pytest.raises(AudioError, match=r"a.flac and a.wav both pair as 'a'; keep one of them"):
        pair_files(tmp_path / "conv", tmp_path / "ref")


def test_empty_and_missing_folders(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    _tone(tmp_path / "ref" / "a.wav")
    with pytest.raises(AudioError,
                       match=r"empty: no audio files \(.wav .*\) in this converted folder or below$"):
        pair_files(tmp_path / "empty", tmp_path / "ref")
    with pytest.raises(AudioError,
                       match=r"nowhere: reference folder not found; pass a folder of audio files$"):
        pair_files(tmp_path / "ref", tmp_path / "nowhere")


def test_rate_mismatch_names_the_file(tmp_path) -> None:
    _tone(tmp_path / "conv" / "a.wav", rate=22050)
    _tone(tmp_path / "ref" / "a.wav", rate=16000)
    pairs = pair_files(tmp_path / "conv", tmp_path / "ref")
    with pytest.raises(AudioError) as err:
        common_sample_rate(pairs)
    assert str(err.value) == (f"{tmp_path / 'conv' / 'a.wav'}: converted file is 22050 Hz but "
                              f"{tmp_path / 'ref' / 'a.wav'} is 16000 Hz; resample so that all files "
                              f"share one rate (e.g. 16000 Hz)")


def test_three_files_are_one_pair_whatever_their_names(tmp_path) -> None:
    conv, ref, src = _tone(tmp_path / "out.wav"), _tone(tmp_path / "x" / "TM1_1.flac"), _tone(tmp_path / "s.wav")
    assert pair_files(conv, ref, src) == [FilePair(name="out", converted=conv, reference=ref, source=src)]
    assert pair_files(conv, ref)[0].source is None
    with pytest.raises(AudioError, match=r"reference file is a folder; pass files for all of --converted"):
        pair_files(conv, tmp_path / "x")
    with pytest.raises(AudioError, match=r"source file not found"):
        pair_files(conv, ref, tmp_path / "nope.wav")
