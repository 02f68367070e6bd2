"""Class 9: ``voicegen eval`` with unequal folders scores the common pairs, lists the unmatched files
(count and names, in the output and summary.json) and fails only when no pair is common or with
``--strict``."""

from __future__ import annotations

import json

import pytest
from hostile import one_error_line, write_wav

from voicegen.cli import cli
from voicegen.errors import AudioError
from voicegen.eval.pairing import match_files

EVAL = ["--no-speaker-similarity", "--no-dnsmos", "--no-progress", "--plots", "0"]


def _folders(tmp_path, converted, reference, source=None):
    for role, names in (("conv", converted), ("ref", reference), ("src", source or [])):
        (tmp_path / role).mkdir(exist_ok=True)
        for name in names:
            write_wav(tmp_path / role / name, seconds=0.3)
    return tmp_path / "conv", tmp_path / "ref", (tmp_path / "src") if source is not None else None


def test_reference_folder_holding_more(runner, tmp_path) -> None:
    conv, ref, _ = _folders(tmp_path, ["a.wav", "b.wav"], ["a.wav", "b.flac", "c.wav", "sub/d.wav"])
    result = runner.invoke(cli, ["eval", "--converted", str(conv), "--reference", str(ref), "--out",
                                 str(tmp_path / "rep"), *EVAL])
    assert result.exit_code == 0, result.output
    assert "2 pairs at 16000 Hz" in result.output
    assert "unmatched: 2 reference file(s) without a converted file (not scored): c, sub/d" in result.output
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["num_pairs"] == 2 and summary["num_unmatched"] == 2
    assert summary["unmatched"] == {"no converted file": {"count": 2, "names": ["c", "sub/d"]}}


def test_converted_folder_holding_more_and_a_missing_source(runner, tmp_path) -> None:
    conv, ref, src = _folders(tmp_path, ["a.wav", "b.wav", "x.wav"], ["a.wav", "b.wav"], ["a.wav"])
    result = runner.invoke(cli, ["eval", "--converted", str(conv), "--reference", str(ref), "--source", str(src),
                                 "--out", str(tmp_path / "rep"), *EVAL])
    assert result.exit_code == 0, result.output
    assert "1 pair at" in result.output
    assert "unmatched: 1 converted file(s) without a reference (not scored): x" in result.output
    assert "unmatched: 1 converted file(s) without a source (not scored): b" in result.output


def test_many_unmatched_names_are_cut_in_the_output_but_complete_in_the_summary(runner, tmp_path) -> None:
    conv, ref, _ = _folders(tmp_path, ["a.wav"], ["a.wav"] + [f"r{i:02d}.wav" for i in range(12)])
    result = runner.invoke(cli, ["eval", "--converted", str(conv), "--reference", str(ref), "--out",
                                 str(tmp_path / "rep"), *EVAL])
    assert result.exit_code == 0, result.output
    assert "12 reference file(s) without a converted file (not scored): r00, r01, r02, r03, r04 and 7 more" in \
        result.output
    assert len(json.loads((tmp_path / "rep" / "summary.json").read_text())["unmatched"]["no converted file"]
               ["names"]) == 12


def test_no_common_pair_is_an_error(runner, tmp_path) -> None:
    conv, ref, _ = _folders(tmp_path, ["a.wav"], ["b.wav"])
    result = runner.invoke(cli, ["eval", "--converted", str(conv), "--reference", str(ref), "--out",
                                 str(tmp_path / "rep"), *EVAL])
    assert result.exit_code == 1
    assert one_error_line(result.output) == (f"Error: no file pairs in common between {conv} and {ref} (1 converted, 1 "
                                             "reference files); files pair by name (path without extension)")
    assert not (tmp_path / "rep").exists()


def test_strict_fails_on_any_unmatched_file(runner, tmp_path) -> None:
    conv, ref, _ = _folders(tmp_path, ["a.wav"], ["a.wav", "b.wav"])
    result = runner.invoke(cli, ["eval", "--converted", str(conv), "--reference", str(ref), "--out",
                                 str(tmp_path / "rep"), "--strict", *EVAL])
    assert result.exit_code == 1
    assert one_error_line(result.output) == (f"Error: 1 reference file(s) have no converted file in {conv}: b.wav; "
                                             "files pair by name (path without extension)")


def test_match_files_library(tmp_path) -> None:
    conv, ref, _ = _folders(tmp_path, ["a.wav", "z.wav"], ["a.wav", "b.wav"])
    matching = match_files(conv, ref)
    assert [pair.name for pair in matching.pairs] == ["a"]
    assert matching.unmatched == {"no reference": ["z"], "no converted file": ["b"]}
    with pytest.raises(AudioError, match="reference folder not found"):
        match_files(conv, tmp_path / "nowhere")
