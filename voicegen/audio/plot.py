"""Mel spectrogram pictures: time in seconds, frequency ticks in Hz, colour bar in dB.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly, never pyplot, so
no global figure state or GUI backend is involved. ``mel_figure`` / ``mels_figure`` return the
Figure (tests inspect its axes); ``plot_mel`` / ``plot_mels_side_by_side`` save a PNG atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from voicegen.audio.features import FeatureConfig, hz_to_mel
from voicegen.audio.writer import atomic_output

# Candidate frequency ticks; those inside [fmin, fmax] are drawn.
FREQUENCY_TICKS_HZ = (0, 250, 500, 1000, 2000, 4000, 8000, 16000)
# Lower end of the colour scale: this many dB below the loudest value shown.
DYNAMIC_RANGE_DB = 80.0
PANEL_SIZE_INCHES = (6.0, 3.2)
DPI = 100
COLORMAP = "magma"


def mel_figure(
    mel: np.ndarray, config: FeatureConfig, title: str | None = None, *, db: bool = True
) -> Figure:
    """A one-panel Figure of a log-mel ``(n_mels, frames)`` made with ``config``.

    ``db=True`` converts the log-mel to decibels (for amplitude, 20 log10 |X|); ``db=False`` shows
    the values as they are (use it for normalised mels).
    """
    return mels_figure([mel], [title], config, db=db)


def mels_figure(
    mels: Sequence[np.ndarray], titles: Sequence[str | None], config: FeatureConfig, *, db: bool = True
) -> Figure:
    """Panels side by side on one shared colour scale (e.g. source | converted | target)."""
    if len(mels) == 0 or len(mels) != len(titles):
        raise ValueError(f"need one title per mel and at least one mel, got {len(mels)} mels and "
                         f"{len(titles)} titles")
    images = [_to_display(np.asarray(mel), config, db) for mel in mels]
    vmax = max(float(np.nanmax(image)) for image in images)
    vmin = min(float(np.nanmin(image)) for image in images)
    if db:
        vmin = max(vmin, vmax - DYNAMIC_RANGE_DB)
    width, height = PANEL_SIZE_INCHES
    fig = Figure(figsize=(width * len(images) + 1.0, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    (mel_lo, mel_hi), tick_positions, tick_labels = _mel_axis(config)
    for index, (ax, image, title) in enumerate(zip(axes, images, titles)):
        seconds = image.shape[1] * config.hop_length / config.sample_rate
        artist = ax.imshow(image, origin="lower", aspect="auto", cmap=COLORMAP, vmin=vmin, vmax=vmax,
                           extent=(0.0, seconds, mel_lo, mel_hi), interpolation="nearest")
        ax.set_xlabel("time (s)")
        ax.set_yticks(tick_positions, tick_labels)
        if index == 0:
            ax.set_ylabel("frequency (Hz)")
        if title:
            ax.set_title(title)
    fig.colorbar(artist, ax=list(axes), label="dB" if db else f"log-mel (log base {config.log_base})")
    return fig


def plot_mel(
    mel: np.ndarray,
    config: FeatureConfig,
    path: str | os.PathLike,
    title: str | None = None,
    *,
    overwrite: bool = False,
    db: bool = True,
) -> Path:
    """Save a PNG of one log-mel ``(n_mels, frames)``; refuses an existing file unless overwrite."""
    return _save(mel_figure(mel, config, title, db=db), path, overwrite)


def plot_mels_side_by_side(
    mels: Sequence[np.ndarray],
    titles: Sequence[str | None],
    config: FeatureConfig,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    db: bool = True,
) -> Path:
    """Save a PNG with one panel per mel on a shared colour scale (source/converted comparisons)."""
    return _save(mels_figure(mels, titles, config, db=db), path, overwrite)


def _save(fig: Figure, path: str | os.PathLike, overwrite: bool) -> Path:
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _to_display(mel: np.ndarray, config: FeatureConfig, db: bool) -> np.ndarray:
    """Check the shape and convert log-mel values to dB when asked."""
    if mel.ndim != 2 or mel.shape[0] != config.n_mels or mel.shape[1] == 0:
        raise ValueError(f"expected a mel shaped ({config.n_mels}, frames) for this config, got {mel.shape}")
    mel = mel.astype(np.float64)
    if not db:
        return mel
    log10_values = mel / math.log(10) if config.log_base == "e" else mel
    # The mel holds log(|X|^power): 20 log10 |X| = (20 / power) log10(|X|^power).
    return (20.0 / config.power) * log10_values


def _mel_axis(config: FeatureConfig) -> tuple[tuple[float, float], list[float], list[str]]:
    """The y extent in mel (fmin at the bottom edge, fmax at the top) and Hz ticks placed in mel.

    Like librosa's ``specshow(y_axis="mel")``, the ``n_mels`` rows are spread evenly over
    [mel(fmin), mel(fmax)], so the labelled edges are exact and rows sit within half a band of
    their filters' peaks.
    """
    mel_lo, mel_hi = (float(v) for v in hz_to_mel([config.fmin, config.fmax_hz], config.mel_scale))
    hz = [f for f in FREQUENCY_TICKS_HZ if config.fmin <= f <= config.fmax_hz]
    positions = [float(m) for m in hz_to_mel(hz, config.mel_scale)]
    return (mel_lo, mel_hi), positions, [str(f) for f in hz]
