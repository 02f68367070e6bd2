"""Training logs: console lines, ``metrics.jsonl``, TensorBoard, audio/figure samples, progress bar.

Layout under the run directory::

    metrics.jsonl                   one JSON object per ``scalars`` call:
                                    {"step": .., "time": .., "<name>": value, ...}
    tensorboard/                    event files (when enabled and TensorBoard is installed)
    samples/step_00001000/<tag>.wav|.png|.txt

Non-finite scalars are written as ``null`` in metrics.jsonl (strict JSON). A disabled Logger
(data-parallel ranks other than 0) accepts every call and writes nothing. A resumed run first
drops the records after its checkpoint's step (:meth:`Logger.truncate_metrics`): a killed run
logged them, and the resumed one logs those steps again.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from voicegen.fileutil import atomic_path, atomic_write_text
from voicegen.progress import on_terminal

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
SAMPLES_DIR = "samples"
_UNSAFE_TAG_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class Logger:
    """One sink for scalars, audio, figures and text; see the module docstring for the layout."""

    def __init__(self, run_dir: str | Path, *, enabled: bool = True, tensorboard: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self._tensorboard = tensorboard and enabled
        self._writer = None
        if enabled:
            self.run_dir.mkdir(parents=True, exist_ok=True)

    def _tb(self):
        """The TensorBoard writer, opened on first use (``None`` when off or not installed)."""
        if self._writer is None and self._tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self._tensorboard = False
                self.info("note: TensorBoard is not installed; logging to metrics.jsonl and the console only")
                return None
            self._writer = SummaryWriter(log_dir=str(self.run_dir / TENSORBOARD_DIR))
        return self._writer

    @property
    def metrics_path(self) -> Path:
        """``<run_dir>/metrics.jsonl``."""
        return self.run_dir / METRICS_FILE

    def truncate_metrics(self, step: int) -> int:
        """Drop the metrics.jsonl records of steps after ``step`` (and a line a kill cut short),
        atomically; return how many were dropped (0: the file is left untouched)."""
        if not self.enabled or not self.metrics_path.is_file():
            return 0
        lines = self.metrics_path.read_text(encoding="utf-8", errors="replace").splitlines()
        kept = [line for line in lines if _record_step(line) is not None and _record_step(line) <= step]
        if len(kept) != len(lines):
            atomic_write_text(self.metrics_path, "".join(f"{line}\n" for line in kept))
        return len(lines) - len(kept)

    def info(self, message: str) -> None:
        """Print one console line without breaking the progress bar."""
        if self.enabled:
            tqdm.write(message, file=sys.stdout)

    def scalars(self, step: int, values: Mapping[str, float], *, echo: bool = False) -> None:
        """Record named scalars at ``step``; ``echo`` also prints them as one console line."""
        if not self.enabled or not values:
            return
        clean = {name: _finite_or_none(value) for name, value in values.items()}
        record = {"step": int(step), "time": round(time.time(), 3), **clean}
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if (writer := self._tb()) is not None:
            for name, value in values.items():
                writer.add_scalar(name, float(value), step)
        if echo:
            self.info(f"step {step} | " + " | ".join(_format(n, v) for n, v in values.items()))

    def audio(self, tag: str, wav: Any, sample_rate: int, step: int) -> Path | None:
        """Save ``wav`` (float in [-1, 1]; shape ``(T,)``, ``(1, T)`` or ``(C, T)``) as 16-bit WAV.

        Returns the path under ``samples/step_XXXXXXXX/``; also logged to TensorBoard (channel 0).
        """
        if not self.enabled:
            return None
        import soundfile

        data = _to_numpy(wav).astype(np.float32)
        if data.ndim == 2 and data.shape[0] == 1:
            data = data[0]
        if data.ndim not in (1, 2):
            raise ValueError(f"audio {tag!r} must be (T,), (1, T) or (C, T); got shape {data.shape}")
        data = np.clip(np.nan_to_num(data), -1.0, 1.0)
        path = self._sample_path(tag, step, ".wav")
        with atomic_path(path) as tmp:
            soundfile.write(tmp, data if data.ndim == 1 else data.T, int(sample_rate), subtype="PCM_16")
        if (writer := self._tb()) is not None:
            mono = data if data.ndim == 1 else data[0]
            writer.add_audio(tag, torch.from_numpy(mono.copy()), step, sample_rate=int(sample_rate))
        return path

    def figure(self, tag: str, fig: Any, step: int) -> Path | None:
        """Save a matplotlib ``Figure`` as PNG (rendered with Agg) and to TensorBoard; closes it."""
        if not self.enabled:
            return None
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)  # render off-screen whatever backend created the figure
        path = self._sample_path(tag, step, ".png")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        if (writer := self._tb()) is not None:
            writer.add_figure(tag, fig, step, close=False)
        if "matplotlib.pyplot" in sys.modules:  # free pyplot-managed figures
            sys.modules["matplotlib.pyplot"].close(fig)
        return path

    def text(self, tag: str, text: str, step: int) -> Path | None:
        """Save ``text`` as ``<tag>.txt`` under the step's sample folder and to TensorBoard."""
        if not self.enabled:
            return None
        path = self._sample_path(tag, step, ".txt")
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        if (writer := self._tb()) is not None:
            writer.add_text(tag, text, step)
        return path

    def flush(self) -> None:
        """Push pending TensorBoard events to disk."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close TensorBoard (idempotent; a later call reopens a new event file)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sample_path(self, tag: str, step: int, suffix: str) -> Path:
        name = _UNSAFE_TAG_CHARS.sub("_", tag).strip("._") or "sample"
        return self.run_dir / SAMPLES_DIR / f"step_{int(step):08d}" / f"{name}{suffix}"


class ProgressBar:
    """A tqdm bar over steps showing it/s and the latest losses; inert when disabled or when stderr
    is not a terminal (a log file gets the trainer's log lines instead of redrawn bars)."""

    def __init__(self, total: int, initial: int, *, enabled: bool) -> None:
        self._bar = tqdm(
            total=total, initial=initial, disable=not (enabled and on_terminal()), unit="step",
            dynamic_ncols=True, file=sys.stderr,
        )

    def update(self, steps: int = 1) -> None:
        self._bar.update(steps)

    def show(self, values: Mapping[str, float]) -> None:
        """Show the given values (e.g. latest losses) after the bar."""
        self._bar.set_postfix({name: f"{value:.4g}" for name, value in values.items()}, refresh=False)

    def close(self) -> None:
        self._bar.close()


class ScalarMeter:
    """Running means of named scalars between two log lines."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def add(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value)
            self._counts[name] = self._counts.get(name, 0) + 1

    def means(self) -> dict[str, float]:
        """The mean of each name since the last ``reset``."""
        return {name: total / self._counts[name] for name, total in self._sums.items()}

    def reset(self) -> None:
        self._sums.clear()
        self._counts.clear()


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value)


def _record_step(line: str) -> int | None:
    """The ``step`` of one metrics.jsonl line, or None for a damaged line."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _format(name: str, value: float) -> str:
    return f"{name} {value:.4g}"
