"""Write evaluation results: a per-file CSV and a summary JSON (plots are in :mod:`.plots`).

``per_file.csv`` has one row per pair, in the column order of :data:`COLUMNS` (only the columns
that were computed); empty cells mean "not defined for this pair" (e.g. no frame voiced in both).
``summary.json`` holds, per metric, the mean/std/median/min/max over the pairs where it is
defined and that count, plus the settings and the definitions, so a number can be traced back.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.fileutil import atomic_write_text

SUMMARY_FORMAT_VERSION = 1
CSV_NAME = "per_file.csv"
SUMMARY_NAME = "summary.json"

# Every column a row can have, in the order they are written; descriptions go into the summary.
COLUMNS: Mapping[str, str] = types.MappingProxyType({
    "name": "pairing name (path relative to the folder, without extension)",
    "converted": "converted file",
    "reference": "reference (target) file",
    "source": "source file",
    "seconds": "length of the converted file (s)",
    "reference_seconds": "length of the reference file (s)",
    "mcd_db": "mel-cepstral distortion after DTW, c1..cM, dB (voicegen.eval.mcd)",
    "f0_rmse_cents": "log-F0 RMSE over DTW pairs voiced in both, cents",
    "gpe": "gross pitch error: fraction of DTW pairs voiced in both whose F0 differ by > 20 %",
    "f0_corr": "Pearson correlation of log-F0 over DTW pairs voiced in both",
    "vuv_error": "fraction of DTW pairs whose voicing decisions differ",
    "voiced_pairs": "DTW pairs voiced in both files",
    "duration_ratio": "speech span of converted / speech span of reference (edges trimmed)",
    "speaker_similarity": "cosine of Resemblyzer embeddings, converted vs reference",
    "dnsmos_ovrl": "naturalness of the converted file: DNSMOS P.835 overall (1-5, no reference)",
    "dnsmos_sig": "DNSMOS P.835 speech signal quality of the converted file (1-5)",
    "dnsmos_bak": "DNSMOS P.835 background quality of the converted file (1-5)",
    "dnsmos_p808": "DNSMOS P.808 of the converted file (1-5)",
    "reference_dnsmos_ovrl": "DNSMOS P.835 overall of the reference recording (1-5)",
    "speaker_similarity_to_source": "cosine of Resemblyzer embeddings, converted vs source",
    "source_mcd_db": "no-conversion baseline: MCD of the source against the reference, dB",
    "source_f0_rmse_cents": "no-conversion baseline: log-F0 RMSE of source vs reference, cents",
    "source_gpe": "no-conversion baseline: gross pitch error of source vs reference",
    "source_speaker_similarity": "no-conversion baseline: cosine of source vs reference embeddings",
    "lsd_db": "copy synthesis: log-spectral distance, dB (sample-aligned)",
    "mel_l1": "copy synthesis: mean |log-mel difference| (natural log)",
    "pesq_wb": "copy synthesis: wide-band PESQ (MOS-LQO)",
    "stoi": "copy synthesis: STOI (0-1)",
})
TEXT_COLUMNS = ("name", "converted", "reference", "source")


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | int | None]]:
    """Per numeric column: mean, std (population), median, min, max over finite values, and count."""
    stats: dict[str, dict[str, float | int | None]] = {}
    for column in COLUMNS:
        if column in TEXT_COLUMNS or not any(column in row for row in rows):
            continue
        values = np.asarray([row[column] for row in rows if _is_finite(row.get(column))], dtype=np.float64)
        if values.size == 0:
            stats[column] = {"mean": None, "std": None, "median": None, "min": None, "max": None, "count": 0}
            continue
        stats[column] = {
            "mean": float(values.mean()), "std": float(values.std()), "median": float(np.median(values)),
            "min": float(values.min()), "max": float(values.max()), "count": int(values.size),
        }
    return stats


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write the rows with the known columns that occur in them; floats with 6 significant digits."""
    columns = [column for column in COLUMNS if any(column in row for row in rows)]
    unknown = sorted({key for row in rows for key in row} - set(COLUMNS))
    if unknown:
        raise ValueError(f"rows have columns that COLUMNS does not describe: {unknown}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return atomic_write_text(path, buffer.getvalue())


def write_summary(summary: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``summary`` as indented JSON (NaN becomes null), atomically."""
    text = json.dumps(_json_safe(summary), indent=2, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a ``per_file.csv`` as dicts of strings (for tests and scripts)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else f"{float(value):.6g}"
    return str(value)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value
