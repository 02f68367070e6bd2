"""Evaluate a folder of converted files against references: the library side of ``voicegen eval``.

    report = evaluate_folders("converted/", "target/", "report/", source_dir="source/")
    report.summary["metrics"]["mcd_db"]["mean"]

Writes into ``out_dir``: ``per_file.csv``, ``summary.json``, ``mcd_hist.png``, ``f0_contours.png``
and ``spectrograms/<name>.png`` for the first ``num_plots`` pairs (source | converted | target).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voicegen import __version__
from voicegen.audio.io import load_audio
from voicegen.audio.stats import F0_MAX_HZ, F0_MIN_HZ
from voicegen.errors import ConfigError, VoicegenError
from voicegen.eval.analysis import WorldAnalyzer, WorldFeatures, compare
from voicegen.eval.f0 import FRAME_PERIOD_MS
from voicegen.eval.mcd import TRIM_DB
from voicegen.eval.naturalness import INSTALL_HINT as NATURALNESS_HINT
from voicegen.eval.naturalness import check_framings, dnsmos_available, dnsmos_scores
from voicegen.eval.pairing import FilePair, common_sample_rate, match_files
from voicegen.eval.plots import (
    F0Trace,
    plot_f0_contours,
    plot_mcd_histogram,
    plot_spectrograms,
)
from voicegen.eval.report import (
    COLUMNS,
    CSV_NAME,
    SUMMARY_FORMAT_VERSION,
    SUMMARY_NAME,
    summarise,
    write_csv,
    write_summary,
)
from voicegen.eval.speaker import SpeakerEncoder, cosine_similarity, resemblyzer_problem
from voicegen.eval.spectral import copy_synthesis_metrics, optional_metrics_available
from voicegen.pathcheck import check_writable
from voicegen.progress import progress_bar

DEFAULT_NUM_PLOTS = 3
HISTOGRAM_NAME = "mcd_hist.png"
F0_PLOT_NAME = "f0_contours.png"
SPECTROGRAM_DIR = "spectrograms"
# Shortest file evaluated: one analysis frame of the mel presets (n_fft), 64 ms at 16 kHz.
MIN_SAMPLES = 1024


@dataclass
class EvalReport:
    """What :func:`evaluate_folders` computed and wrote."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    out_dir: Path | None
    files: list[Path] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    """One line per kind of file left out of the pairs (count and first names); empty when all paired."""


@dataclass
class _Plotted:
    """Kept for the first few pairs only, to draw them after the loop."""

    name: str
    converted: WorldFeatures
    reference: WorldFeatures
    path: tuple[np.ndarray, np.ndarray]
    wavs: dict[str, np.ndarray]


def evaluate_folders(
    converted_dir: str | os.PathLike,
    reference_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None,
    *,
    source_dir: str | os.PathLike | None = None,
    copy_synthesis: bool = False,
    speaker_similarity: bool | None = None,
    naturalness: bool | None = None,
    dnsmos_framings: int = 1,
    f0_method: str = "dio",
    num_plots: int = DEFAULT_NUM_PLOTS,
    overwrite: bool = False,
    progress: bool = True,
    strict: bool = False,
) -> EvalReport:
    """Pair the folders by name, compute every metric per pair, write the report into ``out_dir``.

    Args:
        converted_dir, reference_dir: folders paired by relative path without extension, or two
            files: one pair (a ``source_dir`` is then a file too).
        out_dir: the report folder; None computes and returns the figures without writing files.
        source_dir: the unconverted inputs; adds similarity-to-source and the no-conversion
            baseline columns (``source_*``: source against reference).
        copy_synthesis: the converted files are vocoder re-syntheses of the references, sample
            aligned: also compute LSD, mel L1, PESQ and STOI (:mod:`voicegen.eval.spectral`).
        speaker_similarity: True requires Resemblyzer, False skips it, None uses it when it
            imports (the summary says why it was skipped).
        naturalness: DNSMOS of the converted and reference files (:mod:`voicegen.eval.naturalness`):
            True requires speechmos, False skips it, None uses it when installed.
        dnsmos_framings: each DNSMOS score is the mean over this many framings of the clip (1: speechmos's
            single framing; 4 cuts the framing jitter of a file from 0.02-0.04 to 0.005-0.013, of a
            10-file mean from up to 0.017 to 0.001-0.009; see :mod:`voicegen.eval.naturalness`).
        f0_method: "dio" or "harvest" (:mod:`voicegen.eval.f0`).
        num_plots: pairs drawn in the F0 and spectrogram figures (0 draws only the histogram).
        overwrite: allow an ``out_dir`` that already holds files (they are replaced).
        strict: every file must pair (AudioError otherwise). Without it the pairs common to the
            folders are scored and the others are listed in ``summary["unmatched"]`` and
            ``EvalReport.unmatched``; only no common pair at all is an error.
    """
    out_dir = Path(out_dir) if out_dir is not None else None
    if num_plots < 0:
        raise ConfigError(f"num_plots must be >= 0, got {num_plots}")
    check_framings(dnsmos_framings)  # before any folder is read or model loaded
    check_report_folder(out_dir, overwrite)
    if out_dir is not None:
        check_writable(out_dir, what="report folder")
    matching = match_files(converted_dir, reference_dir, source_dir, strict=strict)
    pairs = matching.pairs
    sample_rate = common_sample_rate(pairs)
    analyzer = WorldAnalyzer(sample_rate, f0_method=f0_method)
    encoder, speaker_note = _speaker_encoder(speaker_similarity)
    dnsmos, dnsmos_note = _naturalness(naturalness)
    if dnsmos and dnsmos_framings > 1:
        dnsmos_note += f", each score the mean over {dnsmos_framings} framings"

    rows: list[dict[str, Any]] = []
    plotted: list[_Plotted] = []
    for pair in progress_bar(pairs, desc="evaluating", unit="pair", enabled=progress):
        row, keep = _evaluate_pair(pair, sample_rate, analyzer, encoder, copy_synthesis,
                                   dnsmos_framings if dnsmos else 0)
        rows.append(row)
        if out_dir is not None and len(plotted) < num_plots:
            plotted.append(keep)

    summary = {
        "format_version": SUMMARY_FORMAT_VERSION,
        "voicegen_version": __version__,
        "num_pairs": len(rows),
        "num_unmatched": matching.num_unmatched,
        "unmatched": {problem: {"count": len(names), "names": names}
                      for problem, names in matching.unmatched.items()},
        "sample_rate": sample_rate,
        "folders": {"converted": str(converted_dir), "reference": str(reference_dir),
                    "source": None if source_dir is None else str(source_dir)},
        "settings": {
            "mcep_order": analyzer.settings.order, "mcep_alpha": analyzer.settings.alpha,
            "fft_size": analyzer.fft_size, "frame_period_ms": FRAME_PERIOD_MS,
            "f0_method": f0_method, "f0_range_hz": [F0_MIN_HZ, F0_MAX_HZ], "trim_db": TRIM_DB,
            "speaker_similarity": speaker_note, "naturalness": dnsmos_note, "dnsmos_framings": dnsmos_framings,
            "copy_synthesis": copy_synthesis,
        },
        "metrics": summarise(rows),
        "definitions": {column: text for column, text in COLUMNS.items()
                        if any(column in row for row in rows)},
    }
    if copy_synthesis:
        summary["settings"]["copy_synthesis_packages"] = optional_metrics_available()

    if out_dir is None:
        return EvalReport(rows=rows, summary=summary, out_dir=None, unmatched=matching.describe())
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [write_csv(rows, out_dir / CSV_NAME), write_summary(summary, out_dir / SUMMARY_NAME)]
    files += _draw(rows, plotted, sample_rate, out_dir)
    return EvalReport(rows=rows, summary=summary, out_dir=out_dir, files=files, unmatched=matching.describe())


def check_report_folder(out_dir: Path | None, overwrite: bool) -> None:
    """VoicegenError when ``out_dir`` is a file, or holds files and ``overwrite`` is not set."""
    if out_dir is None:
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise VoicegenError(f"{out_dir}: is a file; --out must be a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise VoicegenError(f"{out_dir}: already holds files; pass --overwrite to replace the report")


def _evaluate_pair(pair: FilePair, sample_rate: int, analyzer: WorldAnalyzer, encoder: SpeakerEncoder | None,
                   copy_synthesis: bool, dnsmos_framings: int) -> tuple[dict[str, Any], _Plotted]:
    """One pair's row; ``dnsmos_framings`` 0 skips DNSMOS."""
    converted_wav = load_audio(pair.converted, sample_rate, min_samples=MIN_SAMPLES)
    reference_wav = load_audio(pair.reference, sample_rate, min_samples=MIN_SAMPLES)
    converted, reference = analyzer(converted_wav), analyzer(reference_wav)
    result = compare(converted, reference)
    row: dict[str, Any] = {
        "name": pair.name, "converted": str(pair.converted), "reference": str(pair.reference),
        "seconds": converted.seconds, "reference_seconds": reference.seconds,
        "mcd_db": result.mcd_db, "f0_rmse_cents": result.f0.f0_rmse_cents, "gpe": result.f0.gpe,
        "f0_corr": result.f0.f0_corr, "vuv_error": result.f0.vuv_error,
        "voiced_pairs": result.f0.voiced_pairs, "duration_ratio": result.duration_ratio,
    }
    wavs = {"converted": converted_wav, "target": reference_wav}
    embeddings: dict[str, np.ndarray] = {}
    if encoder is not None:
        embeddings = {"converted": encoder.embed(converted_wav, sample_rate),
                      "reference": encoder.embed(reference_wav, sample_rate)}
        row["speaker_similarity"] = cosine_similarity(embeddings["converted"], embeddings["reference"])
    if dnsmos_framings:
        row.update(dnsmos_scores(converted_wav, sample_rate, dnsmos_framings))
        row["reference_dnsmos_ovrl"] = dnsmos_scores(reference_wav, sample_rate, dnsmos_framings)["dnsmos_ovrl"]
    if pair.source is not None:
        source_wav = load_audio(pair.source, sample_rate, min_samples=MIN_SAMPLES)
        wavs = {"source": source_wav, **wavs}
        baseline = compare(analyzer(source_wav), reference)
        row["source"] = str(pair.source)
        row["source_mcd_db"] = baseline.mcd_db
        row["source_f0_rmse_cents"] = baseline.f0.f0_rmse_cents
        row["source_gpe"] = baseline.f0.gpe
        if encoder is not None:
            source_embedding = encoder.embed(source_wav, sample_rate)
            row["speaker_similarity_to_source"] = cosine_similarity(embeddings["converted"], source_embedding)
            row["source_speaker_similarity"] = cosine_similarity(source_embedding, embeddings["reference"])
    if copy_synthesis:
        metrics = copy_synthesis_metrics(converted_wav, reference_wav, sample_rate)
        row.update(lsd_db=metrics.lsd_db, mel_l1=metrics.mel_l1, pesq_wb=metrics.pesq_wb, stoi=metrics.stoi)
    keep = _Plotted(name=pair.name, converted=converted, reference=reference, path=result.path, wavs=wavs)
    return row, keep


def _naturalness(wanted: bool | None) -> tuple[bool, str]:
    """Whether to score DNSMOS, and a note for the summary."""
    if wanted is False:
        return False, "skipped: turned off"
    if not dnsmos_available():
        if wanted:
            raise ConfigError(f"DNSMOS needs speechmos: {NATURALNESS_HINT}")
        return False, f"skipped: speechmos is not installed ({NATURALNESS_HINT})"
    from importlib.metadata import version

    return True, f"DNSMOS P.835/P.808 from speechmos {version('speechmos')}"


def _speaker_encoder(wanted: bool | None) -> tuple[SpeakerEncoder | None, str]:
    """The encoder (or None) and a note for the summary."""
    if wanted is False:
        return None, "skipped: turned off"
    problem = resemblyzer_problem()
    if problem is not None:
        if wanted:
            raise ConfigError(problem)
        return None, f"skipped: {problem}"
    from importlib.metadata import version

    return SpeakerEncoder(), f"resemblyzer {version('resemblyzer')} voice encoder, cosine"


def _draw(rows: list[dict[str, Any]], plotted: list[_Plotted], sample_rate: int, out_dir: Path) -> list[Path]:
    from voicegen.audio.features import compute_mel, get_preset
    from voicegen.eval.spectral import MEL_PRESET_BY_RATE

    baseline = [row["source_mcd_db"] for row in rows] if rows and "source_mcd_db" in rows[0] else None
    files = [plot_mcd_histogram([row["mcd_db"] for row in rows], out_dir / HISTOGRAM_NAME, baseline)]
    if not plotted:
        return files
    traces = [F0Trace(item.name, item.converted, item.reference, item.path) for item in plotted]
    files.append(plot_f0_contours(traces, out_dir / F0_PLOT_NAME))
    config = get_preset(MEL_PRESET_BY_RATE[sample_rate])
    for item in plotted:
        mels = [compute_mel(wav, config) for wav in item.wavs.values()]
        titles = [f"{role}: {item.name}" for role in item.wavs]
        target = out_dir / SPECTROGRAM_DIR / f"{item.name.replace('/', '__')}.png"
        files.append(plot_spectrograms(mels, titles, sample_rate, target))
    return files
