"""Local executors of the batch engine: in this process (``--jobs 1``) or in worker processes.

An executor hands files to workers and returns their records (see
:func:`voicegen.infer.batch.workers.run_file`):

    executor.free()                         # files it can take now
    executor.submit(key, src, dest, rel)    # one file to a free worker
    executor.results()                      # blocks; [(key, record), ...], at least one
    executor.close(cancel=True)             # stop the workers; [(key, record)] finished meanwhile

Worker processes are started with the ``spawn`` method (torch is not fork-safe), each builds its
per-file function once from the :class:`~voicegen.infer.batch.workers.WorkerSpec` (sent as
JSON) and then takes one file at a time over a pipe. They ignore SIGINT (a Ctrl-C in the terminal reaches the whole
process group): the parent decides, and on cancel sends SIGTERM, which a worker turns into
KeyboardInterrupt, so the atomic writers remove their temporary files before it exits. A worker
that dies on a file (e.g. killed for memory) fails that file alone and is replaced; a worker that
cannot load its model stops the batch with the reason.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path, PurePosixPath
from typing import Any

from voicegen.errors import VoicegenError
from voicegen.infer.batch.workers import FileWorker, WorkerSpec, build_worker, run_file

START_METHOD = "forkserver"
# Imported once by the fork server, so each worker (and each replacement) starts without
# importing them again; nothing in them starts threads or touches a device at import time. Torch
# joins them unless the options ask for the ONNX runtime (a missing module is skipped).
PRELOAD = ["voicegen.infer.batch.workers"]
TORCH_PRELOAD = ["torch"]
# Seconds a worker gets to finish cleaning up after SIGTERM (or to exit after its last file).
STOP_GRACE_SECONDS = 10.0
READY, FATAL = "ready", "fatal"


def worker_threads(jobs_n: int) -> int:
    """Torch intra-op threads per worker: the usable cores shared out, at most OMP_NUM_THREADS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // max(1, jobs_n))
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return min(threads, int(limit)) if limit.isdigit() and int(limit) > 0 else threads


class InlineExecutor:
    """Runs each file in this process with an already built worker (``--jobs 1``)."""

    def __init__(self, worker: FileWorker, max_duration: float | None) -> None:
        self._worker, self._max_duration = worker, max_duration
        self._task: tuple[int, Path, Path, PurePosixPath] | None = None

    def free(self) -> int:
        return 0 if self._task is not None else 1

    def submit(self, key: int, src: Path, dest: Path, rel: PurePosixPath) -> None:
        self._task = (key, src, dest, rel)

    def results(self) -> list[tuple[int, dict[str, Any]]]:
        assert self._task is not None, "results() without a submitted file"
        key, src, dest, rel = self._task
        self._task = None
        return [(key, run_file(self._worker, src, dest, rel, self._max_duration))]

    def close(self, cancel: bool = False) -> list[tuple[int, dict[str, Any]]]:
        self._task = None
        return []


@dataclass(eq=False)
class _Slot:
    process: Any  # multiprocessing's SpawnProcess
    conn: Connection
    ready: bool = False
    busy: int | None = None  # key of the file it holds


class ProcessExecutor:
    """``jobs_n`` worker processes, each with one model load, taking one file at a time."""

    def __init__(self, spec: WorkerSpec, jobs_n: int, *, max_duration: float | None = None,
                 threads: int | None = None, start_method: str = START_METHOD) -> None:
        self._spec, self._max_duration = spec, max_duration
        self._threads = threads if threads is not None else worker_threads(jobs_n)
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            runtime = getattr(spec.options, "runtime", "torch")
            self._context.set_forkserver_preload((TORCH_PRELOAD if runtime != "onnx" else []) + PRELOAD)
        self._slots: list[_Slot] = []
        try:
            for _ in range(jobs_n):
                self._slots.append(self._start())
        except BaseException:
            self.close(cancel=True)
            raise

    def _start(self) -> _Slot:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=worker_main, name="voicegen-batch-worker", daemon=True,
                                        args=(self._spec.to_json(), child, self._threads, self._max_duration))
        process.start()
        child.close()
        return _Slot(process=process, conn=parent)

    def free(self) -> int:
        return sum(slot.busy is None for slot in self._slots)

    def submit(self, key: int, src: Path, dest: Path, rel: PurePosixPath) -> None:
        slot = next(slot for slot in self._slots if slot.busy is None)
        slot.busy = key
        try:
            slot.conn.send((key, str(src), str(dest), rel.as_posix()))
        except OSError:
            pass  # the worker is gone: its sentinel reports it in results()

    def results(self) -> list[tuple[int, dict[str, Any]]]:
        while True:
            out: list[tuple[int, dict[str, Any]]] = []
            by_conn = {slot.conn: slot for slot in self._slots}
            by_sentinel = {slot.process.sentinel: slot for slot in self._slots}
            ready = wait([*by_conn, *by_sentinel])
            for handle in ready:
                if handle in by_conn:
                    self._receive(by_conn[handle], out)
            for handle in ready:
                slot = by_sentinel.get(handle)
                if slot is not None and slot in self._slots:
                    self._replace_dead(slot, out)
            if out:
                return out

    def _receive(self, slot: _Slot, out: list[tuple[int, dict[str, Any]]]) -> bool:
        """Take one message from ``slot``; False when its end is closed (the worker died)."""
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            return False  # died: handled through its sentinel
        if message == READY:
            slot.ready = True
        elif isinstance(message, tuple) and message[0] == FATAL:
            raise VoicegenError(f"a batch worker could not start: {message[1]}")
        else:
            key, record = message
            slot.busy = None
            out.append((key, record))
        return True

    def _replace_dead(self, slot: _Slot, out: list[tuple[int, dict[str, Any]]]) -> None:
        while slot.conn.poll() and self._receive(slot, out):  # what it sent before dying
            pass
        slot.process.join()
        code = slot.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if not slot.ready:
            raise VoicegenError(f"a batch worker exited ({how}) while loading the model; run with --jobs 1 "
                                "to see the error")
        if slot.busy is not None:
            out.append((slot.busy, {"status": "failed", "error": f"the worker process died ({how}) on this file "
                                    "(out of memory? try --max-duration or fewer --jobs)"}))
        slot.conn.close()
        self._slots[self._slots.index(slot)] = self._start()

    def close(self, cancel: bool = False) -> list[tuple[int, dict[str, Any]]]:
        """Stop the workers (``cancel``: interrupt their files); return the results that arrived meanwhile."""
        for slot in self._slots:
            if not slot.process.is_alive():
                continue
            if cancel and slot.busy is not None:
                os.kill(slot.process.pid, signal.SIGTERM)
            else:
                try:
                    slot.conn.send(None)
                except OSError:
                    pass
        late: list[tuple[int, dict[str, Any]]] = []
        for slot in self._slots:
            slot.process.join(timeout=STOP_GRACE_SECONDS)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            try:
                while slot.conn.poll():
                    message = slot.conn.recv()
                    if isinstance(message, tuple) and len(message) == 2 and isinstance(message[1], dict):
                        late.append(message)
            except (EOFError, OSError):
                pass
            slot.conn.close()
        self._slots = []
        return late


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: stop the current file (once) so its temporary output is removed."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def worker_main(spec: dict[str, Any], conn: Connection, threads: int, max_duration: float | None) -> None:
    """A worker process: build the per-file function once from ``spec`` (:meth:`WorkerSpec.to_json`),
    then run files sent over ``conn`` until ``None`` or the parent's end closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from voicegen.infer import onnx_runtime

        onnx_runtime.set_threads(threads)
        try:
            worker = build_worker(WorkerSpec.from_json(spec))
            if "torch" in sys.modules:  # a model runs on PyTorch
                sys.modules["torch"].set_num_threads(threads)
        except VoicegenError as err:
            conn.send((FATAL, str(err)))
            return
        except Exception as err:  # reported to the parent, which stops the batch with it
            conn.send((FATAL, f"{type(err).__name__}: {err}"))
            return
        conn.send(READY)
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            if task is None:
                return
            key, src, dest, rel = task
            record = run_file(worker, Path(src), Path(dest), PurePosixPath(rel), max_duration)
            try:
                conn.send((key, record))
            except OSError:
                return
    except KeyboardInterrupt:
        return
