"""Batch inputs: folder, glob and list file expand to mirrored jobs; no output can leave the folder."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from voicegen.audio.io import is_audio_file
from voicegen.errors import AudioError
from voicegen.infer.batch.inputs import Job, check_outputs, expand_inputs, input_kind, input_stem


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def rels(jobs: list[Job]) -> list[str]:
    return [job.rel.as_posix() for job in jobs]


def expand(spec, out: Path) -> list[Job]:
    return expand_inputs(spec, out, suffix=".wav", accept=is_audio_file)


@pytest.fixture
def tree(tmp_path) -> Path:
    src = tmp_path / "in"
    touch(src / "a.wav", src / "sub" / "b.flac", src / "sub" / "deep" / "c.ogg", src / "notes.txt",
          src / ".hidden" / "h.wav", src / "sub" / ".h.wav")
    return src


def test_a_folder_is_mirrored_without_hidden_files_or_other_extensions(tree, tmp_path) -> None:
    jobs = expand(tree, tmp_path / "out")
    assert rels(jobs) == ["a.wav", "sub/b.wav", "sub/deep/c.wav"]
    assert [job.src for job in jobs] == [tree / "a.wav", tree / "sub" / "b.flac", tree / "sub" / "deep" / "c.ogg"]
    assert jobs[1].dest(tmp_path / "out") == tmp_path / "out" / "sub" / "b.wav"
    assert input_kind(tree) == "folder" and input_stem(tree) == "in"


def test_an_output_folder_inside_the_input_is_not_read_back(tree) -> None:
    touch(tree / "converted" / "a.wav")  # the outputs of an earlier run
    assert rels(expand(tree, tree / "converted")) == ["a.wav", "sub/b.wav", "sub/deep/c.wav"]
    with pytest.raises(AudioError) as err:
        expand(tree, tree)
    assert str(err.value) == f"{tree}: the output folder is the input folder; choose another output folder"


def test_a_glob_mirrors_below_its_fixed_part(tree, tmp_path) -> None:
    pattern = str(tree / "sub" / "**" / "*.*")
    assert input_kind(pattern) == "glob" and input_stem(pattern) == "sub"
    assert rels(expand(pattern, tmp_path / "out")) == ["b.wav", "deep/c.wav"]
    assert rels(expand(str(tree / "*.wav"), tmp_path / "out")) == ["a.wav"]
    with pytest.raises(AudioError, match=r"no input files found"):
        expand(str(tree / "*.mp3"), tmp_path / "out")


def test_a_list_file_takes_relative_absolute_and_missing_entries(tree, tmp_path, monkeypatch) -> None:
    listing = tmp_path / "lists" / "todo.txt"
    listing.parent.mkdir()
    listing.write_text(f"# comment\n../in/sub/b.flac\n\n{tree / 'sub' / 'deep' / 'c.ogg'}\n"
                       "../in/sub/../sub/missing.wav\n../in/sub/b.flac\n")
    monkeypatch.chdir(tmp_path)  # entries are relative to the list file, not to the working folder
    assert input_kind(listing) == "list" and input_stem(listing) == "todo"
    jobs = expand(listing, tmp_path / "out")
    # ".." is resolved against the list's folder; duplicates collapse; the root is their common folder.
    assert rels(jobs) == ["b.wav", "deep/c.wav", "missing.wav"]
    assert jobs[2].src == tree / "sub" / "missing.wav"
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(AudioError, match="the list file names no files"):
        expand(tmp_path / "empty.txt", tmp_path / "out")


def test_two_inputs_for_one_output_are_refused(tree, tmp_path) -> None:
    touch(tree / "sub" / "b.wav")
    with pytest.raises(AudioError) as err:
        expand(tree, tmp_path / "out")
    assert str(err.value) == (f"{tmp_path / 'out' / 'sub' / 'b.wav'}: two inputs would write this file "
                              "(b.flac and b.wav); rename one")


def test_outputs_cannot_escape_through_dotdot_or_symlinks(tree, tmp_path) -> None:
    out = tmp_path / "out"
    with pytest.raises(AudioError) as err:
        check_outputs([Job(src=tree / "a.wav", rel=PurePosixPath("../escaped.wav"))], out)
    assert str(err.value) == (f"{tree / 'a.wav'}: its output path '../escaped.wav' would leave the output folder "
                              f"{out}; refusing ('..' and absolute paths are not allowed)")
    with pytest.raises(AudioError, match="would leave the output folder"):
        check_outputs([Job(src=tree / "a.wav", rel=PurePosixPath("/etc/x.wav"))], out)
    # A folder of the output tree that is a symlink to elsewhere.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    os.symlink(elsewhere, out / "sub")
    with pytest.raises(AudioError) as err:
        expand(tree, out)
    assert str(err.value) == (f"{out / 'sub' / 'b.wav'}: would be written to {elsewhere} outside the output "
                              f"folder {out} (through a symlink); refusing, remove the link")
    assert list(elsewhere.iterdir()) == []


def test_symlinked_input_folders_are_not_followed(tree, tmp_path) -> None:
    os.symlink(tree, tree / "sub" / "loop")  # a loop: followed, it would never end
    os.symlink(tree / "a.wav", tree / "linked.wav")  # a linked file is an input like any other
    assert rels(expand(tree, tmp_path / "out")) == ["a.wav", "linked.wav", "sub/b.wav", "sub/deep/c.wav"]


def test_an_output_that_would_replace_its_input_is_refused(tmp_path) -> None:
    src = tmp_path / "in"
    touch(src / "a.wav", src / "sub" / "b.wav")
    with pytest.raises(AudioError) as err:
        expand(str(src / "*.wav"), src / "sub" / "..")  # out == in, spelled differently
    assert str(err.value) == f"{src}: the output folder is the input folder; choose another output folder"
    listing = src / "list.txt"
    listing.write_text("a.wav\nsub/b.wav\n")
    with pytest.raises(AudioError) as err:
        expand(listing, src)
    assert str(err.value) == f"{src / 'a.wav'}: the output would replace its own input; choose another output folder"


def test_a_missing_input_is_one_line(tmp_path) -> None:
    with pytest.raises(AudioError) as err:
        input_kind(tmp_path / "nope")
    assert str(err.value) == (f"{tmp_path / 'nope'}: not found; pass an audio file, a folder, a glob "
                              "('clips/**/*.wav') or a list file (.txt, one path per line)")
