"""The batch engine: plan a folder of work against the manifest, then run it on workers.

    summary = run_inputs(spec, "clips/", out, BatchOptions(jobs=2))   # a folder, glob or list file
    print(summary.line()); exit_code = 0 if summary.ok else 1
    # the same in two steps, for prepared jobs:
    jobs = expand_inputs("clips/", out, suffix=spec.output_suffix, accept=spec.accepts)
    summary = run_batch(jobs, spec, out_dir=out, jobs_n=2)

Planning reads ``out/voicegen_manifest.jsonl`` (see :mod:`voicegen.infer.batch.manifest`): a
file whose latest record is ``done``, whose output is still there and whose input has not
changed (size, mtime) is skipped; a ``failed`` one is retried only with ``retry_failed``; a file
that was handed out but never finished (interrupted, killed) is redone. An existing output the
manifest does not know is refused unless ``overwrite`` (which redoes every file), as is reusing
a folder made with other settings (model, speakers, options).

Running: a ``run`` record, ``skipped`` records, then for each file a ``started`` record before it
is handed to a worker and its ``done``/``failed`` record after its output was renamed into place.
Workers: this process (``jobs_n=1`` with a prebuilt ``worker``), ``jobs_n`` spawned processes, or
Ray actors (``backend="ray"``). Ctrl-C stops the workers (their temporary files are removed),
prints the summary and leaves the rest for the next run.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voicegen import __version__
from voicegen.errors import AudioError, ConfigError, OutputError
from voicegen.infer.batch.inputs import Job, check_outputs, expand_inputs, header_seconds
from voicegen.infer.batch.manifest import (
    DONE,
    FAILED,
    MANIFEST_NAME,
    RUN,
    SKIPPED,
    STARTED,
    Manifest,
    file_states,
    read_records,
    run_spec,
)
from voicegen.infer.batch.report import BatchSummary, Echo, Progress, print_echo
from voicegen.infer.batch.workers import PLOT_SUFFIX, FileWorker, WorkerSpec
from voicegen.infer.options import BatchOptions

BACKENDS = ("local", "ray")
# Temporary files of voicegen.fileutil.atomic_path: ".<name>.<8 random chars>.tmp<suffix>".
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp(?P<suffix>\.[^.]*)?$")


def run_inputs(spec: WorkerSpec, src: str | os.PathLike, out: str | os.PathLike, batch: BatchOptions = BatchOptions(),
               *, overwrite: bool = False, worker: FileWorker | None = None,
               echo: Echo | None = None) -> BatchSummary:
    """Expand the folder, glob or list file ``src`` into a mirror of it under the folder ``out``
    (and, with a ``plot`` option, under that folder too) and run it as :func:`run_batch` does,
    with ``batch``'s settings (``worker``: used when ``batch.inline``). Raises VoicegenError (one
    line) for an output that is a file or unwritable, and the errors of ``expand_inputs``."""
    from voicegen.pathcheck import check_writable

    if batch.address is not None and batch.backend != "ray":
        raise ConfigError("--address is for --backend ray")
    out = Path(out)
    plot = getattr(spec.options, "plot", None)
    plot_dir = Path(os.path.abspath(plot)) if plot is not None else None
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; give a folder as the output of a folder, glob or list input")
    for folder in (out, plot_dir):
        if folder is not None:
            check_writable(folder, what="output folder")
    jobs = expand_inputs(src, out, suffix=spec.output_suffix, accept=spec.accepts)
    if plot_dir is not None:
        if plot_dir.exists() and not plot_dir.is_dir():
            raise OutputError(f"{plot_dir}: is a file; give a folder for --plot with a folder input")
        check_outputs([Job(src=job.src, rel=job.rel.with_suffix(PLOT_SUFFIX)) for job in jobs], plot_dir)
    return run_batch(jobs, spec, out_dir=out, jobs_n=batch.jobs, overwrite=overwrite, retry_failed=batch.retry_failed,
                     dry_run=batch.dry_run, max_duration=batch.max_duration, backend=batch.backend,
                     address=batch.address, progress=batch.progress, echo=echo,
                     worker=worker if batch.inline else None)


def run_batch(jobs: Sequence[Job], spec: WorkerSpec, *, out_dir: str | os.PathLike, jobs_n: int = 1,
              overwrite: bool = False, retry_failed: bool = False, dry_run: bool = False,
              max_duration: float | None = None, backend: str = "local", address: str | None = None,
              progress: bool | None = None, echo: Echo | None = None,
              worker: FileWorker | None = None) -> BatchSummary:
    """Process ``jobs`` (from :func:`~voicegen.infer.batch.inputs.expand_inputs`) into ``out_dir``.

    ``spec`` describes the per-file function; ``worker`` (the same function already built, e.g.
    with the model the caller loaded to validate it) is used in this process when ``jobs_n`` is 1
    on the local backend. ``max_duration`` (seconds) fails longer inputs before loading them.
    ``progress``: True/False, or None for a bar only on a terminal. ``echo(line, is_error)``
    prints the per-file lines (default: stdout/stderr). Never raises for a bad input file: it is
    a ``failed`` record; raises VoicegenError for unusable settings (bad backend, foreign outputs,
    a worker that cannot load the model, a folder another batch holds).
    """
    start = time.perf_counter()
    out_dir = Path(os.path.abspath(out_dir))
    echo = echo or print_echo
    _check_settings(jobs_n, backend, max_duration)
    manifest_path = out_dir / MANIFEST_NAME
    seen = _stamp(manifest_path)
    plan = _plan(jobs, read_records(manifest_path), spec, out_dir, overwrite=overwrite, retry_failed=retry_failed)
    if dry_run:
        for job in plan.todo:
            echo(f"would write {job.dest(out_dir)} from {job.src}", False)
        return _summary(plan, jobs, out_dir, jobs_n, dry_run=True)
    with Manifest.open(out_dir) as manifest:
        if _stamp(manifest_path) != seen:  # another batch wrote to it before we got the lock
            plan = _plan(jobs, read_records(manifest_path), spec, out_dir, overwrite=overwrite,
                         retry_failed=retry_failed)
        summary = _summary(plan, jobs, out_dir, jobs_n, dry_run=False)
        manifest.append({"status": RUN, "spec": spec.identity(), "jobs": jobs_n, "backend": backend,
                         "files": len(jobs), "todo": len(plan.todo), "version": __version__})
        manifest.append_many([{"status": SKIPPED, "input": str(job.src), "output": job.rel.as_posix()}
                              for job in plan.skip])
        _sweep_temporaries(plan.todo, out_dir)
        expected = [header_seconds(job.src) for job in plan.todo]
        bar = Progress(expected, out_dir, enabled=progress, echo=echo)
        try:
            _execute(plan.todo, expected, spec, manifest, summary, bar, jobs_n=jobs_n, backend=backend,
                     address=address, max_duration=max_duration, worker=worker)
        finally:
            bar.close()
            summary.wall_seconds = time.perf_counter() - start
    return summary


def _stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime) of a manifest; None for a missing or empty one."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_size, stat.st_mtime_ns) if stat.st_size else None


def _summary(plan: _Plan, jobs: Sequence[Job], out_dir: Path, jobs_n: int, *, dry_run: bool) -> BatchSummary:
    return BatchSummary(total=len(jobs), out_dir=out_dir, manifest=out_dir / MANIFEST_NAME, skipped=len(plan.skip),
                        failed_before=len(plan.kept_failed), remaining=len(plan.todo), workers=jobs_n,
                        dry_run=dry_run)


class _Plan:
    def __init__(self) -> None:
        self.todo: list[Job] = []
        self.skip: list[Job] = []
        self.kept_failed: list[Job] = []


def _check_settings(jobs_n: int, backend: str, max_duration: float | None) -> None:
    if isinstance(jobs_n, bool) or not isinstance(jobs_n, int) or jobs_n < 1:
        raise ConfigError(f"--jobs must be a whole number >= 1, got {jobs_n!r}")
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if max_duration is not None and not max_duration > 0:
        raise ConfigError(f"--max-duration must be a number of seconds > 0, got {max_duration!r}")


def _plan(jobs: Sequence[Job], records: list[dict[str, Any]], spec: WorkerSpec, out_dir: Path, *,
          overwrite: bool, retry_failed: bool) -> _Plan:
    """Sort ``jobs`` into to do / skip (done earlier) / kept failed; refuse foreign outputs."""
    states = file_states(records)
    previous, now = run_spec(records), spec.identity()
    if previous is not None and "weights" not in previous:  # a manifest from before weights were recorded
        now.pop("weights")
    if previous is not None and previous != now and not overwrite and any(
            state["status"] == DONE for state in states.values()):
        differ = ", ".join(_spec_diff(previous, now))
        raise ConfigError(f"{out_dir / MANIFEST_NAME}: this folder was made with other settings ({differ}; "
                          "before vs now); pass --overwrite to redo every file, or choose another output folder")
    plan, foreign = _Plan(), []
    for job in jobs:
        dest, state = job.dest(out_dir), states.get(job.rel.as_posix())
        status = state["status"] if state is not None else None
        if overwrite:
            plan.todo.append(job)
        elif status == DONE and _still_done(state, job.src, dest):
            plan.skip.append(job)
        elif status == FAILED and not retry_failed:
            plan.kept_failed.append(job)
        elif status is None and (dest.exists() or dest.is_symlink()):
            foreign.append(dest)
        else:
            plan.todo.append(job)
    if foreign:
        more, them = (f" (and {len(foreign) - 1} more)", "them") if len(foreign) > 1 else ("", "it")
        raise AudioError(f"{foreign[0]}: already exists{more} and is not in this folder's manifest; pass "
                         f"--overwrite (overwrite=True) to replace {them}")
    return plan


def _spec_diff(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    flat_before = {**{k: v for k, v in before.items() if k != "options"}, **before.get("options", {})}
    flat_now = {**{k: v for k, v in now.items() if k != "options"}, **now.get("options", {})}
    def show(key: str, value: Any) -> str:
        if key == "weights" and isinstance(value, list):  # sha256 digests: their first 12 digits say enough
            return "[" + ", ".join(f"{str(digest)[:12]}..." for digest in value) + "]"
        return repr(value)

    return [f"{key}: {show(key, flat_before.get(key))} vs {show(key, flat_now.get(key))}"
            for key in sorted(set(flat_before) | set(flat_now)) if flat_before.get(key) != flat_now.get(key)]


def _still_done(state: dict[str, Any], src: Path, dest: Path) -> bool:
    """The output is there (not empty) and the input is unchanged since it was made."""
    try:
        if dest.stat().st_size == 0:
            return False
        stat = src.stat()
    except OSError:
        return dest.is_file()  # a vanished input keeps its output
    return state.get("input_size") in (None, stat.st_size) and state.get("input_mtime_ns") in (None, stat.st_mtime_ns)


def _sweep_temporaries(jobs: Sequence[Job], out_dir: Path) -> None:
    """Remove temporary files a killed run left beside the outputs it was writing."""
    names_by_dir: dict[Path, set[str]] = {}
    for job in jobs:
        dest = job.dest(out_dir)
        names_by_dir.setdefault(dest.parent, set()).add(dest.name)
    for folder, names in names_by_dir.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = TEMP_NAME.match(entry.name)
            if match and match["name"] in names and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)


def _execute(todo: list[Job], expected: list[float | None], spec: WorkerSpec, manifest: Manifest,
             summary: BatchSummary, bar: Progress, *, jobs_n: int, backend: str, address: str | None,
             max_duration: float | None, worker: FileWorker | None) -> None:
    """Hand ``todo`` out to the workers and record each outcome; Ctrl-C marks ``interrupted``.

    A worker that returns a file gets its next one before the outcome is written and fsync'd, so
    the workers do not wait on the disk; outcomes that arrive together share one fsync.
    """
    if not todo:
        return
    executor = None
    cancel = True
    queue = deque(enumerate(todo))
    in_flight: dict[int, Job] = {}

    def hand_out() -> None:
        claims = []
        for _ in range(min(executor.free(), len(queue))):
            key, job = queue.popleft()
            in_flight[key] = job
            claims.append((key, job))
        # Not fsync'd: the claim matters after a killed process, whose writes the OS still keeps.
        manifest.append_many([{"status": STARTED, "input": str(job.src), "output": job.rel.as_posix()}
                              for _, job in claims], sync=False)
        for key, job in claims:
            executor.submit(key, job.src, job.dest(summary.out_dir), job.rel)

    def finish(results: list[tuple[int, dict[str, Any]]]) -> None:
        records = []
        for key, outcome in results:
            job = in_flight.pop(key)
            record = {"status": outcome["status"], "input": str(job.src), "output": job.rel.as_posix(), **outcome}
            if record["status"] == DONE:
                record.update(_input_stamp(job.src))
                summary.done += 1
                summary.audio_seconds += record["seconds"]
            else:
                summary.failed += 1
            summary.remaining -= 1
            records.append((key, record))
        manifest.append_many([record for _, record in records])
        for key, record in records:
            bar.file_done(record, expected[key])

    try:
        executor = _executor(spec, jobs_n, backend=backend, address=address, max_duration=max_duration,
                             worker=worker)
        hand_out()
        while in_flight:
            results = executor.results()
            hand_out()
            finish(results)
        cancel = False
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if executor is not None:  # files that finished while the workers were stopped
            finish([(key, record) for key, record in executor.close(cancel=cancel) if key in in_flight])


def _input_stamp(src: Path) -> dict[str, int]:
    try:
        stat = src.stat()
    except OSError:
        return {}
    return {"input_size": stat.st_size, "input_mtime_ns": stat.st_mtime_ns}


def _executor(spec: WorkerSpec, jobs_n: int, *, backend: str, address: str | None,
              max_duration: float | None, worker: FileWorker | None):
    if backend == "ray":
        from voicegen.infer.batch.ray_backend import RayExecutor

        return RayExecutor(spec, jobs_n, address=address, max_duration=max_duration)
    from voicegen.infer.batch.local import InlineExecutor, ProcessExecutor

    if jobs_n == 1 and worker is not None:
        return InlineExecutor(worker, max_duration)
    return ProcessExecutor(spec, jobs_n, max_duration=max_duration)
