"""run_batch in this process with the features worker (no model): skip, retry, dry run, refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio.features import compute_mel, get_preset
from voicegen.audio.io import load_audio
from voicegen.errors import AudioError, ConfigError
from voicegen.infer.batch.engine import run_batch
from voicegen.infer.batch.inputs import expand_inputs
from voicegen.infer.batch.manifest import MANIFEST_NAME, read_records
from voicegen.infer.batch.workers import WorkerSpec, features_worker
from voicegen.infer.options import FeaturesOptions, VocodeOptions

RATE = 16000
VC16K = get_preset("vc16k")
SPEC = WorkerSpec(FeaturesOptions(preset="vc16k"))


def write_clip(path: Path, seconds: float = 0.25, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    wav = 0.3 * np.sin(2 * np.pi * (180 + 40 * seed) * t) + 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    sf.write(str(path), wav.astype(np.float32), RATE)
    return path


@pytest.fixture
def clips(tmp_path) -> Path:
    src = tmp_path / "in"
    write_clip(src / "a.wav", seed=1)
    write_clip(src / "sub" / "b.wav", seed=2)
    write_clip(src / "sub" / "c.flac", seed=3)
    return src


def batch(src: Path, out: Path, lines: list | None = None, spec: WorkerSpec = SPEC, **kwargs):
    jobs = expand_inputs(src, out, suffix=spec.output_suffix, accept=spec.accepts)
    echo = (lambda line, err: lines.append(("E " if err else "") + line)) if lines is not None else (lambda *a: None)
    return run_batch(jobs, spec, out_dir=out, worker=features_worker(FeaturesOptions()), progress=False, echo=echo, **kwargs)


def statuses(out: Path) -> list[tuple[str, str]]:
    return [(r["status"], r.get("output", "")) for r in read_records(out / MANIFEST_NAME) if r["status"] != "run"]


def test_outputs_mirror_the_input_and_a_rerun_skips_them(clips, tmp_path) -> None:
    out = tmp_path / "out"
    lines = []
    summary = batch(clips, out, lines)
    assert (summary.done, summary.skipped, summary.failed, summary.ok) == (3, 0, 0, True)
    assert summary.audio_seconds == pytest.approx(0.75)
    assert lines[0].startswith(f"wrote {out / 'a.npy'}: 0.25 s (RTF ")
    for rel, src in [("a.npy", "a.wav"), ("sub/b.npy", "sub/b.wav"), ("sub/c.npy", "sub/c.flac")]:
        np.testing.assert_allclose(np.load(out / rel), compute_mel(load_audio(clips / src, RATE), VC16K),
                                   rtol=0, atol=1e-5)  # streamed: other filterbank products, ~1e-6 apart
    done = [r for r in read_records(out / MANIFEST_NAME) if r["status"] == "done"]
    assert done[0]["seconds"] == 0.25 and done[0]["rtf"] > 0 and done[0]["input"] == str(clips / "a.wav")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")}
    again = batch(clips, out)
    assert (again.done, again.skipped, again.ok) == (0, 3, True)
    assert again.line().startswith("done 0, skipped 3 (done earlier), failed 0 of 3 files: 0.000 h of audio in ")
    assert statuses(out)[-3:] == [("skipped", "a.npy"), ("skipped", "sub/b.npy"), ("skipped", "sub/c.npy")]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")} == before
    # A changed input and a deleted output are redone; the rest stays skipped.
    write_clip(clips / "a.wav", seconds=0.5, seed=4)
    (out / "sub" / "b.npy").unlink()
    third = batch(clips, out)
    assert (third.done, third.skipped) == (2, 1)
    assert np.load(out / "a.npy").shape[1] == VC16K.frames(RATE // 2)


def test_a_bad_file_fails_alone_and_is_retried_only_on_request(clips, tmp_path) -> None:
    bad = clips / "sub" / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "out"
    lines = []
    summary = batch(clips, out, lines)
    assert (summary.done, summary.failed, summary.ok) == (3, 1, False)
    failed = [line for line in lines if line.startswith("E failed: ")]
    assert failed == [f"E failed: {bad}: cannot decode audio (Error in WAV file. No 'data' chunk marker); the file "
                      "is corrupt, truncated or not really .wav; re-export it"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")) == ["a.npy", "sub/b.npy", "sub/c.npy"]
    record = [r for r in read_records(out / MANIFEST_NAME) if r["status"] == "failed"][0]
    assert record["output"] == "sub/broken.npy" and record["error"] == failed[0][len("E failed: "):]
    kept = batch(clips, out)
    assert (kept.done, kept.skipped, kept.failed, kept.failed_before, kept.ok) == (0, 3, 0, 1, False)
    assert "failed 0 (+1 earlier; --retry-failed retries them) of 4 files" in kept.line()
    write_clip(bad, seed=5)
    retried = batch(clips, out, retry_failed=True)
    assert (retried.done, retried.skipped, retried.failed_before, retried.ok) == (1, 3, 0, True)
    assert (out / "sub" / "broken.npy").is_file()


def test_a_dry_run_lists_the_work_and_writes_nothing(clips, tmp_path) -> None:
    out = tmp_path / "out"
    lines = []
    summary = batch(clips, out, lines, dry_run=True)
    assert lines == [f"would write {out / 'a.npy'} from {clips / 'a.wav'}",
                     f"would write {out / 'sub' / 'b.npy'} from {clips / 'sub' / 'b.wav'}",
                     f"would write {out / 'sub' / 'c.npy'} from {clips / 'sub' / 'c.flac'}"]
    assert summary.line() == "dry run: 3 to do, 0 done earlier, 0 failed earlier of 3 files; nothing written"
    assert not out.exists()
    batch(clips, out)
    lines.clear()
    (clips / "a.wav").touch()
    os.utime(clips / "a.wav", ns=(1, 1))  # another mtime: to be redone
    assert batch(clips, out, lines, dry_run=True).remaining == 1
    assert lines == [f"would write {out / 'a.npy'} from {clips / 'a.wav'}"]


def test_foreign_outputs_and_other_settings_are_refused(clips, tmp_path) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "b.npy").write_bytes(b"precious")
    with pytest.raises(AudioError) as err:
        batch(clips, out)
    assert str(err.value) == (f"{out / 'sub' / 'b.npy'}: already exists and is not in this folder's manifest; "
                              "pass --overwrite (overwrite=True) to replace it")
    assert (out / "sub" / "b.npy").read_bytes() == b"precious"
    assert batch(clips, out, overwrite=True).done == 3
    other = WorkerSpec(FeaturesOptions(preset="hifigan22k"))
    with pytest.raises(ConfigError) as err:
        batch(clips, out, spec=other)
    assert str(err.value) == (f"{out / MANIFEST_NAME}: this folder was made with other settings (preset: 'vc16k' vs "
                              "'hifigan22k'; before vs now); pass --overwrite to redo every file, or choose another "
                              "output folder")


def test_max_duration_fails_long_files_before_loading_them(clips, tmp_path) -> None:
    write_clip(clips / "long.wav", seconds=2.0)
    lines = []
    summary = batch(clips, tmp_path / "out", lines, max_duration=1.5)
    assert (summary.done, summary.failed) == (3, 1)
    assert (f"E failed: {clips / 'long.wav'}: 2.0 s long, beyond --max-duration 1.5 s; split the file or raise "
            "the limit") in lines
    with pytest.raises(ConfigError, match="--max-duration must be a number of seconds > 0"):
        batch(clips, tmp_path / "out2", max_duration=0.0)
    with pytest.raises(ConfigError, match="--jobs must be a whole number >= 1"):
        batch(clips, tmp_path / "out2", jobs_n=0)


def test_what_a_killed_run_left_is_redone_and_its_temporaries_removed(clips, tmp_path) -> None:
    out = tmp_path / "out"
    batch(clips, out)
    # As if killed while writing sub/b.npy, after renaming sub/c.npy but before recording it.
    manifest = out / MANIFEST_NAME
    with open(manifest, "a") as handle:
        for rel in ("sub/b.npy", "sub/c.npy"):
            handle.write(json.dumps({"status": "started", "input": "x", "output": rel}) + "\n")
        handle.write('{"status": "do')
    temp = out / "sub" / ".b.npy.k2j4h5g6.tmp.npy"
    temp.write_bytes(b"half")
    unrelated = out / "sub" / ".notes.txt"
    unrelated.write_text("mine")
    summary = batch(clips, out)
    assert (summary.done, summary.skipped) == (2, 1)
    assert not temp.exists() and unrelated.read_text() == "mine"
    # The next file is handed out before the previous outcome is written.
    assert statuses(out)[-5:] == [("skipped", "a.npy"), ("started", "sub/b.npy"), ("started", "sub/c.npy"),
                                  ("done", "sub/b.npy"), ("done", "sub/c.npy")]


def test_a_model_reexported_into_the_same_folder_is_noticed(clips, tmp_path, tiny_models) -> None:
    import shutil

    from voicegen.infer.batch.workers import vocode_worker
    from voicegen.infer.vocode import load_vocoder

    model = tmp_path / "vocoder"
    shutil.copytree(tiny_models.vocoder, model)
    spec = WorkerSpec(VocodeOptions(), model=str(model))
    meta = json.loads((model / "artifact.json").read_text())
    assert spec.identity()["weights"] == [meta["weights_sha256"]]
    out = tmp_path / "out"
    jobs = expand_inputs(clips, out, suffix=spec.output_suffix, accept=spec.accepts)
    worker = vocode_worker(load_vocoder(model))
    assert run_batch(jobs, spec, out_dir=out, worker=worker, progress=False, echo=lambda *a: None).done == 3
    old = meta["weights_sha256"]
    meta["weights_sha256"] = "f" * 64  # what a re-export with other weights records
    (model / "artifact.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError) as err:
        run_batch(jobs, spec, out_dir=out, worker=worker, progress=False, echo=lambda *a: None)
    assert str(err.value) == (f"{out / MANIFEST_NAME}: this folder was made with other settings (weights: "
                              f"[{old[:12]}...] vs [ffffffffffff...]; before vs now); pass --overwrite to redo "
                              "every file, or choose another output folder")
