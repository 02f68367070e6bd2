"""Stage 1's file selection: id ranges, globs, per-speaker caps, stable hold-out, links and resampling."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from voicegen.errors import AudioError, ConfigError
from voicegen.recipe.prepare import RECORD_NAME, Selection, parse_ids, prepare_folder, select_files, utterance_id


def _corpus(root: Path, clip: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, root / name)
    return root


def _names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != RECORD_NAME)


def test_ids_and_globs_select_the_right_files(sf1_clip, tmp_path) -> None:
    src = _corpus(tmp_path / "src", sf1_clip, ["100001.wav", "100081.wav", "100082.wav", "200001.wav",
                                                "arctic_a0001.wav", "arctic_b0001.wav", "notes.txt"])
    kept, held = select_files(src, Selection(ids=parse_ids("100001-100081")))
    assert [p.name for p in kept] == ["100001.wav", "100081.wav"] and held == []
    kept, _ = select_files(src, Selection(include=("arctic_a*",), ids=(1, 296)))
    assert [p.name for p in kept] == ["arctic_a0001.wav"]
    kept, _ = select_files(src, Selection(exclude=("arctic_*",), skip=1, first=2))
    assert [p.name for p in kept] == ["100081.wav", "100082.wav"]
    assert utterance_id("SF1_100012.wav") == 100012 and utterance_id("LJ001-0002.wav") == 2
    assert utterance_id("noid.wav") is None


def test_no_match_is_one_error_naming_what_was_found(sf1_clip, tmp_path) -> None:
    src = _corpus(tmp_path / "src", sf1_clip, ["200001.wav", "200054.wav"])
    with pytest.raises(AudioError, match=r"src: no audio file matches the selection \(2 audio files found, "
                                         r"ids 200001-200054\)"):
        select_files(src, Selection(ids=(100001, 100081)))
    with pytest.raises(ConfigError, match="--ids 'a-b': expected LOW-HIGH"):
        parse_ids("a-b")


def test_per_speaker_caps_each_first_level_folder(sf1_clip, tmp_path) -> None:
    names = [f"{spk}/{chapter}/{spk}_{chapter}_{i}.wav" for spk in ("19", "26") for chapter in ("1", "2")
             for i in range(2)]
    src = _corpus(tmp_path / "src", sf1_clip, names)
    kept, _ = select_files(src, Selection(per_speaker=3))
    assert [str(p.relative_to(src)) for p in kept] == [
        "19/1/19_1_0.wav", "19/1/19_1_1.wav", "19/2/19_2_0.wav", "26/1/26_1_0.wav", "26/1/26_1_1.wav",
        "26/2/26_2_0.wav"]


def test_hold_out_is_stable_when_files_are_added(sf1_clip, tmp_path) -> None:
    src = _corpus(tmp_path / "src", sf1_clip, [f"{i:03d}.wav" for i in range(12)])
    _, held = select_files(src, Selection(hold_out=3))
    _corpus(src, sf1_clip, ["100.wav", "101.wav"])
    _, held_again = select_files(src, Selection(hold_out=3))
    assert len(held) == 3 and len(set(held) & set(held_again)) >= 2  # mostly the same files
    kept, held = select_files(src, Selection(hold_out=3))
    assert not set(kept) & set(held) and len(kept) + len(held) == 14


def test_prepare_links_keeps_relative_names_and_records(sf1_clip, tmp_path) -> None:
    src = _corpus(tmp_path / "src", sf1_clip, ["a/100001.wav", "b/100002.wav", "b/100003.wav"])
    out, dev = tmp_path / "out" / "train", tmp_path / "out" / "dev"
    done = prepare_folder(src, out, Selection(hold_out=1), hold_out_dir=dev)
    assert (done.files, done.held_out, done.resampled) == (2, 1, 0)
    assert len(_names(out)) == 2 and len(_names(dev)) == 1
    linked = next(p for p in out.rglob("*.wav"))
    assert linked.is_symlink() and linked.resolve().parent.parent == src.resolve()
    record = json.loads((out / RECORD_NAME).read_text())
    assert record["source"] == str(src.resolve()) and record["selection"]["hold_out"] == 1
    with pytest.raises(ConfigError, match="already exists; pass --overwrite"):
        prepare_folder(src, out, Selection(hold_out=1), hold_out_dir=dev)
    prepare_folder(src, out, Selection(first=1), overwrite=True)
    assert _names(out) == ["a/100001.wav"]
    with pytest.raises(ConfigError, match="must not be inside the source folder"):
        prepare_folder(src, src / "out")


def test_prepare_resamples_other_rates_only(lj_clip, sf1_clip, tmp_path) -> None:
    src = _corpus(tmp_path / "src", lj_clip, ["LJ001-0001.wav"])
    shutil.copy(sf1_clip, src / "SF1.wav")
    out = tmp_path / "out"
    done = prepare_folder(src, out, sample_rate=16000)
    assert done.resampled == 1
    info = sf.info(str(out / "LJ001-0001.wav"))
    assert info.samplerate == 16000 and info.subtype == "PCM_16" and not os.path.islink(out / "LJ001-0001.wav")
    original = sf.info(str(lj_clip))
    assert abs(info.frames - original.frames * 16000 / 22050) <= 1
    assert os.path.islink(out / "SF1.wav")  # already 16 kHz: linked, not rewritten
