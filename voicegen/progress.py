"""Progress that suits where the output goes: a tqdm bar on a terminal, a line every 10 % in a log file.

    for path in progress_bar(files, desc="speaker stats", unit="file", enabled=show):
        ...
    with progress_bar(total=n_bytes, desc="download", unit="B") as bar:
        bar.update(len(chunk))

A bar redrawn with carriage returns turns a log file (``voicegen ... > train.log 2>&1``) into one
enormous line, so when stderr is not a terminal the same calls print ``desc: 30 % (24/81 files)``
lines instead, one per :data:`LINE_STEP_PERCENT`. ``enabled=False`` shows nothing either way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

LINE_STEP_PERCENT = 10
"""A log file gets one progress line each time this many more percent are done."""
_BYTES_PER_MB = 1e6


def on_terminal(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default: stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress_bar(iterable: Iterable | None = None, *, total: int | float | None = None, desc: str = "",
                 unit: str = "it", enabled: bool = True, initial: int | float = 0, **tqdm_options: Any):
    """A tqdm bar on a terminal, :class:`LineProgress` elsewhere, an inert bar when not ``enabled``.

    Takes tqdm's common arguments (``iterable``, ``total``, ``desc``, ``unit``, ``initial``; other
    keyword options go to tqdm only) and offers its common methods (iteration, ``update``,
    ``set_postfix``, ``close``, use as a context manager).
    """
    if enabled and not on_terminal():
        return LineProgress(iterable, total=total, desc=desc, unit=unit, initial=initial)
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, disable=not enabled,
                file=sys.stderr, **tqdm_options)


class LineProgress:
    """Progress as plain lines on stderr: ``desc: 40 % (32/81 files)`` every LINE_STEP_PERCENT percent."""

    def __init__(self, iterable: Iterable | None = None, *, total: int | float | None = None, desc: str = "",
                 unit: str = "it", initial: int | float = 0, stream: TextIO | None = None) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = initial
        self._stream = stream
        self._next_percent = self._percent() // LINE_STEP_PERCENT * LINE_STEP_PERCENT + LINE_STEP_PERCENT
        self._closed = False

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("LineProgress without an iterable cannot be iterated; use update()")
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int | float = 1) -> None:
        """Count ``n`` more done; print a line when another step of percent is complete."""
        self.n += n
        if self.total and self._percent() >= self._next_percent:
            self._write()
            self._next_percent = self._percent() // LINE_STEP_PERCENT * LINE_STEP_PERCENT + LINE_STEP_PERCENT

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for tqdm compatibility; the lines show counts only."""

    def set_description_str(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def close(self) -> None:
        self._closed = True

    def _percent(self) -> int:
        return int(100 * self.n / self.total) if self.total else 0

    def _write(self) -> None:
        if self.unit == "B":
            count = f"{self.n / _BYTES_PER_MB:.1f}/{self.total / _BYTES_PER_MB:.1f} MB"
        else:
            count = f"{self.n:g}/{self.total:g} {self.unit}{'s' if self.total != 1 else ''}"
        prefix = f"{self.desc}: " if self.desc else ""
        stream = self._stream if self._stream is not None else sys.stderr
        print(f"{prefix}{min(self._percent(), 100)} % ({count})", file=stream, flush=True)
