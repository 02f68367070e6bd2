"""The batch options on `voicegen features` and `voicegen vocode`: folders, exit codes, dry runs."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
from voicegen.cli import cli
from voicegen.infer.batch.manifest import MANIFEST_NAME, read_records
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path

VOCODER = vocoder_path(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def make_clips(folder, sf1_clip, seconds=(0.5, 0.75)) -> None:
    wav = load_audio(sf1_clip)
    for i, length in enumerate(seconds):
        save_audio(folder / ("sub" if i else "") / f"c{i}.wav", wav[:int(length * 16000)], 16000)


def test_features_on_a_folder_fails_with_exit_1_when_one_file_is_bad(sf1_clip, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "mels"
    make_clips(src, sf1_clip)
    (src / "sub" / "bad.wav").write_text("not audio\n")
    result = run("features", src, "--out", out, "--no-progress")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [line for line in result.stdout.splitlines() if line.startswith("wrote")]
    assert result.stdout.splitlines()[-1].startswith("done 2, skipped 0 (done earlier), failed 1 of 3 files: ")
    assert result.stderr.splitlines() == [
        f"failed: {src / 'sub' / 'bad.wav'}: is a text file, not audio; check the file (wrong extension?)",
        f"Error: 1 of 3 files failed (listed above and in {out / MANIFEST_NAME})"]
    assert np.load(out / "sub" / "c1.npy").shape == (80, 12000 // 256)
    assert sorted(p.name for p in out.rglob("*")) == ["c0.npy", "c1.npy", "sub", MANIFEST_NAME]
    # Fixed and retried: exit 0; a glob or a list file reaches the same outputs.
    save_audio(src / "sub" / "bad.wav", load_audio(sf1_clip)[:8000], 16000, overwrite=True)
    fixed = run("features", src, "--out", out, "--retry-failed")
    assert fixed.exit_code == 0 and fixed.stdout.splitlines()[-1].startswith("done 1, skipped 2 (done earlier)")
    listing = tmp_path / "todo.txt"
    listing.write_text("in/c0.wav\nin/sub/c1.wav\n")
    assert run("features", listing, "--out", tmp_path / "from_list").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "from_list").rglob("*.npy")) == ["c0.npy", "c1.npy"]
    assert run("features", str(src / "**" / "c*.wav"), "--out", tmp_path / "from_glob").exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "from_glob" / "sub" / "c1.npy"), np.load(out / "sub" / "c1.npy"))


def test_dry_run_and_max_duration_for_a_folder_and_a_single_file(sf1_clip, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "mels"
    make_clips(src, sf1_clip)
    dry = run("features", src, "--out", out, "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines() == [f"would write {out / 'c0.npy'} from {src / 'c0.wav'}",
                                       f"would write {out / 'sub' / 'c1.npy'} from {src / 'sub' / 'c1.wav'}",
                                       "dry run: 2 to do, 0 done earlier, 0 failed earlier of 2 files; nothing written"]
    single = run("features", src / "c0.wav", "--out", tmp_path / "one.npy", "--dry-run")
    assert single.stdout == f"would write {tmp_path / 'one.npy'} from {src / 'c0.wav'}\n"
    assert list(tmp_path.glob("*.npy")) == [] and not out.exists()
    long = run("features", src / "sub" / "c1.wav", "--out", tmp_path / "one.npy", "--max-duration", "0.6")
    assert long.exit_code == 1
    assert long.stderr == (f"Error: {src / 'sub' / 'c1.wav'}: 0.8 s long, beyond --max-duration 0.6 s; split the "
                           "file or raise the limit\n")
    capped = run("features", src, "--out", out, "--max-duration", "0.6")
    assert capped.exit_code == 1
    assert capped.stdout.splitlines()[-1].startswith("done 1, skipped 0 (done earlier), failed 1")
    assert run("features", src, "--out", tmp_path / "m.npy").stderr == (
        f"Error: {tmp_path / 'm.npy'}: give a folder as --out for a folder, glob or list input\n")


def test_vocode_a_folder_in_process(sf1_clip, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "wavs"
    make_clips(src, sf1_clip)
    rows = np.full((82, 20), -5.0, dtype=np.float32)  # a log-mel plus the lf0 and vuv rows of a pitch-conditioned vocoder
    rows[80], rows[81] = np.log(120.0), 1.0
    np.save(src / "m.npy", rows)
    result = run("vocode", src, out, "--model", VOCODER)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("done 3, skipped 0 (done earlier), failed 0 of 3 files")
    assert [sf.info(str(out / name)).frames for name in ("c0.wav", "sub/c1.wav", "m.wav")] == [8000, 12000, 20 * 256]
    spec = next(r for r in read_records(out / MANIFEST_NAME) if r["status"] == "run")["spec"]
    weights = json.loads((VOCODER / "artifact.json").read_text())["weights_sha256"]
    assert spec == {"kind": "vocode", "model": str(VOCODER.absolute()), "options": {}, "weights": [weights]}
    again = run("vocode", src, out, "--model", VOCODER)
    assert again.exit_code == 0 and again.stdout.splitlines()[-1].startswith("done 0, skipped 3 (done earlier)")
