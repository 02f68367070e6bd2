"""Print one line per system from the `voicegen eval` reports under a folder (stage 5 of the recipes).

    python recipes/utils/eval_table.py EVAL_DIR [--out table.txt]

EVAL_DIR holds one report folder per system (each with summary.json); columns are the means of
MCD (dB), log-F0 RMSE (cents), gross pitch error, speaker similarity, DNSMOS OVRL (naturalness)
and, for copy-synthesis reports, PESQ and STOI (nan where a metric was not computed). The last
line gives the DNSMOS of the reference recordings themselves (the ceiling).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

COLUMNS = (("mcd_db", "MCD dB", 8, ".2f"), ("f0_rmse_cents", "F0 RMSE cents", 14, ".0f"),
           ("gpe", "GPE", 6, ".3f"), ("speaker_similarity", "spk sim", 8, ".3f"),
           ("dnsmos_ovrl", "DNSMOS", 7, ".2f"), ("pesq_wb", "PESQ", 6, ".2f"), ("stoi", "STOI", 6, ".3f"))


def table(eval_dir: Path) -> str:
    """The summary table of every ``*/summary.json`` under ``eval_dir``, sorted by system name."""
    reports = sorted(p for p in eval_dir.iterdir() if (p / "summary.json").is_file())
    if not reports:
        raise SystemExit(f"error: no */summary.json under {eval_dir}; run `voicegen eval` first")
    lines = [f"{'system':24s} " + " ".join(f"{title:>{width}s}" for _, title, width, _ in COLUMNS)]
    references = []
    for report in reports:
        metrics = json.loads((report / "summary.json").read_text(encoding="utf-8"))["metrics"]
        reference = metrics.get("reference_dnsmos_ovrl") or {}
        if reference.get("count"):
            references.append(reference["mean"])
        cells = []
        for key, _, width, fmt in COLUMNS:
            stats = metrics.get(key) or {}
            value = stats.get("mean") if stats.get("count", 0) else None
            cells.append(f"{(math.nan if value is None else value):{width}{fmt}}")
        lines.append(f"{report.name:24s} " + " ".join(cells))
    if references:
        lines.append(f"(DNSMOS OVRL of the reference recordings: {max(references):.2f})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    text = table(args.eval_dir)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
