"""Stop requests (SIGTERM) held off while a cleanup is being armed.

A command stops on SIGTERM by raising :class:`voicegen.cli_common.Terminated` where the signal lands,
so that the same cleanup as for Ctrl-C runs (temporary files removed). A signal landing between the
creation of a temporary file and the registration of its removal (inside ``tempfile.mkstemp``, or
between a context manager's ``__enter__`` and its exit being recorded) would leave the file behind.
Code that creates such files runs that stretch inside :func:`held`: the signal handlers call
:func:`request_stop`, which raises at once outside a held block and, inside one, when the outermost
block ends, by which time the removal is registered.

Only the main thread holds (Python runs signal handlers there); torch-free, no dependencies.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_depth = 0
_pending: type[BaseException] | None = None


def request_stop(error: type[BaseException]) -> None:
    """Raise ``error`` now, or, inside a :func:`held` block of the main thread, when it ends."""
    global _pending
    if _depth and threading.current_thread() is threading.main_thread():
        _pending = error
        return
    raise error


def hold() -> bool:
    """Start holding :func:`request_stop` (main thread only; holds nest); return whether it holds, to
    pass to :func:`release`."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        return False
    _depth += 1
    return True


def release(holding: bool) -> None:
    """End a :func:`hold` (``holding``: its result); the outermost one raises a stop requested meanwhile."""
    global _depth, _pending
    if not holding:
        return
    _depth -= 1
    if not _depth and _pending is not None:
        error, _pending = _pending, None
        raise error


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold :func:`request_stop` inside the block (blocks nest); a stop requested meanwhile is raised as
    the outermost block ends, in place of any error in flight."""
    holding = hold()
    try:
        yield
    finally:
        release(holding)  # a stop request wins over the error it interrupted
