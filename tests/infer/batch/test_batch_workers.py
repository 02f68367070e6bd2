"""Worker processes: a worker that dies fails its file alone and is replaced; one that cannot load
its model stops the batch with the reason; run_file never raises for a bad file; Ray missing."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import soundfile as sf

from voicegen.errors import ConfigError, VoicegenError
from voicegen.infer.batch.local import ProcessExecutor, worker_threads
from voicegen.infer.batch.ray_backend import RayExecutor
from voicegen.infer.batch.workers import FileWorker, WorkerSpec, run_file
from voicegen.infer.options import FeaturesOptions, VocodeOptions


def clip(path: Path) -> Path:
    sf.write(str(path), 0.1 * np.sin(np.arange(4000) / 9.0).astype(np.float32), 16000)
    return path


def test_a_dead_worker_fails_its_file_and_is_replaced(tmp_path) -> None:
    spec = WorkerSpec(FeaturesOptions(preset="vc16k"))
    src = clip(tmp_path / "a.wav")
    executor = ProcessExecutor(spec, 1, threads=1)
    try:
        executor.submit(0, src, tmp_path / "out" / "0.npy", PurePosixPath("0.npy"))
        assert [(key, record["status"]) for key, record in executor.results()] == [(0, "done")]
        os.kill(executor._slots[0].process.pid, signal.SIGKILL)  # e.g. the kernel's OOM killer
        executor.submit(1, src, tmp_path / "out" / "1.npy", PurePosixPath("1.npy"))
        [(key, record)] = executor.results()
        assert key == 1 and record == {"status": "failed", "error": "the worker process died (killed by signal 9) "
                                       "on this file (out of memory? try --max-duration or fewer --jobs)"}
        assert executor.free() == 1
        executor.submit(2, src, tmp_path / "out" / "2.npy", PurePosixPath("2.npy"))
        assert [(key, record["status"]) for key, record in executor.results()] == [(2, "done")]
    finally:
        assert executor.close() == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.npy", "2.npy"]


def test_a_worker_that_cannot_load_its_model_stops_the_batch(tmp_path) -> None:
    executor = ProcessExecutor(WorkerSpec(VocodeOptions(), model=str(tmp_path / "none")), 1, threads=1)
    try:
        executor.submit(0, tmp_path / "a.wav", tmp_path / "a.out.wav", PurePosixPath("a.out.wav"))
        with pytest.raises(VoicegenError) as err:
            executor.results()
    finally:
        executor.close(cancel=True)
    assert str(err.value).startswith(f"a batch worker could not start: {tmp_path / 'none'}")


def test_run_file_turns_any_error_into_a_failed_record(tmp_path) -> None:
    def broken(src, dest, rel):
        raise RuntimeError("CUDA error: out of memory\nmore detail")

    record = run_file(FileWorker(process=broken), tmp_path / "a.wav", tmp_path / "o.wav", PurePosixPath("o.wav"))
    assert record["status"] == "failed" and record["output"] == "o.wav"
    assert record["error"] == f"{tmp_path / 'a.wav'}: RuntimeError: CUDA error: out of memory more detail"
    assert "Traceback" in record["traceback"]

    def interrupted(src, dest, rel):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_file(FileWorker(process=interrupted), tmp_path / "a.wav", tmp_path / "o.wav", PurePosixPath("o.wav"))


def test_worker_threads_share_the_cores(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [worker_threads(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert worker_threads(1) == 2


def test_the_ray_backend_without_ray_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ConfigError) as err:
        RayExecutor(WorkerSpec(FeaturesOptions()), 1)
    assert str(err.value) == "--backend ray needs Ray: pip install 'voicegen[ray]' (or 'ray[default]')"
