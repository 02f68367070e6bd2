"""``voicegen eval`` end to end on real clips: report files, known values, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from voicegen.audio.io import load_audio
from voicegen.cli import cli
from voicegen.eval.report import read_csv

pytest.importorskip("pyworld")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def folders(tmp_path, sf1_clip, tm1_clip):
    """conv/ holds a delayed SF1 copy and TM1 itself; ref/ the originals; src/ the other speaker."""
    sf1, tm1 = load_audio(sf1_clip), load_audio(tm1_clip)
    for name in ("conv", "ref", "src"):
        (tmp_path / name).mkdir()
    delayed = np.concatenate([np.zeros(4000, np.float32), sf1])  # 50 whole 5 ms frames
    sf.write(tmp_path / "conv" / "a.wav", delayed, 16000, subtype="FLOAT")
    sf.write(tmp_path / "conv" / "b.wav", tm1, 16000, subtype="FLOAT")
    sf.write(tmp_path / "ref" / "a.wav", sf1, 16000, subtype="FLOAT")
    sf.write(tmp_path / "ref" / "b.flac", tm1, 16000)
    sf.write(tmp_path / "src" / "a.wav", tm1, 16000, subtype="FLOAT")
    sf.write(tmp_path / "src" / "b.wav", sf1, 16000, subtype="FLOAT")
    return tmp_path


def test_eval_writes_the_report(runner, folders) -> None:
    out = folders / "report"
    result = runner.invoke(cli, ["eval", "--converted", str(folders / "conv"), "--reference",
                                 str(folders / "ref"), "--source", str(folders / "src"), "--out", str(out),
                                 "--no-speaker-similarity", "--plots", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "2 pairs at 16000 Hz" in result.output
    rows = read_csv(out / "per_file.csv")
    assert [row["name"] for row in rows] == ["a", "b"]
    assert float(rows[0]["mcd_db"]) < 1e-3  # a copy delayed by 50 whole frames
    assert float(rows[1]["mcd_db"]) < 0.3  # b: 16-bit FLAC against the float original
    assert all(float(row["source_mcd_db"]) > 7.0 for row in rows)  # the other speaker
    assert "speaker_similarity" not in rows[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_pairs"] == 2 and summary["settings"]["mcep_order"] == 24
    assert summary["metrics"]["mcd_db"]["count"] == 2
    assert summary["settings"]["speaker_similarity"] == "skipped: turned off"
    for name in ("mcd_hist.png", "f0_contours.png", "spectrograms/a.png", "spectrograms/b.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    again = runner.invoke(cli, ["eval", "--converted", str(folders / "conv"), "--reference",
                                str(folders / "ref"), "--out", str(out), "--no-speaker-similarity"])
    assert again.exit_code == 1
    assert again.output == f"Error: {out}: already holds files; pass --overwrite to replace the report\n"


def test_copy_synthesis_metrics_of_identical_files(runner, folders) -> None:
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    out = folders / "copy"
    result = runner.invoke(cli, ["eval", "--converted", str(folders / "ref"), "--reference",
                                 str(folders / "ref"), "--out", str(out), "--copy-synthesis",
                                 "--no-speaker-similarity", "--plots", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = read_csv(out / "per_file.csv")
    assert [float(rows[0][key]) for key in ("mcd_db", "lsd_db", "mel_l1")] == [0.0, 0.0, 0.0]
    assert float(rows[0]["pesq_wb"]) == pytest.approx(4.64, abs=0.01)
    assert float(rows[0]["stoi"]) == pytest.approx(1.0, abs=1e-5)
    assert sorted(p.name for p in out.iterdir()) == ["mcd_hist.png", "per_file.csv", "summary.json"]


@pytest.mark.parametrize("case, expected", [
    # With --strict an unpaired file is an error; without it the common pairs are scored (issue 18).
    ("unpaired", "Error: 1 reference file(s) have no converted file in {conv}: b.flac; files pair by "
                 "name (path without extension)\n"),
    ("rate", "Error: {conv}/a.wav: converted file is 22050 Hz but {ref}/a.wav is 16000 Hz; resample so "
             "that all files share one rate (e.g. 16000 Hz)\n"),
    ("empty", "Error: {conv}: no audio files (.wav .wave .flac .ogg .oga .opus .mp3 .aif .aiff .au) in "
              "this converted folder or below\n"),
])
def test_one_line_errors(runner, folders, case, expected) -> None:
    conv, ref = folders / "conv", folders / "ref"
    (conv / "b.wav").unlink()
    if case != "unpaired":
        (ref / "b.flac").unlink()
    if case == "rate":
        sf.write(conv / "a.wav", np.zeros(22050, np.float32) + 0.01, 22050)
    if case == "empty":
        (conv / "a.wav").unlink()
    strict = ["--strict"] if case == "unpaired" else []
    result = runner.invoke(cli, ["eval", "--converted", str(conv), "--reference", str(ref),
                                 "--out", str(folders / "r"), "--no-speaker-similarity", *strict])
    assert result.exit_code == 1
    assert result.output == expected.format(conv=conv, ref=ref)
    assert not (folders / "r").exists()


def test_help_has_an_example(runner) -> None:
    result = runner.invoke(cli, ["eval", "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "voicegen eval --converted" in result.output


def test_eval_scores_one_pair_of_files_and_prints_without_out(runner, folders, monkeypatch) -> None:
    """Single files are one pair, whatever their names; without --out nothing is written."""
    monkeypatch.chdir(folders)
    before = sorted(p.name for p in folders.iterdir())
    result = runner.invoke(cli, ["eval", "--converted", "conv/a.wav", "--reference", "ref/b.flac",
                                 "--source", "src/b.wav", "--no-speaker-similarity", "--no-dnsmos", "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "1 pair at 16000 Hz"
    mcd = next(line for line in lines if line.strip().startswith("mcd_db")).split()
    assert len(mcd) == 2 and float(mcd[1]) > 0.5  # a delayed SF1 copy against TM1: a real distance
    assert "source_mcd_db" in result.output and "+-" not in result.output
    assert sorted(p.name for p in folders.iterdir()) == before
    out = folders / "one"
    result = runner.invoke(cli, ["eval", "--converted", "conv/b.wav", "--reference", "ref/b.flac", "--out", str(out),
                                 "--no-speaker-similarity", "--no-dnsmos", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in read_csv(out / "per_file.csv")] == ["b"]
    assert float(read_csv(out / "per_file.csv")[0]["mcd_db"]) < 0.3


def test_eval_files_and_folders_do_not_mix(runner, folders) -> None:
    result = runner.invoke(cli, ["eval", "--converted", str(folders / "conv" / "a.wav"),
                                 "--reference", str(folders / "ref")])
    assert result.exit_code == 1
    assert result.output == ("Error: pass files for all of --converted, --reference (and --source) to score one "
                             "pair, or folders for all of them\n")
    missing = folders / "nope.wav"
    result = runner.invoke(cli, ["eval", "--converted", str(missing), "--reference", str(folders / "ref" / "a.wav")])
    assert result.output == f"Error: {missing}: not found (--converted); pass a folder of audio files, or a file\n"


def test_dnsmos_framings_option(runner, folders) -> None:
    out = folders / "framed"
    args = ["eval", "--converted", str(folders / "conv" / "b.wav"), "--reference", str(folders / "ref" / "b.flac"),
            "--no-speaker-similarity", "--no-dnsmos", "--no-progress"]
    result = runner.invoke(cli, [*args, "--out", str(out), "--dnsmos-framings", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["settings"]["dnsmos_framings"] == 3
    result = runner.invoke(cli, [*args, "--dnsmos-framings", "0"])
    assert result.exit_code == 2 and "Invalid value for '--dnsmos-framings': 0 is not in the range x>=1." in result.output
