"""`voicegen convert`, `voicegen models` and `voicegen bundle` end to end with the tiny trained models."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from voicegen.cli import cli

# The tiny models are built by tests/infer/conftest.py into one folder per session; this loads
# its helpers (conftest fixtures are not visible from here) so both share that build.
_HELPERS = "_voicegen_infer_test_helpers"
if _HELPERS not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_HELPERS, Path(__file__).resolve().parent / "infer" / "conftest.py")
    sys.modules[_HELPERS] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_HELPERS])
_helpers = sys.modules[_HELPERS]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _helpers.build_tiny_models(tmp_path_factory.getbasetemp() / _helpers.SHARED_FOLDER)


@pytest.fixture
def search(monkeypatch, tmp_path):
    return _helpers.isolate_search(monkeypatch, tmp_path / "search")


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_convert_finds_the_model_from_the_speakers(tiny, search, sf1_clip, tmp_path, monkeypatch) -> None:
    shutil.copytree(tiny.bundle, search.env / "sf1_tm1")
    monkeypatch.chdir(tmp_path)
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--plot", "p.png", "--device", "cpu",
                 "--pitch", "auto")
    assert result.exit_code == 0, result.output
    shift = 12 * (tiny.log_f0_mean["TM1"] - tiny.log_f0_mean["SF1"]) / math.log(2)
    lines = result.output.splitlines()
    assert lines[0] == f"model: sf1_tm1 ({search.env / 'sf1_tm1'}), SF1 -> TM1, on cpu"
    assert lines[1].startswith(f"pitch: F0 transformed SF1 -> TM1 (log-Gaussian: mean {shift:+.1f} semitones, spread x")
    assert lines[2].startswith("wrote SF1_200001_to_TM1.wav: 3.89 s at 16000 Hz (") and lines[2].endswith(
        "), plot p.png") and " (RTF " in lines[2]
    info = sf.info(str(tmp_path / "SF1_200001_to_TM1.wav"))
    assert (info.samplerate, info.frames) == (16000, sf.info(str(sf1_clip)).frames)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    # The reverse direction from the other name; the existing output is refused without --overwrite.
    back = run("convert", "--src", "SF1_200001_to_TM1.wav", "--target", "SF1", "--pitch", "none", "--out", "b.wav")
    assert back.exit_code == 0, back.output
    assert back.output.splitlines()[:2] == [f"model: sf1_tm1 ({search.env / 'sf1_tm1'}), TM1 -> SF1, on cpu",
                                            "pitch: source F0 kept (--pitch none)"]
    again = run("convert", "--src", sf1_clip, "--target", "TM1", "--out", "b.wav")
    assert again.exit_code == 1
    # Said before any model loads, in the command line's words (no "(overwrite=True)").
    assert again.output == "Error: b.wav: already exists; pass --overwrite to replace it\n"
    assert run("convert", "--src", sf1_clip, "--target", "TM1", "--out", "b.wav", "--overwrite").exit_code == 0


def test_convert_errors_are_one_line(tiny, search, sf1_clip, tmp_path) -> None:
    shutil.copytree(tiny.bundle, search.env / "sf1_tm1")
    cases = [
        (["--src", sf1_clip, "--target", "XX"],
         "Error: unknown target speaker 'XX'; known speakers: SF1, TM1 (see `voicegen models`)"),
        (["--src", tmp_path / "missing.wav", "--target", "TM1"],
         f"Error: {tmp_path / 'missing.wav'}: not found; pass an audio file, a folder, a glob ('clips/**/*.wav') "
         "or a list file (.txt, one path per line)"),
        (["--src", sf1_clip, "--target", "TM1", "--pitch", "up"],
         "Error: --pitch must be auto, none or a number of semitones (e.g. -4.5), got 'up'"),
    ]
    bad = tmp_path / "bad.wav"
    bad.write_text("hello\n")
    cases.append((["--src", bad, "--target", "TM1", "--out", tmp_path / "o.wav"],
                  f"Error: {bad}: is a text file, not audio; check the file (wrong extension?)"))
    for args, message in cases:
        result = run("convert", *args)
        assert result.exit_code == 1
        assert result.output.splitlines()[-1] == message and "Traceback" not in result.output


def test_convert_a_folder_reports_bad_files_and_fails(tiny, search, sf1_clip, tmp_path) -> None:
    src = tmp_path / "clips"
    (src / "sub").mkdir(parents=True)
    shutil.copy(sf1_clip, src / "sub" / "a.wav")
    (src / "z.wav").write_text("text\n")
    out = tmp_path / "converted"
    result = run("convert", "--src", src, "--target", "TM1", "--model", tiny.bundle, "--out", out, "--pitch", "0")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[1].startswith("pitch: F0 transformed SF1 -> TM1 (log-Gaussian: mean ")  # the transform + 0
    assert lines[2].startswith(f"wrote {out / 'sub' / 'a.wav'}: 3.89 s (RTF ")
    assert lines[3] == f"failed: {src / 'z.wav'}: is a text file, not audio; check the file (wrong extension?)"
    assert lines[4].startswith("done 1, skipped 0 (done earlier), failed 1 of 2 files: 0.001 h of audio in ")
    assert lines[4].endswith(f"1 worker); manifest {out / 'voicegen_manifest.jsonl'}")
    assert lines[5:] == [f"Error: 1 of 2 files failed (listed above and in {out / 'voicegen_manifest.jsonl'})"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "sub/a.wav", "voicegen_manifest.jsonl"]
    # The same command again: the finished file is skipped, the failed one kept until --retry-failed.
    again = run("convert", "--src", src, "--target", "TM1", "--model", tiny.bundle, "--out", out, "--pitch", "0")
    assert again.exit_code == 1
    assert again.output.splitlines()[-2].startswith("done 0, skipped 1 (done earlier), failed 0 (+1 earlier; ")
    assert again.output.splitlines()[-1] == (f"Error: 1 of 2 files failed in an earlier run (see "
                                             f"{out / 'voicegen_manifest.jsonl'}); pass --retry-failed to retry them")


def test_models_lists_bundles_or_explains_how_to_install(tiny, search) -> None:
    empty = run("models")
    assert empty.exit_code == 0
    assert empty.output == (f"no models installed; searched {search.env} ($VOICEGEN_MODELS), {search.user} (user), "
                            f"{search.package} (package). Package a trained converter with `voicegen bundle` into "
                            "one of these folders, or pass --model PATH to `voicegen convert`.\n")
    shutil.copytree(tiny.bundle, search.user / "sf1_tm1")
    shutil.copytree(tiny.converter, search.package / "bare")
    listing = run("models")
    assert listing.exit_code == 0, listing.output
    assert listing.output.splitlines() == [
        "name     speakers  kind                   runtime  origin   path",
        f"sf1_tm1  SF1, TM1  cyclegan               torch    user     {search.user / 'sf1_tm1'}",
        f"bare     SF1, TM1  cyclegan (no vocoder)  torch    package  {search.package / 'bare'}",
    ]


def test_bundle_command_packages_and_checks_the_contract(tiny, search, tmp_path) -> None:
    out = search.user / "mine"
    result = run("bundle", "--converter", tiny.converter, "--vocoder", tiny.vocoder, "--out", out, "--name", "sf-tm")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote bundle sf-tm at {out}: SF1 <-> TM1 with its vocoder\n"
    assert run("models").output.splitlines()[1] == f"sf-tm  SF1, TM1  cyclegan  torch    user    {out}"
    fast = search.user / "mine_onnx"
    result = run("bundle", "--converter", tiny.converter, "--vocoder", tiny.vocoder, "--out", fast, "--onnx")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [f"wrote 2 ONNX graphs in {fast}", f"wrote 1 ONNX graph in {fast / 'vocoder'}"]
    assert [row.split()[:5] for row in run("models").output.splitlines()[1:]] == [
        ["sf-tm", "SF1,", "TM1", "cyclegan", "torch"], ["mine_onnx", "SF1,", "TM1", "cyclegan", "onnx"]]
    again = run("bundle", "--converter", tiny.converter, "--vocoder", tiny.vocoder, "--out", out)
    assert again.output == f"Error: {out}: already exists; pass --overwrite to replace it\n"
    vocoder = tmp_path / "voc"
    shutil.copytree(tiny.vocoder, vocoder)
    meta = json.loads((vocoder / "artifact.json").read_text())
    meta["mel"]["hop_length"] = 128
    (vocoder / "artifact.json").write_text(json.dumps(meta))
    bad = run("bundle", "--converter", tiny.converter, "--vocoder", vocoder, "--out", tmp_path / "b")
    assert bad.exit_code == 1
    assert bad.output == (f"Error: mel contract mismatch between converter {tiny.converter} and vocoder {vocoder}: "
                          "hop_length 256 vs 128 (converter vs vocoder); use a vocoder trained on the converter's "
                          "features\n")


@pytest.mark.parametrize("command", ["convert", "models", "bundle"])
def test_help_has_examples(command) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.output and f"voicegen {command}" in result.output


def test_models_lists_image_models_and_model_paths(tiny, search, tmp_path) -> None:
    shipped = Path(__file__).resolve().parent.parent / "voicegen" / "assets" / "models" / "image"
    for name in ("mnist_cgan", "digits_cyclegan", "mnist_vae"):
        shutil.copytree(shipped / name, search.package / "image" / name)
    shutil.copytree(tiny.bundle, tmp_path / "mine" / "sf1_tm1")
    listing = run("models", "--model", tmp_path / "mine")
    assert listing.exit_code == 0, listing.output
    rows = [line.split() for line in listing.output.splitlines()]
    assert rows[0] == ["name", "speakers", "kind", "runtime", "origin", "path"]
    assert rows[1] == ["sf1_tm1", "SF1,", "TM1", "cyclegan", "torch", "--model", str(tmp_path / "mine" / "sf1_tm1")]
    assert rows[2] == ["digits_cyclegan", "mnist", "<->", "uci", "image_cyclegan", "torch", "package",
                       str(search.package / "image" / "digits_cyclegan")]
    assert rows[3][:4] == ["mnist_cgan", "classes", "0-9", "image_gan"]
    assert rows[4][:3] == ["mnist_vae", "-", "image_vae"]
    one = run("models", "--model", tmp_path / "mine" / "sf1_tm1")  # a bundle folder itself
    assert one.output.splitlines()[1].split()[-2:] == ["--model", str(tmp_path / "mine" / "sf1_tm1")]
    missing = run("models", "--model", tmp_path / "nope")
    assert missing.exit_code == 1
    assert missing.output == f"Error: {tmp_path / 'nope'}: not found; pass a model folder or a folder of models\n"


def test_bundle_links_an_installed_vocoder_by_name(tiny, search, sf1_clip, tmp_path) -> None:
    shutil.copytree(tiny.vocoder, search.user / "voc")
    out = search.user / "linked"
    result = run("bundle", "--converter", tiny.converter, "--link-vocoder", "voc", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote bundle linked at {out}: SF1 <-> TM1 using the installed vocoder 'voc'\n"
    assert json.loads((out / "artifact.json").read_text())["extra"]["vocoder"] == "voc"
    assert not (out / "vocoder").exists()
    converted = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", "linked", "--out",
                    tmp_path / "o.wav", "--device", "cpu")
    assert converted.exit_code == 0, converted.output
    both = run("bundle", "--converter", tiny.converter, "--vocoder", tiny.vocoder, "--link-vocoder", "voc",
               "--out", tmp_path / "b")
    assert both.exit_code == 2 and "pass --vocoder FOLDER (copied into the bundle) or --link-vocoder NAME" in both.output
    wrong = run("bundle", "--converter", tiny.converter, "--link-vocoder", "linked", "--out", tmp_path / "c")
    assert wrong.exit_code == 1
    assert wrong.output == (f"Error: --link-vocoder linked: {out} is not a vocoder bundle; see `voicegen models` "
                            "(kind vocoder)\n")
