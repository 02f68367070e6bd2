"""Evaluation pictures: MCD histogram, aligned F0 contours, source/converted/target spectrograms.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state) and saved
atomically. The spectrogram panels reuse :func:`voicegen.audio.plot.mels_figure`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from voicegen.eval.analysis import WorldFeatures
from voicegen.fileutil import atomic_path

DPI = 100
HISTOGRAM_BINS = 20
F0_PANEL_INCHES = (9.0, 2.4)


@dataclass(frozen=True)
class F0Trace:
    """One pair for the F0 figure: the features of both files and their DTW path."""

    name: str
    converted: WorldFeatures
    reference: WorldFeatures
    path: tuple[np.ndarray, np.ndarray]


def plot_mcd_histogram(mcd_db: Sequence[float], path: str | os.PathLike,
                       baseline_db: Sequence[float] | None = None) -> Path:
    """Histogram of per-file MCD (dB); ``baseline_db`` (source vs reference) drawn behind it."""
    fig = _figure((6.0, 3.6))
    ax = fig.add_subplot()
    values = np.asarray([v for v in mcd_db if np.isfinite(v)], dtype=np.float64)
    everything = values if baseline_db is None else np.concatenate(
        [values, np.asarray([v for v in baseline_db if np.isfinite(v)], dtype=np.float64)])
    bins = np.histogram_bin_edges(everything, bins=HISTOGRAM_BINS) if everything.size else HISTOGRAM_BINS
    if baseline_db is not None:
        ax.hist(baseline_db, bins=bins, alpha=0.45, color="tab:gray", label="source vs reference")
    ax.hist(values, bins=bins, alpha=0.8, color="tab:blue", label="converted vs reference")
    if values.size:
        ax.axvline(float(values.mean()), color="tab:blue", linestyle="--",
                   label=f"mean {values.mean():.2f} dB")
    ax.set_xlabel("mel-cepstral distortion (dB)")
    ax.set_ylabel("files")
    ax.legend(loc="upper right", fontsize="small")
    return _save(fig, path)


def plot_f0_contours(traces: Sequence[F0Trace], path: str | os.PathLike) -> Path:
    """One panel per pair: reference F0 and the converted F0 warped onto the reference's time axis."""
    if not traces:
        raise ValueError("plot_f0_contours needs at least one pair")
    width, height = F0_PANEL_INCHES
    fig = _figure((width, height * len(traces)))
    axes = fig.subplots(len(traces), 1, squeeze=False)[:, 0]
    for ax, trace in zip(axes, traces):
        ref = trace.reference
        seconds = (ref.start_frame + np.arange(ref.f0_hz.shape[0])) * ref.frame_period_ms / 1000.0
        warped = _warp_to_reference(trace.converted.f0_hz, trace.path, ref.f0_hz.shape[0])
        ax.plot(seconds, _unvoiced_as_nan(ref.f0_hz), color="black", linewidth=1.2, label="reference")
        ax.plot(seconds, _unvoiced_as_nan(warped), color="tab:orange", linewidth=1.2,
                label="converted (DTW-aligned)")
        ax.set_title(trace.name, fontsize="medium")
        ax.set_ylabel("F0 (Hz)")
        ax.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("reference time (s)")
    return _save(fig, path)


def plot_spectrograms(mels: Sequence[np.ndarray], titles: Sequence[str], sample_rate: int,
                      path: str | os.PathLike) -> Path:
    """Log-mel panels side by side on one colour scale (source | converted | target)."""
    from voicegen.audio.features import get_preset
    from voicegen.audio.plot import mels_figure
    from voicegen.eval.spectral import MEL_PRESET_BY_RATE

    config = get_preset(MEL_PRESET_BY_RATE[sample_rate])
    return _save(mels_figure(list(mels), list(titles), config), path)


def _warp_to_reference(f0_x: np.ndarray, path: tuple[np.ndarray, np.ndarray], length: int) -> np.ndarray:
    """For each reference frame, the converted F0 of the first path pair that reaches it."""
    warped = np.zeros(length, dtype=np.float64)
    path_x, path_y = path
    first = np.unique(path_y, return_index=True)[1]
    warped[path_y[first]] = f0_x[path_x[first]]
    return warped


def _unvoiced_as_nan(f0_hz: np.ndarray) -> np.ndarray:
    return np.where(f0_hz > 0, f0_hz, np.nan)


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
