"""Cold start: what a user waits for when one clip is converted from the shell.

    python benchmarks/cold_start.py [--repeats 3] [--threads 1]

Every call is a fresh process (``python -m voicegen ...``, the command a user types) with
``OMP_NUM_THREADS`` = ``--threads``; after one warm-up call (the file cache) the best and the median
of ``--repeats`` calls are kept, with the peak resident memory (VmHWM) of the process. Cases:
``convert`` of 10 s and 60 s of real SF1 speech (the bundled clips repeated) and ``vocode`` of
10 s, each with ``--runtime onnx`` (torch-free; what ``auto`` picks for the shipped models) and
``--runtime torch`` (the baseline, measured in the same run), so the ratio says what the ONNX path
saves. Goals (issue "cold start"): convert 10 s <= 1.0 s, 60 s <= 2.5 s, vocode 10 s <= 0.8 s, peak
memory of the 10 s convert <= 250 MB.

Then, for the ONNX path, a breakdown in one fresh process (imports, model load, compute, write) and
the compute floor: the networks' multiply-adds per audio second (counted with torch's FLOP counter
on the same 10 s input) divided by the multiply-add rate of a single-thread float32 matmul measured
here (numpy, 1024 x 1024): the least compute time the models need on this CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from convert import speech  # benchmarks/convert.py: the bundled SF1 clips repeated to a length

REPO = Path(__file__).resolve().parent.parent
BUNDLE = "vcc2016_sf1_tm1"
GOALS = {"convert 10 s": 1.0, "convert 60 s": 2.5, "vocode 10 s": 0.8}
GOAL_MEMORY_MB = 250

# Run the CLI as a user does and report the process's own peak memory (VmHWM) on stderr at exit.
RUNNER = """
import sys
from voicegen.cli import main
sys.argv = ["voicegen"] + sys.argv[1:]
try:
    main()
except SystemExit as done:
    code = done.code
else:
    code = 0
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(f"VMHWM_KB {hwm}", file=sys.stderr)
sys.exit(code)
"""

BREAKDOWN = """
import json, sys, time
t0 = time.perf_counter()
import numpy, soundfile, onnxruntime, pyworld  # noqa: F401  (what the ONNX path imports)
from voicegen.infer.convert import Converter
from voicegen.infer.bundles import PACKAGE_MODELS_DIR
from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
t1 = time.perf_counter()
conv = Converter(PACKAGE_MODELS_DIR / sys.argv[1], "cpu", runtime="onnx")
t2 = time.perf_counter()
wav = load_audio(sys.argv[2], conv.sample_rate)
t3 = time.perf_counter()
out, _, _ = conv.convert_wav(wav, "SF1", "TM1")
t4 = time.perf_counter()
save_audio(sys.argv[3], out, conv.sample_rate, overwrite=True)
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "model load": t2 - t1, "read": t3 - t2, "compute": t4 - t3,
                  "write": t5 - t4, "torch imported": "torch" in sys.modules}))
"""

MATMUL = """
import time, numpy as np
a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
a @ a
best = min((lambda t: (a @ a, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
print(1024 ** 3 / best)
"""


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak MB of one fresh ``voicegen ARGS`` process."""
    import time

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"voicegen {' '.join(args)} failed:\n{done.stderr}")
    kb = [line for line in done.stderr.splitlines() if line.startswith("VMHWM_KB")][-1].split()[1]
    return wall, int(kb) / 1024


def measure(args: list[str], repeats: int, env: dict[str, str], cwd: Path) -> dict:
    run(args, env, cwd)  # warm-up: the file cache
    walls, peaks = zip(*(run(args, env, cwd) for _ in range(repeats)))
    return {"best": min(walls), "median": statistics.median(walls), "peak_mb": max(peaks)}


def compute_floor(clip: Path, env: dict[str, str]) -> dict:
    """Multiply-adds per audio second of the converter and the vocoder (torch's FLOP counter over
    the 10 s input) and the single-thread matmul rate; the floor (one thread) is their ratio."""
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from voicegen.audio.f0 import f0_rows
    from voicegen.audio.io import load_audio
    from voicegen.audio.logmel import log_mel
    from voicegen.infer.bundles import PACKAGE_MODELS_DIR
    from voicegen.infer.convert import Converter
    from voicegen.infer.vocode import PhaseRows

    conv = Converter(PACKAGE_MODELS_DIR / BUNDLE, "cpu", runtime="torch")
    wav = load_audio(clip, conv.sample_rate)
    seconds = len(wav) / conv.sample_rate
    mel = log_mel(wav, conv.feature_config)
    rows = f0_rows(wav, conv.sample_rate, conv.feature_config.hop_length, conv.vocoder.f0_config)
    phase_rows = PhaseRows(mel.shape[0], conv.sample_rate, conv.feature_config.hop_length)
    vocoder_in = torch.from_numpy(phase_rows.push(np.concatenate([mel, rows])))[None]
    counts = {}
    for name, module, x in (("converter", conv.bundle.generator("SF1", "TM1"), torch.from_numpy(mel)[None]),
                            ("vocoder", conv.vocoder.generator, vocoder_in)):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(x)
        counts[name] = counter.get_total_flops() / 2 / seconds  # multiply-adds per audio second
    done = subprocess.run([sys.executable, "-c", MATMUL], env={**env, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, check=True)
    macs_per_second = float(done.stdout)  # one thread
    return {"macs_per_audio_second": counts, "matmul_macs_per_second": macs_per_second,
            "floor_rtf": {name: count / macs_per_second for name, count in counts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="Calls per case after a warm-up [default: 3].")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every call [default: 1].")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures to this JSON file.")
    options = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(options.threads),
           "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    results: dict = {"threads": options.threads, "repeats": options.repeats, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = {10: speech(10, tmp / "sf1_10s.wav"), 60: speech(60, tmp / "sf1_60s.wav")}
        for runtime in ("onnx", "torch"):
            for label, args in (
                    ("convert 10 s", ["convert", "--src", str(clips[10]), "--target", "TM1", "--out", "c10.wav"]),
                    ("convert 60 s", ["convert", "--src", str(clips[60]), "--target", "TM1", "--out", "c60.wav"]),
                    ("vocode 10 s", ["vocode", str(clips[10]), "v10.wav"])):
                figures = measure(args + ["--overwrite", "--device", "cpu", "--runtime", runtime],
                                  options.repeats, env, tmp)
                results["cases"][f"{label} ({runtime})"] = figures
        done = subprocess.run([sys.executable, "-c", BREAKDOWN, BUNDLE, str(clips[10]), str(tmp / "b.wav")],
                              env=env, capture_output=True, text=True, check=True)
        results["breakdown_10s_onnx"] = json.loads(done.stdout)
        results["floor"] = compute_floor(clips[10], env)
    load = os.getloadavg()[0]
    print(f"cold start, fresh processes, OMP_NUM_THREADS={options.threads}, best / median of "
          f"{options.repeats} after a warm-up ({os.cpu_count()} cores, load {load:.1f}):")
    print(f"{'case':<28} {'best s':>7} {'median s':>9} {'peak MB':>8} {'goal':>8} {'vs torch':>9}")
    for name, figures in results["cases"].items():
        label, runtime = name.rsplit(" (", 1)
        goal = f"<= {GOALS[label]:g} s" if runtime == "onnx)" else ""
        torch_best = results["cases"][f"{label} (torch)"]["best"]
        ratio = f"{torch_best / figures['best']:.1f}x" if runtime == "onnx)" else ""
        print(f"{name:<28} {figures['best']:7.2f} {figures['median']:9.2f} {figures['peak_mb']:8.0f} "
              f"{goal:>8} {ratio:>9}")
    breakdown = results["breakdown_10s_onnx"]
    print("ONNX path, 10 s convert in one process: " + ", ".join(
        f"{key} {value:.3f} s" for key, value in breakdown.items() if key != "torch imported")
        + f" (torch imported: {breakdown['torch imported']})")
    floor = results["floor"]
    print(f"compute floor: single-thread float32 matmul {floor['matmul_macs_per_second'] / 1e9:.1f} G multiply-adds/s; "
          + ", ".join(f"{name} {floor['macs_per_audio_second'][name] / 1e9:.2f} G/audio s = RTF {rtf:.4f}"
                      for name, rtf in floor["floor_rtf"].items()))
    print(f"goal: peak memory of the 10 s convert <= {GOAL_MEMORY_MB} MB")
    if options.json is not None:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
