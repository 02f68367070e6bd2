"""Timing shared by the benchmark scripts (importable: a script's folder is on sys.path)."""

from __future__ import annotations

import time
from typing import Callable


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Seconds per call: one warm-up call, then the fastest of ``repeats`` calls (the least
    disturbed by other load)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
