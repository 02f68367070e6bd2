"""Print the last validation figures of training runs (the ``val/...`` entries of metrics.jsonl).

    python recipes/utils/val_metrics.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def last_validation(run_dir: Path) -> dict:
    """The last metrics.jsonl line holding ``val/`` entries (step included); {} when there is none."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; train the model first (stage 3)")
    last: dict = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if any(key.startswith("val/") for key in entry):
            last = entry
    return last


def main(run_dirs: list[str]) -> None:
    for run_dir in run_dirs:
        entry = last_validation(Path(run_dir))
        values = "  ".join(f"{k} {v:.4g}" for k, v in entry.items() if k.startswith("val/"))
        print(f"{run_dir}: step {entry.get('step', '-')}  {values or 'no validation logged'}")


if __name__ == "__main__":
    main(sys.argv[1:])
