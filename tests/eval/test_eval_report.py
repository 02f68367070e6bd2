"""Report files: summary statistics skip undefined values; the CSV round-trips."""

from __future__ import annotations

import json
import math

import pytest

from voicegen.eval.report import read_csv, summarise, write_csv, write_summary


def test_summary_ignores_undefined_values() -> None:
    rows = [{"name": "a", "mcd_db": 4.0, "f0_corr": math.nan},
            {"name": "b", "mcd_db": 6.0, "f0_corr": 0.5},
            {"name": "c", "mcd_db": 8.0, "f0_corr": None}]
    stats = summarise(rows)
    assert stats["mcd_db"] == {"mean": 6.0, "std": pytest.approx(math.sqrt(8 / 3)), "median": 6.0,
                               "min": 4.0, "max": 8.0, "count": 3}
    assert stats["f0_corr"]["count"] == 1 and stats["f0_corr"]["mean"] == 0.5
    assert "name" not in stats and "lsd_db" not in stats


def test_csv_and_json_files(tmp_path) -> None:
    rows = [{"name": "a", "mcd_db": 4.123456789, "f0_corr": math.nan, "voiced_pairs": 3}]
    write_csv(rows, tmp_path / "per_file.csv")
    assert read_csv(tmp_path / "per_file.csv") == [
        {"name": "a", "mcd_db": "4.12346", "f0_corr": "", "voiced_pairs": "3"}]
    write_summary({"metrics": summarise(rows), "x": math.inf}, tmp_path / "summary.json")
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["x"] is None and data["metrics"]["f0_corr"]["count"] == 0
    with pytest.raises(ValueError, match="columns that COLUMNS does not describe: \\['bogus'\\]"):
        write_csv([{"name": "a", "bogus": 1}], tmp_path / "bad.csv")
