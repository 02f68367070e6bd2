"""Batch engine throughput with --jobs 1 and --jobs 2 on the same clips, and its per-file overhead.

    python benchmarks/batch.py [--kind convert|vocode|features] [--clips 96] [--source DIR]

Input: ``--clips`` clips copied from ``--source`` (default ../shared/data/vcc2016/SF1, else
samples/audio, cycled) into a temporary folder. The per-file function is the shipped default
bundle's (convert: SF1 -> TM1; vocode: its vocoder, copy-synthesis; features: vc16k log-mels).

Measured in one run, each worker on one torch thread:
* direct loop: the per-file function called in a plain loop (model already loaded, after a warm-up
  file) - the baseline;
* engine, --jobs 1: ``run_batch`` in this process with the same loaded function (planning,
  header probes, manifest records, an fsync per outcome, warnings capture);
* engine, --jobs 2: two spawned worker processes, each loading the model once.
Throughput is given over the whole run (worker start included) and at full occupancy (from the
moment every worker finished its first file to the last file, from the manifest's timestamps);
CPU seconds per file are the workers' own (equal for both settings when the work parallelises
cleanly). Other processes on the machine (e.g. trainings) lower the --jobs 2 ratio; the load
average is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from voicegen.audio.io import is_audio_file
from voicegen.infer.batch.engine import run_batch
from voicegen.infer.batch.inputs import expand_inputs
from voicegen.infer.batch.manifest import MANIFEST_NAME, read_records
from voicegen.infer.batch.workers import CONVERT, FEATURES, VOCODE, WorkerSpec, build_worker
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path
from voicegen.infer.options import ConvertOptions, FeaturesOptions, VocodeOptions

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "vcc2016" / "SF1"
FALLBACK_SOURCE = REPO / "samples" / "audio"
BUNDLE = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"
GOAL_RATIO = 1.7


def make_spec(kind: str) -> WorkerSpec:
    if kind == CONVERT:
        return WorkerSpec(ConvertOptions(source="SF1", target="TM1", pitch="none"), model=str(BUNDLE))
    if kind == VOCODE:
        return WorkerSpec(VocodeOptions(), model=str(vocoder_path(BUNDLE)))
    return WorkerSpec(FeaturesOptions())


def copy_clips(source: Path, count: int, dest: Path) -> None:
    clips = sorted(p for p in source.rglob("*") if p.is_file() and is_audio_file(p))
    if not clips:
        raise SystemExit(f"{source}: no audio clips")
    for i in range(count):
        clip = clips[i % len(clips)]
        shutil.copy(clip, dest / f"{i:03d}_{clip.name}")


def done_records(out: Path) -> list[dict]:
    return [r for r in read_records(out / MANIFEST_NAME) if r["status"] == "done"]


def full_occupancy_rate(records: list[dict], workers: int) -> float | None:
    """Files per second from the time every worker had finished one file to the last file."""
    times = sorted(r["time"] for r in records)
    if len(times) <= workers or times[-1] <= times[workers - 1]:
        return None
    return (len(times) - workers) / (times[-1] - times[workers - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=[CONVERT, VOCODE, FEATURES], default=CONVERT)
    parser.add_argument("--clips", type=int, default=96,
                        help="Clips to process (96: ~6 min of speech, long enough that worker start-up does not dominate).")
    parser.add_argument("--repeats", type=int, default=2, help="Runs of each setting; the fastest is kept.")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE if DEFAULT_SOURCE.is_dir() else FALLBACK_SOURCE)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # each worker: one thread (inherited by the worker processes)
    torch.set_num_threads(1)
    spec = make_spec(args.kind)

    def quiet(line: str, is_error: bool) -> None:
        if is_error:
            print(line)

    rows: dict[str, tuple[float, float, float | None, float]] = {}  # wall, audio s, full-occupancy files/s, CPU s
    engine_own = []
    with tempfile.TemporaryDirectory(prefix="voicegen-batch-bench-") as temp:
        root = Path(temp)
        (root / "in").mkdir()
        copy_clips(args.source, args.clips, root / "in")
        jobs = expand_inputs(root / "in", root / "direct", suffix=spec.output_suffix, accept=spec.accepts)
        worker = build_worker(spec)
        warm = jobs[0]
        worker.process(warm.src, root / "warm" / warm.rel, warm.rel)
        for repeat in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            audio = sum(worker.process(job.src, job.dest(root / f"direct{repeat}"), job.rel) for job in jobs)
            wall = time.perf_counter() - start
            row = (wall, audio, len(jobs) / wall, time.process_time() - cpu)
            rows["direct loop"] = min(rows.get("direct loop", row), row, key=lambda r: r[0])
            for jobs_n in (1, 2):
                out = root / f"jobs{jobs_n}_{repeat}"
                summary = run_batch(jobs, spec, out_dir=out, jobs_n=jobs_n, progress=False, echo=quiet,
                                    worker=worker if jobs_n == 1 else None)
                assert summary.done == len(jobs), summary.line()
                records = done_records(out)
                row = (summary.wall_seconds, summary.audio_seconds, full_occupancy_rate(records, jobs_n),
                       sum(r["cpu_seconds"] for r in records))
                name = f"engine --jobs {jobs_n}"
                rows[name] = min(rows.get(name, row), row, key=lambda r: r[0])
                if jobs_n == 1:
                    engine_own.append((summary.wall_seconds - sum(r["wall_seconds"] for r in records)) / len(jobs))
    n = len(jobs)
    print(f"{n} clips ({audio:.1f} s of audio) from {args.source}, kind {args.kind}, 1 torch thread per worker, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end, best of {args.repeats}")
    print(f"{'':18s} {'wall s':>8s} {'files/s':>8s} {'audio-s/s':>10s} {'files/s full occupancy':>23s} "
          f"{'CPU s/file':>11s}")
    for name, (wall, seconds, steady, cpu) in rows.items():
        steady_text = f"{steady:.2f}" if steady is not None else "-"
        print(f"{name:18s} {wall:8.2f} {n / wall:8.2f} {seconds / wall:10.1f} {steady_text:>23s} {cpu / n:11.3f}")
    one, two = rows["engine --jobs 1"], rows["engine --jobs 2"]
    ratio_steady = two[2] / one[2] if one[2] and two[2] else float("nan")
    print(f"--jobs 2 / --jobs 1 throughput: {one[0] / two[0]:.2f}x over the whole run (worker start included), "
          f"{ratio_steady:.2f}x at full occupancy (goal >= {GOAL_RATIO})")
    direct = rows["direct loop"][0]
    print(f"engine overhead per file (--jobs 1, same process): {1000 * min(engine_own):.1f} ms outside the "
          f"per-file function (planning, header probes, manifest claim + fsync'd outcome); wall vs the direct loop "
          f"{1000 * (one[0] - direct) / n:+.1f} ms of {1000 * direct / n:.0f} ms per file")


if __name__ == "__main__":
    main()
