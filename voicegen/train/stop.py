"""Graceful stop of a training run: Ctrl-C or SIGTERM finishes the step, saves a checkpoint, exits.

    with StopRequest() as stop:
        for batch in loader:
            train_step(batch)
            if stop.requested:
                save_checkpoint(); raise TrainingInterrupted(...)

The first SIGINT/SIGTERM only sets a flag (a message says a checkpoint is coming); a second one
aborts at once (KeyboardInterrupt). Handlers are installed only in the main thread (Python allows
no other) and restored on exit.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Context manager whose ``signal`` is the first stop signal received (None until then)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue  # e.g. SIGINT of a job started in the background: leave it ignored
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:  # asked twice: stop now, without a checkpoint
            self._restore()
            raise KeyboardInterrupt
        self.signal = signum
        print(f"\n{signal.Signals(signum).name}: finishing this step and saving a checkpoint "
              "(send it again to abort without one)", file=sys.stderr, flush=True)
