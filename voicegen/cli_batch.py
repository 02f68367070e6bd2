"""Options and output shared by the batch commands (``convert``, ``vocode``, ``features``).

The options become a :class:`voicegen.infer.options.BatchOptions`; the library entries of
:mod:`voicegen.infer.commands` decide between a single file and the batch engine
(:mod:`voicegen.infer.batch`: manifest, skip finished, workers, progress); this module prints a
batch's summary and turns it into the exit status. Only click is imported here (and the
torch-free options); the engine is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from voicegen.cli_common import Terminated
from voicegen.infer.options import BACKENDS, BatchOptions
from voicegen.interrupts import request_stop

__all__ = ["BatchOptions", "batch_options", "batch_signals", "check_batch_flags", "check_writable_outputs",
           "finish_batch", "print_line"]
INTERRUPTED_EXIT_CODE = 130  # the shell's code for a Ctrl-C


_OPTIONS = [
    click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Worker processes for a folder input (one model load each; about one per CPU core)."),
    click.option("--dry-run", is_flag=True, help="List what would be written, and write nothing."),
    click.option("--retry-failed", is_flag=True,
                 help="Retry the files an earlier run into the same folder failed on (finished ones are always "
                      "skipped; see voicegen_manifest.jsonl there)."),
    click.option("--max-duration", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
                 help="Fail inputs longer than this, before loading them (bounds time and memory per file)."),
    click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True,
                 help="Run a folder's files in local processes, or as Ray tasks (pip install 'voicegen[ray]')."),
    click.option("--address", default=None,
                 help="Ray cluster for --backend ray, e.g. ray://head:10001 [default: $RAY_ADDRESS, else a "
                      "local Ray]."),
    click.option("--progress/--no-progress", default=None,
                 help="Progress bar for a folder input [default: when stderr is a terminal; without it, a line "
                      "per file]."),
]


def batch_options(command):
    """Add the shared batch options to a click command function, passed to it as ``batch``."""

    @functools.wraps(command)
    def wrapper(*args: Any, jobs: int, dry_run: bool, retry_failed: bool, max_duration: float | None,
                backend: str, address: str | None, progress: bool | None, **kwargs: Any) -> Any:
        options = BatchOptions(jobs=jobs, dry_run=dry_run, retry_failed=retry_failed, max_duration=max_duration,
                               backend=backend, address=address, progress=progress)
        return command(*args, batch=options, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def check_batch_flags(batch: BatchOptions) -> None:
    """Usage errors of the batch options, before any work."""
    if batch.address is not None and batch.backend != "ray":
        raise click.UsageError("--address is for --backend ray")


def print_line(line: str, is_error: bool) -> None:
    """The ``echo`` of the library entries: a line on stdout, or stderr when ``is_error``."""
    click.echo(line, err=is_error)


def check_writable_outputs(outputs: list[Path | None], *, inputs: list[Path | None] = (),
                           what: str = "output") -> None:
    """Before any work: each output (None ones skipped) can be written, and is none of ``inputs``
    (OutputError, one line; see :mod:`voicegen.pathcheck`)."""
    from voicegen.pathcheck import check_not_input, check_writable

    for out in outputs:
        if out is not None:
            check_not_input(out, *inputs)
            check_writable(out, what=what)


def _terminate(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the cleanup must not be interrupted again
    request_stop(Terminated)  # a KeyboardInterrupt: a running batch stops as for Ctrl-C; before it, exit 143


@contextlib.contextmanager
def batch_signals(many: bool) -> Iterator[None]:
    """For a batch (``many``), SIGTERM (a scheduler's stop, `kill`) stops it like Ctrl-C: the engine
    then prints its summary and stops the workers cleanly. A single file keeps the CLI's handling."""
    main = threading.current_thread() is threading.main_thread()  # signals can be set there only
    previous = signal.signal(signal.SIGTERM, _terminate) if many and main else None
    try:
        yield
    finally:
        if many and main:
            signal.signal(signal.SIGTERM, previous)


def finish_batch(summary: Any) -> None:
    """Print a :class:`~voicegen.infer.batch.report.BatchSummary`; exit 1 if any file failed (or
    failed earlier and was not retried), 130 if interrupted."""
    click.echo(summary.line())
    if summary.interrupted:
        raise click.exceptions.Exit(INTERRUPTED_EXIT_CODE)
    if summary.failed:
        raise click.ClickException(f"{summary.failed} of {summary.total} files failed (listed above and in "
                                   f"{summary.manifest})")
    if summary.failed_before:
        raise click.ClickException(f"{summary.failed_before} of {summary.total} files failed in an earlier run (see "
                                   f"{summary.manifest}); pass --retry-failed to retry them")
