"""Options and output shared by the batch commands (``convert``, ``vocode``, ``features``).

A folder, glob or list-file input goes through :mod:`voicegen.infer.batch` (manifest, skip
finished, workers, progress, summary); a single file keeps each command's own direct path.
Only click is imported here; the engine is imported inside the functions.
"""

from __future__ import annotations

import functools
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

BACKENDS = ("local", "ray")
INTERRUPTED_EXIT_CODE = 130  # the shell's code for a Ctrl-C


@dataclass(frozen=True)
class BatchOptions:
    """The shared batch options of a command (see :func:`batch_options`)."""

    jobs: int = 1
    dry_run: bool = False
    retry_failed: bool = False
    max_duration: float | None = None
    backend: str = "local"
    address: str | None = None
    progress: bool | None = None

    @property
    def inline(self) -> bool:
        """Files run in this process, with the model the command already loaded."""
        return self.jobs == 1 and self.backend == "local"


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


def single_file_preamble(src: Path, out: Path, batch: BatchOptions, probe=None) -> bool:
    """The batch options that apply to a single file: ``--max-duration`` (with ``probe(src) ->
    seconds``, a header read) and ``--dry-run`` (prints the plan; returns True: stop here)."""
    from voicegen.infer.batch.inputs import header_seconds
    from voicegen.infer.batch.workers import check_duration

    if batch.max_duration is not None:
        check_duration(src, (probe or header_seconds)(src), batch.max_duration)
    if batch.dry_run:
        click.echo(f"would write {out} from {src}")
        return True
    return False


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
    raise KeyboardInterrupt


def run_batch_command(spec: Any, src: Path, out: Path, batch: BatchOptions, *, overwrite: bool,
                      worker: Any = None, plot_dir: Path | None = None) -> None:
    """Expand ``src`` into ``out``, run the batch, print the summary; exit 1 if any file failed
    (or failed earlier and was not retried), 130 if interrupted."""
    from voicegen.infer.batch.engine import run_batch
    from voicegen.infer.batch.inputs import Job, check_outputs, expand_inputs

    if batch.address is not None and batch.backend != "ray":
        raise click.UsageError("--address is for --backend ray")
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"{out}: is a file; give a folder as the output of a folder, glob or list input")
    check_writable_outputs([out, plot_dir], what="output folder")
    jobs = expand_inputs(src, out, suffix=spec.output_suffix, accept=spec.accepts)
    if plot_dir is not None:
        if plot_dir.exists() and not plot_dir.is_dir():
            raise click.ClickException(f"{plot_dir}: is a file; give a folder for --plot with a folder input")
        check_outputs([Job(src=job.src, rel=job.rel.with_suffix(".png")) for job in jobs], plot_dir.absolute())
    # SIGTERM (a scheduler's stop, `kill`) stops the batch like Ctrl-C: summary, clean workers.
    main = threading.current_thread() is threading.main_thread()  # signals can be set there only
    previous = signal.signal(signal.SIGTERM, _terminate) if main else None
    try:
        summary = run_batch(jobs, spec, out_dir=out, jobs_n=batch.jobs, overwrite=overwrite,
                            retry_failed=batch.retry_failed, dry_run=batch.dry_run, max_duration=batch.max_duration,
                            backend=batch.backend, address=batch.address, progress=batch.progress,
                            echo=lambda line, is_error: click.echo(line, err=is_error),
                            worker=worker if batch.inline else None)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    click.echo(summary.line())
    if summary.interrupted:
        raise click.exceptions.Exit(INTERRUPTED_EXIT_CODE)
    if summary.failed:
        raise click.ClickException(f"{summary.failed} of {summary.total} files failed (listed above and in "
                                   f"{summary.manifest})")
    if summary.failed_before:
        raise click.ClickException(f"{summary.failed_before} of {summary.total} files failed in an earlier run (see "
                                   f"{summary.manifest}); pass --retry-failed to retry them")
