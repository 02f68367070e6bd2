"""`voicegen vocode` on a folder, stopped from outside: kill -9 and Ctrl-C leave only complete
files, and running the same command again finishes exactly the rest.

The shipped default vocoder does the work (no training needed); each clip is ~31 s of speech
(~0.4 s of vocoding on an idle 2-core machine, the whole batch several seconds even with two
workers), so the batch is still running when the test stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
from voicegen.infer.batch.manifest import MANIFEST_NAME, read_records
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path
from voicegen.infer.vocode import load_vocoder, vocode_file

VOCODER = vocoder_path(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1")
N_CLIPS = 16
CLIP_REPEATS = 8
STOP_AFTER_DONE = 2
WAIT_SECONDS = 120.0
POLL_SECONDS = 0.02


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sf1_clip) -> tuple[Path, int]:
    """16 clips of ~31 s in two subfolders, and their length in samples."""
    src = tmp_path_factory.mktemp("corpus")
    wav = np.tile(load_audio(sf1_clip), CLIP_REPEATS)
    for i in range(N_CLIPS):
        save_audio(src / f"part{i % 2}" / f"clip{i:02d}.wav", np.roll(wav, 1000 * i), 16000)
    return src, len(wav)


def command(src: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "voicegen", "vocode", str(src), str(out), "--model", str(VOCODER),
            "--jobs", str(jobs), "--no-progress"]


def environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def start_and_stop(src: Path, out: Path, jobs: int, sig: int) -> subprocess.Popen:
    """Start the batch in its own process group; send ``sig`` to the group once the manifest
    holds STOP_AFTER_DONE finished files."""
    proc = subprocess.Popen(command(src, out, jobs), start_new_session=True, env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(done_outputs(out)) >= STOP_AFTER_DONE:
                break
            time.sleep(POLL_SECONDS)
        assert proc.poll() is None, f"the batch ended before it could be stopped: {proc.communicate()}"
        assert len(done_outputs(out)) >= STOP_AFTER_DONE, "the batch did not get going in time"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
    return proc


def default_sigint() -> None:
    """In the child: SIGINT back to its default, as in a terminal. A test run started in the
    background by a non-interactive shell (as CI may do) inherits SIGINT ignored, and a Python
    started with SIGINT ignored never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def done_outputs(out: Path) -> set[str]:
    try:
        return {r["output"] for r in read_records(out / MANIFEST_NAME) if r["status"] == "done"}
    except FileNotFoundError:
        return set()


def wavs(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*.wav") if not p.name.startswith(".")}


def assert_complete(out: Path, names: set[str], frames: int) -> None:
    for name in names:
        info = sf.info(str(out / name))
        assert (info.frames, info.samplerate) == (frames, 16000), name
        assert np.isfinite(sf.read(str(out / name))[0]).all()


def all_names() -> set[str]:
    return {f"part{i % 2}/clip{i:02d}.wav" for i in range(N_CLIPS)}


@pytest.mark.slow
def test_kill_9_mid_batch_then_the_rerun_completes_exactly_the_rest(corpus, tmp_path) -> None:
    src, frames = corpus
    out = tmp_path / "out"
    proc = start_and_stop(src, out, jobs=1, sig=signal.SIGKILL)
    proc.communicate(timeout=WAIT_SECONDS)
    assert proc.returncode == -signal.SIGKILL
    done_before = done_outputs(out)
    assert STOP_AFTER_DONE <= len(done_before) < N_CLIPS
    # Only complete files under their real names: the done ones, plus at most the one renamed
    # into place just before the kill and not yet recorded. A temporary may remain (hidden).
    written = wavs(out)
    assert done_before <= written and len(written - done_before) <= 1
    assert_complete(out, written, frames)
    assert all(".tmp" in p.name for p in out.rglob(".*"))

    rerun = subprocess.run(command(src, out, jobs=1), env=environment(), capture_output=True, text=True,
                           timeout=WAIT_SECONDS)
    assert rerun.returncode == 0, rerun.stderr
    rest = N_CLIPS - len(done_before)
    assert rerun.stdout.splitlines()[-1].startswith(
        f"done {rest}, skipped {len(done_before)} (done earlier), failed 0 of {N_CLIPS} files: ")
    records = read_records(out / MANIFEST_NAME)
    second = records[max(i for i, r in enumerate(records) if r["status"] == "run"):]
    assert {r["output"] for r in second if r["status"] == "skipped"} == done_before
    assert {r["output"] for r in second if r["status"] == "done"} == all_names() - done_before
    assert wavs(out) == all_names() and list(out.rglob(".*")) == []
    assert_complete(out, all_names(), frames)


@pytest.mark.slow
def test_ctrl_c_with_two_jobs_stops_cleanly_and_matches_one_job(corpus, tmp_path) -> None:
    """(The re-run after a stop is the kill -9 test's; the stop itself differs here.)"""
    src, frames = corpus
    out = tmp_path / "out"
    proc = start_and_stop(src, out, jobs=2, sig=signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=WAIT_SECONDS)
    assert proc.returncode == 130, stderr
    assert stdout.splitlines()[-1].startswith("interrupted: done ") and "Traceback" not in stderr
    assert stdout.splitlines()[-1].endswith("not finished, run the same command again to finish them")
    done_before = done_outputs(out)
    # The workers removed their temporaries; a file completed just as the stop came may be there
    # unrecorded (the next run redoes it), complete like the others.
    written = wavs(out)
    assert done_before <= written and len(written - done_before) <= 2 and list(out.rglob(".*")) == []
    assert_complete(out, written, frames)
    # Files written by the two worker processes equal those of one in this process.
    vocoder = load_vocoder(VOCODER)
    for name in sorted(done_before)[:STOP_AFTER_DONE]:
        reference = tmp_path / "ref" / name
        vocode_file(src / name, reference, vocoder)
        np.testing.assert_allclose(sf.read(str(out / name))[0], sf.read(str(reference))[0], atol=1e-6, rtol=0)
