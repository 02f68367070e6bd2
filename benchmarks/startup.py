"""Start-up time of the command line: how long a newcomer waits for --help, an error, a listing.

    python benchmarks/startup.py [--repeats 5]

Each command runs in a fresh process (``python -m voicegen ...``), as a user types it; the best of
``--repeats`` runs is kept (the least disturbed by other load). The baseline, measured in the same
run, is the interpreter alone (``python -c pass``), so the ratio says what voicegen adds. For scale,
``python -c "import torch"`` is timed too: the cost every command that computes pays, and that
--help and argument errors must not pay (tests/test_cli_fast.py checks they do not import torch).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SF1 = REPO / "samples" / "audio" / "SF1_200001.wav"

CASES = [
    ("python -c pass (baseline)", ["-c", "pass"]),
    ("voicegen --help", ["-m", "voicegen", "--help"]),
    ("voicegen convert --help", ["-m", "voicegen", "convert", "--help"]),
    ("voicegen info missing.wav (error)", ["-m", "voicegen", "info", "missing.wav"]),
    ("voicegen convert --src missing.wav (error)", ["-m", "voicegen", "convert", "--src", "missing.wav",
                                                    "--target", "TM1"]),
    ("voicegen convert --target XX (error)", ["-m", "voicegen", "convert", "--src", str(SF1), "--target", "XX"]),
    ("voicegen models", ["-m", "voicegen", "models"]),
    ("python -c 'import torch' (for scale)", ["-c", "import torch"]),
]


def best_wall(args: list[str], repeats: int, cwd: Path, env: dict[str, str]) -> float:
    """Fastest wall-clock seconds of ``repeats`` fresh ``python args`` processes (after one warm-up
    run that fills the file cache)."""
    best = float("inf")
    for i in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        if i:
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="Runs per command (the best is kept).")
    options = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        times = [(name, best_wall(args, options.repeats, Path(tmp), env)) for name, args in CASES]
    baseline = times[0][1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"start-up, best of {options.repeats} fresh processes ({os.cpu_count()} cores, load {load:.1f}):")
    for name, seconds in times:
        print(f"  {name:<44} {seconds * 1000:7.0f} ms  {seconds / baseline:6.1f}x python -c pass")


if __name__ == "__main__":
    main()
