"""What users do with a spectrogram VAE: encode files, traverse latents, rank dimensions, audit datasets.

    vae = load_vae_bundle(path)
    z = encode_file(vae, "a.wav")                                   # (latent_channels, T) posterior mean
    traverse_file(vae, vocoder, "a.wav", dims=[0, 1], lo=-3, hi=3, steps=7, out_dir="trav/")
    rows = audit(vae, "corpus/", "audit/")                          # most atypical clip first

Traversal: the posterior mean of the file is computed once; for each chosen dimension and each of
``steps`` values evenly spaced in ``[lo, hi]``, that dimension is set to the value in every latent
frame while all others keep their encoded values (the latent perturbation of a single variable),
then decoded in one speaker's voice. Output: ``traverse.png`` (rows = dimensions, columns = values),
one vocoded ``dim<d>_<i>.wav`` per cell, and ``kl_rank.png`` (the file's KL per dimension, ranked).
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from voicegen.audio.f0 import LF0_ROW, VUV_ROW, affine_lf0, f0_rows, log_gaussian
from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.audio.plot import COLORMAP
from voicegen.audio.stats import list_audio_files
from voicegen.audio.writer import atomic_output, save_audio
from voicegen.errors import AudioError, ConfigError, VoicegenError
from voicegen.fileutil import atomic_write_text
from voicegen.infer.vae import VAEBundle
from voicegen.infer.vocode import Vocoder, clip_guard

AUDIT_CSV = "audit.csv"
AUDIT_PNG = "audit.png"
TRAVERSE_PNG = "traverse.png"
KL_RANK_PNG = "kl_rank.png"
# Clips named on the audit plot (the highest scores).
AUDIT_PLOT_TOP = 25
CELL_INCHES = (2.2, 1.6)
DPI = 100
MAX_TRAVERSE_STEPS = 64
"""Most values a traversal sweeps per dimension (each is one decode and one vocoded wav)."""
MAX_TRAVERSE_CELLS = 256
"""Most cells (dimensions x steps) of one traversal: bounds its time, figure size and wav count."""


def load_mel(vae: VAEBundle, path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(wav, log-mel)`` of an audio file at the VAE's mel contract."""
    fc = vae.feature_config
    wav = load_audio(path, fc.sample_rate, min_samples=fc.min_samples)
    return wav, compute_mel(wav, fc)


def encode_file(vae: VAEBundle, path: str | os.PathLike) -> np.ndarray:
    """Posterior mean ``(latent_channels, ceil(frames / stride))`` float32 of an audio file."""
    return vae.encode(load_mel(vae, path)[1]).mean.numpy().astype(np.float32)


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise AudioError(f"{out_dir}: is a file; pass a folder for --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise AudioError(f"{out_dir}: already exists and is not empty; pass --overwrite to write into it")


@dataclass(frozen=True)
class TraverseResult:
    grid: Path
    kl_rank: Path
    wavs: list[Path]
    speaker: str | None
    dims: list[int]
    values: list[float]


def traverse_file(vae: VAEBundle, vocoder: Vocoder | None, path: str | os.PathLike, *, dims: list[int],
                  lo: float, hi: float, steps: int, out_dir: str | os.PathLike, speaker: str | None = None,
                  overwrite: bool = False) -> TraverseResult:
    """Decode ``path`` with each of ``dims`` swept over ``steps`` values in ``[lo, hi]`` (see the module doc).

    ``speaker`` (speaker-conditioned models): the voice to decode with; default: the speaker that
    explains the file best. ``vocoder`` None writes no wavs.
    """
    out_dir = Path(out_dir)
    z_dim = vae.latent_channels
    bad = [d for d in dims if not 0 <= d < z_dim]
    if not dims or bad:
        raise ConfigError(f"--dims must name latent dimensions in 0..{z_dim - 1}; got {dims}")
    if steps < 2 or not math.isfinite(lo) or not math.isfinite(hi) or lo >= hi:
        raise ConfigError(f"need --steps >= 2 and a range lo < hi; got steps {steps}, range {lo} {hi}")
    if steps > MAX_TRAVERSE_STEPS or len(dims) * steps > MAX_TRAVERSE_CELLS:
        raise ConfigError(f"--steps {steps} over {len(dims)} dims is beyond the limits of {MAX_TRAVERSE_STEPS} steps "
                          f"and {MAX_TRAVERSE_CELLS} cells (dims x steps) of a traversal; use fewer steps or dims")
    if vocoder is not None:
        vocoder.check_contract(vae.feature_config)
    _check_out_dir(out_dir, overwrite)
    wav, mel = load_mel(vae, path)
    if speaker is None and vae.model.config.n_speakers:
        speaker = vae.score(mel).speaker
    rows = _f0_for(wav, vae, vocoder, speaker) if vocoder is not None and vocoder.needs_f0 else None
    z = vae.encode(mel).mean.numpy()
    values = [float(v) for v in np.linspace(lo, hi, steps)]
    frames = mel.shape[1]
    grid: list[list[np.ndarray]] = []
    wavs: list[Path] = []
    for d in dims:
        row = []
        for i, value in enumerate(values):
            z_edit = z.copy()
            z_edit[d, :] = value
            mel_hat = vae.decode(z_edit, speaker, frames)
            row.append(mel_hat)
            if vocoder is not None:
                wav = clip_guard(vocoder.wav_from_mel(mel_hat, rows), str(path))
                wavs.append(save_audio(out_dir / f"dim{d:02d}_{i}.wav", wav, vocoder.sample_rate, overwrite=True))
        grid.append(row)
    voice = f" in {speaker}'s voice" if speaker else ""
    grid_png = _save(_grid_figure(grid, dims, values, f"{Path(path).name}: latent traversal{voice}"),
                     out_dir / TRAVERSE_PNG)
    kl = vae.kl_per_dim(mel)
    rank_png = _save(kl_rank_figure(kl, f"{Path(path).name}: KL per latent dimension", highlight=dims),
                     out_dir / KL_RANK_PNG)
    return TraverseResult(grid=grid_png, kl_rank=rank_png, wavs=wavs, speaker=speaker, dims=list(dims),
                          values=values)


def _f0_for(wav: np.ndarray, vae: VAEBundle, vocoder: Vocoder, speaker: str | None) -> np.ndarray:
    """The file's F0 rows for a pitch-conditioned vocoder, moved (log-Gaussian, from the file's own
    log-F0 statistics) to ``speaker``'s when the VAE has them; the file's own F0 otherwise."""
    fc = vae.feature_config
    rows = f0_rows(wav, fc.sample_rate, fc.hop_length, vocoder.f0_config)
    target = vae.stats.get(speaker) if speaker is not None else None
    voiced = rows[LF0_ROW][rows[VUV_ROW] > 0.5].astype(np.float64)
    if target is None or target.log_f0_mean is None or not target.log_f0_std or voiced.size < 2 or not voiced.std():
        return rows
    return affine_lf0(rows, *log_gaussian(float(voiced.mean()), float(voiced.std()), target.log_f0_mean,
                                          target.log_f0_std))


def top_kl_dims(vae: VAEBundle, path: str | os.PathLike, count: int = 3) -> list[int]:
    """The ``count`` dimensions with the largest KL on this file (the ones that carry most information)."""
    kl = vae.kl_per_dim(load_mel(vae, path)[1])
    return [int(i) for i in np.argsort(-kl, kind="stable")[:count]]


def _grid_figure(grid: list[list[np.ndarray]], dims: list[int], values: list[float], title: str) -> Figure:
    rows, cols = len(grid), len(grid[0])
    fig = Figure(figsize=(CELL_INCHES[0] * cols, CELL_INCHES[1] * rows + 0.6), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    vmin = min(float(m.min()) for row in grid for m in row)
    vmax = max(float(m.max()) for row in grid for m in row)
    for r, row in enumerate(grid):
        for c, mel in enumerate(row):
            ax = axes[r][c]
            ax.imshow(mel, origin="lower", aspect="auto", cmap=COLORMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{values[c]:+.2f}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"z{dims[r]}", fontsize=9)
    fig.suptitle(title)
    return fig


def kl_rank_figure(kl: np.ndarray, title: str, highlight: list[int] | None = None) -> Figure:
    """Bar chart of the KL per latent dimension (nats per latent frame), largest first."""
    order = np.argsort(-kl, kind="stable")
    fig = Figure(figsize=(max(4.0, 0.35 * len(kl) + 1.5), 3.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    colours = ["tab:orange" if highlight and int(i) in highlight else "tab:blue" for i in order]
    ax.bar(range(len(kl)), kl[order], color=colours)
    ax.set_xticks(range(len(kl)), [f"z{int(i)}" for i in order], rotation=90, fontsize=8)
    ax.set_ylabel("KL (nats / latent frame)")
    ax.set_title(title)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, format="png")
    return path


@dataclass(frozen=True)
class AuditRow:
    """One clip's audit result; ``neg_elbo`` is inf for a clip that could not be read (``error``)."""

    path: Path
    neg_elbo: float
    rec: float
    kl: float
    speaker: str | None
    seconds: float
    error: str | None = None


def audit(vae: VAEBundle, folder: str | os.PathLike, out_dir: str | os.PathLike, *, overwrite: bool = False,
          on_file: Callable[[Path], None] | None = None) -> list[AuditRow]:
    """Score every audio file under ``folder`` and write ``audit.csv`` and ``audit.png`` to ``out_dir``.

    Rows are ranked by negative ELBO per frame, most atypical first; unreadable clips (score inf,
    with their error) rank first of all. ``on_file`` is called after each file (progress bars).
    """
    folder, out_dir = Path(folder), Path(out_dir)
    files = list_audio_files(folder)
    _check_out_dir(out_dir, overwrite)
    rows = []
    for path in files:
        try:
            wav, mel = load_mel(vae, path)
            s = vae.score(mel)
            rows.append(AuditRow(path, s.neg_elbo, s.rec, s.kl, s.speaker, len(wav) / vae.feature_config.sample_rate))
        except VoicegenError as err:
            rows.append(AuditRow(path, math.inf, math.nan, math.nan, None, math.nan, str(err)))
        if on_file is not None:
            on_file(path)
    rows.sort(key=lambda r: -r.neg_elbo)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "file", "neg_elbo_per_frame", "rec_per_frame", "kl_per_frame", "best_speaker",
                     "seconds", "error"])
    for rank, r in enumerate(rows, 1):
        writer.writerow([rank, r.path.relative_to(folder).as_posix(), f"{r.neg_elbo:.4f}", f"{r.rec:.4f}",
                         f"{r.kl:.4f}", r.speaker or "", f"{r.seconds:.2f}", r.error or ""])
    atomic_write_text(out_dir / AUDIT_CSV, buffer.getvalue())
    _save(_audit_figure(rows, folder), out_dir / AUDIT_PNG)
    return rows


def _audit_figure(rows: list[AuditRow], folder: Path) -> Figure:
    """Left: the top clips' scores (named); right: the histogram of all finite scores."""
    finite = np.array([r.neg_elbo for r in rows if math.isfinite(r.neg_elbo)])
    top = rows[:AUDIT_PLOT_TOP]
    fig = Figure(figsize=(11, max(3.0, 0.28 * len(top) + 1.2)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    cap = float(finite.max()) * 1.05 if finite.size else 1.0
    scores = [min(r.neg_elbo, cap) for r in top]
    colours = ["tab:red" if not math.isfinite(r.neg_elbo) else "tab:blue" for r in top]
    left.barh(range(len(top)), scores, color=colours)
    left.set_yticks(range(len(top)), [r.path.relative_to(folder).as_posix()[-40:] for r in top], fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("negative ELBO per frame (nats); red = unreadable")
    left.set_title(f"most atypical of {len(rows)} clips")
    if finite.size:
        right.hist(finite, bins=min(30, max(5, finite.size // 3)), color="tab:blue")
        if len(top):
            right.axvline(float(np.median(finite)), color="k", linestyle="--", label="median")
            right.legend()
    right.set_xlabel("negative ELBO per frame (nats)")
    right.set_ylabel("clips")
    return fig
