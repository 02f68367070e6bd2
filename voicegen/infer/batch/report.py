"""What a batch tells its user: the progress bar, per-file lines and the closing summary.

The bar (tqdm, on stderr) counts seconds of audio when every input's duration is known from its
header, so its ETA follows the audio still to process rather than the file count, and shows
``files done/total, hours done/total, failures``. Without the bar (not a terminal, or
``progress=False``) each written file gets a line instead. Failures and warnings are always
printed, on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECONDS_PER_HOUR = 3600.0
BAR_FORMAT = "{percentage:3.0f}%|{bar}| {desc} [{elapsed}<{remaining}]"

Echo = Callable[[str, bool], None]
"""``echo(line, is_error)``: how the engine prints a line (stderr when ``is_error``)."""


def print_echo(line: str, is_error: bool) -> None:
    print(line, file=sys.stderr if is_error else sys.stdout, flush=True)


@dataclass
class BatchSummary:
    """The outcome of :func:`voicegen.infer.batch.engine.run_batch`.

    ``total`` files in the batch: ``done`` now, ``skipped`` (done by an earlier run), ``failed``
    now, ``failed_before`` (failed in an earlier run and not retried) and ``remaining`` (not
    processed: interrupted, or to do in a dry run). ``audio_seconds`` and ``wall_seconds`` are
    this run's; ``rtf`` = wall / audio time (below 1 is faster than real time).
    """

    total: int
    out_dir: Path
    manifest: Path
    done: int = 0
    skipped: int = 0
    failed: int = 0
    failed_before: int = 0
    remaining: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    workers: int = 1
    interrupted: bool = False
    dry_run: bool = False

    @property
    def rtf(self) -> float | None:
        return self.wall_seconds / self.audio_seconds if self.audio_seconds > 0 else None

    @property
    def ok(self) -> bool:
        """No file failed (now or earlier) and nothing was left undone."""
        return not (self.failed or self.failed_before or self.interrupted)

    def line(self) -> str:
        """One line, e.g. ``done 10, skipped 2 (done earlier), failed 1 of 13 files: 0.010 h of
        audio in 12.3 s (RTF 0.350, 2 workers); manifest out/voicegen_manifest.jsonl``."""
        if self.dry_run:
            return (f"dry run: {self.remaining} to do, {self.skipped} done earlier, {self.failed_before} "
                    f"failed earlier{'' if not self.failed_before else ' (--retry-failed retries them)'} "
                    f"of {self.total} files; nothing written")
        failed = f"failed {self.failed}"
        if self.failed_before:
            failed += f" (+{self.failed_before} earlier; --retry-failed retries them)"
        rtf = f"RTF {self.rtf:.3f}, " if self.rtf is not None else ""
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        text = (f"done {self.done}, skipped {self.skipped} (done earlier), {failed} of {self.total} files: "
                f"{self.audio_seconds / SECONDS_PER_HOUR:.3f} h of audio in {self.wall_seconds:.1f} s "
                f"({rtf}{workers}); manifest {self.manifest}")
        if self.interrupted:
            text = (f"interrupted: {text}; {self.remaining} not finished, run the same command again to "
                    "finish them")
        return text


class Progress:
    """The bar and the per-file lines of one batch run."""

    def __init__(self, seconds: list[float | None], out_dir: Path, *, enabled: bool | None,
                 echo: Echo) -> None:
        from tqdm import tqdm

        self._files_total = len(seconds)
        self._by_audio = bool(seconds) and all(s is not None for s in seconds)
        self._hours_total = sum(s or 0.0 for s in seconds) / SECONDS_PER_HOUR
        self._files = self._failed = 0
        self._hours = 0.0
        self._out_dir, self._echo = out_dir, echo
        disable = (not sys.stderr.isatty()) if enabled is None else not enabled
        total = sum(s or 0.0 for s in seconds) if self._by_audio else self._files_total
        self._bar = tqdm(total=total, disable=disable, file=sys.stderr, bar_format=BAR_FORMAT,
                         dynamic_ncols=True, smoothing=0.1)
        self._describe()

    @property
    def active(self) -> bool:
        return not self._bar.disable

    def write(self, line: str, is_error: bool) -> None:
        if self.active:
            self._bar.write(line, file=sys.stderr if is_error else sys.stdout)
        else:
            self._echo(line, is_error)

    def file_done(self, record: dict[str, Any], expected_seconds: float | None) -> None:
        """Advance by one file (by its header duration when the bar counts audio) and report it."""
        self._files += 1
        for warning in record.get("warnings", []):
            self.write(f"Warning: {warning}", True)
        if record["status"] == "failed":
            self._failed += 1
            self.write(f"failed: {record['error']}", True)
        else:
            self._hours += record["seconds"] / SECONDS_PER_HOUR
            if not self.active:
                rtf = f" (RTF {record['rtf']:.3f})" if record.get("rtf") is not None else ""
                self.write(f"wrote {self._out_dir / record['output']}: {record['seconds']:.2f} s{rtf}", False)
        self._bar.update((expected_seconds or 0.0) if self._by_audio else 1)
        self._describe()

    def _describe(self) -> None:
        failed = f", {self._failed} failed" if self._failed else ""
        self._bar.set_description_str(f"{self._files}/{self._files_total} files, {self._hours:.2f}/"
                                  f"{self._hours_total:.2f} h audio{failed}", refresh=False)

    def close(self) -> None:
        self._bar.close()
