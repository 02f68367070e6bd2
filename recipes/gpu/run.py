"""One prepared run for a lent GPU machine: three trainings at once, their exports packed to bring back.

Made for the device tool's budget (15 minutes of device time a session, 10 a command, 64 MiB and 8 files
back): the three jobs below share one GPU, each sized to ``--minutes`` from the step rate it measures at its
start and stopped (SIGTERM: checkpoint, then exit) a minute after that at the latest; then each is exported (EMA
weights, fp16 safetensors + JSON) and packed as ``OUT/<job>.tar`` with its config, metrics and log; ``OUT/
summary.txt`` says what ran, on what, and how many steps each job made.

* ``vocoder_adv``: the shipped ``vocoder16k`` (source-filter design) fine-tuned with its adversarial phase on
  from the first step and the paper's discriminators (multi-period + multi-scale), what a CPU cannot afford
  (a CPU step of the paper discriminators costs many times the generator's);
* ``vocoder_long``: the shipped ``vocoder16k`` fine-tuned with spectral losses only, batch 32: many more
  steps than the CPU runs gave;
* ``converter``: the shipped ``vcc2016_sf1_tm1`` CycleGAN (CPU size) fine-tuned for many more steps
  (``--minutes`` sizes its learning-rate schedule too). The paper-size converter cannot come back: its two
  generators are 91 MB in fp16, over the 64 MiB the device tool returns.

The vocoder jobs use the settings the shipped v8 fine-tune trained with (seven speed factors, clean input mels,
STFT weight 40, EMA decay 0.9995; v6's windows and v7's mel loss come from ``conf/source_filter.yaml``), the converter
job the CPU preset's; every job keeps an EMA of the generator weights. Nothing is judged there: the exports are scored back on the
development machine against the shipped models (recipes/gpu/README.md).

Stdlib only (it starts the trainings as ``python -m voicegen`` subprocesses)::

    python3 recipes/gpu/run.py --kit .devkit --out "$OUT" --minutes 6 --install
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "voicegen" / "assets" / "models"
JOBS = ("vocoder_adv", "vocoder_long", "converter")
STOP_GRACE_S = 120  # after SIGTERM a trainer finishes its step and saves a checkpoint
DEADLINE_SLACK_S = 60  # beyond --minutes: data loading and F0 tracking come before the measured steps
INTERRUPTED_EXIT = 130  # a trainer's exit after a graceful stop (checkpoint saved)
MAX_RETURN_BYTES = 16 * 2 ** 20  # the device tool brings back files of at most 16 MiB
# The speed perturbation of the shipped vocoder's v5-v8 fine-tunes (recipes/vocoder16k/README.md, "The vocoder v5").
SPEED_FACTORS = "[0.85, 0.9, 1.0, 1.1, 1.2, 1.3, 1.45]"


def budget(minutes: float, steps: int | None) -> list[str]:
    """A fixed number of steps (tests), else the steps that fit ``minutes`` (measured at the start); a checkpoint
    and a validation every 1 000 steps (every ``steps`` when fewer)."""
    every = min(1000, steps) if steps else 1000
    size = ["--set", f"trainer.max_steps={steps}"] if steps else ["--minutes", f"{minutes:g}"]
    return size + ["--set", f"trainer.checkpoint_every={every}", "--set", f"trainer.val_every={every}"]


def vocoder_args(kit: Path, run_dir: Path, device: str, minutes: float, steps: int | None) -> list[str]:
    data = ", ".join(str(kit / "data" / name) for name in ("SF1", "TM1", "LS78"))
    return ["train", "vocoder", "--config", str(REPO / "recipes/vocoder16k/conf/source_filter.yaml"),
            "--run-dir", str(run_dir), "--device", device, "--init-from", str(MODELS / "vocoder16k"),
            "--set", f"data.train=[{data}]", "--set", f"data.speed_factors={SPEED_FACTORS}",
            "--set", "data.mel_smoothing=0.0", "--set", "trainer.optimizers.gen.lr=0.0002",
            "--set", "trainer.loss_weights.stft=40", "--set", "trainer.ema_decay=0.9995",
            "--set", "trainer.ema_modules=[generator]", "--set", "trainer.keep_last=2", *budget(minutes, steps)]


def job_commands(kit: Path, runs: Path, device: str, minutes: float, steps: int | None) -> dict[str, list[str]]:
    """The ``voicegen`` arguments of each job (``steps``: a fixed small run instead of a time budget, for tests)."""
    adv = vocoder_args(kit, runs / "vocoder_adv", device, minutes, steps) + [
        "--set", "adversarial_start=0", "--set", "discriminator.preset=paper"]
    long = vocoder_args(kit, runs / "vocoder_long", device, minutes, steps) + ["--set", "trainer.batch_size=32"]
    converter = ["train", "cyclegan", "--config", str(REPO / "recipes/vcc2016/conf/cpu.yaml"),
                 "--run-dir", str(runs / "converter"), "--device", device, "--init-from", str(MODELS / "vcc2016_sf1_tm1"),
                 "--set", f"data.dir_a={kit / 'data' / 'SF1'}", "--set", f"data.dir_b={kit / 'data' / 'TM1'}",
                 *budget(minutes, steps)]
    return {"vocoder_adv": adv, "vocoder_long": long, "converter": converter}


def install_wheels(kit: Path, site: Path) -> None:
    wheels = sorted(str(p) for p in (kit / "whl").glob("*.whl"))
    if not wheels:
        raise SystemExit(f"error: {kit / 'whl'}: no wheels; run recipes/gpu/prepare.py here first")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--upgrade", "--target", str(site), *wheels], check=True)


def last_step(run_dir: Path) -> int | None:
    steps = [int(p.stem.split("_")[-1]) for p in run_dir.glob("checkpoints/step_*.safetensors")]
    return max(steps) if steps else None


def training(run_dir: Path) -> bool:
    """The job's trainer has started: ``voicegen train`` writes the run's ``config.yaml`` just before the first
    step, once the data is loaded, F0 tracked and the step rate measured."""
    return (run_dir / "config.yaml").is_file()


def run_jobs(commands: dict[str, list[str]], runs: Path, env: dict[str, str], deadline_s: float | None) -> dict:
    """Start every job, SIGTERM those still running at ``deadline_s``, wait for all; wall time and exit codes."""
    procs, logs, started = {}, {}, time.monotonic()
    for name, args in commands.items():
        (runs / name).mkdir(parents=True, exist_ok=True)
        logs[name] = open(runs / f"{name}.log", "w")
        procs[name] = subprocess.Popen([sys.executable, "-m", "voicegen", *args], cwd=REPO, env=env,
                                       stdout=logs[name], stderr=subprocess.STDOUT)
        print(f"started {name}: voicegen {' '.join(args)}", flush=True)
    stopped: dict[str, float] = {}
    while any(p.poll() is None for p in procs.values()):
        elapsed = time.monotonic() - started
        for name, proc in procs.items():
            if proc.poll() is not None:
                continue
            late = deadline_s is not None and elapsed > deadline_s
            if late and name not in stopped and (training(runs / name) or elapsed > deadline_s + STOP_GRACE_S):
                # SIGTERM: a trainer finishes its step and saves a checkpoint; one still loading its data
                # (no trainer yet) gets the grace period first, since it would stop with nothing saved
                proc.send_signal(signal.SIGTERM)
                stopped[name] = elapsed
                print(f"{elapsed:6.0f} s: asked {name} to stop", flush=True)
            elif name in stopped and elapsed > stopped[name] + STOP_GRACE_S:
                proc.kill()
        time.sleep(1.0)
    for log in logs.values():
        log.close()
    return {name: {"returncode": p.returncode, "stopped_at_s": stopped.get(name)} for name, p in procs.items()} | {
        "_wall_s": time.monotonic() - started}


def finished(job: dict) -> bool:
    """The job ended as planned: it reached its steps, or stopped at the deadline after saving a checkpoint."""
    return job["returncode"] == 0 or (job["stopped_at_s"] is not None and job["returncode"] == INTERRUPTED_EXIT)


def ended(job: dict) -> str:
    if job["returncode"] == 0:
        return "finished"
    if finished(job):
        return f"stopped at the deadline ({job['stopped_at_s']:.0f} s)"
    return f"FAILED (exit {job['returncode']})"


def export_job(name: str, run_dir: Path, env: dict[str, str]) -> Path | None:
    """The job's artifact folder (the converter exports itself when it reaches max_steps), or None."""
    kind = "cyclegan" if name == "converter" else "vocoder"
    if (run_dir / "export" / "artifact.json").is_file():  # the job reached its steps and exported itself
        return run_dir / "export"
    out = run_dir / "export_final"
    done = subprocess.run([sys.executable, "-m", "voicegen", "export", kind, "--run-dir", str(run_dir), "--out",
                           str(out), "--overwrite"], cwd=REPO, env=env, capture_output=True, text=True)
    print(done.stdout.strip() or done.stderr.strip()[-500:], flush=True)
    return out if done.returncode == 0 else None


def metrics_tail(run_dir: Path) -> dict:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[-1] if rows else {}


def pack(name: str, runs: Path, export: Path | None, out: Path) -> Path:
    target = out / f"{name}.tar"
    with tarfile.open(target, "w") as tar:
        if export is not None:
            tar.add(export, arcname=f"{name}/export")
        for extra in ("config.yaml", "metrics.jsonl", "best.json"):
            if (runs / name / extra).is_file():
                tar.add(runs / name / extra, arcname=f"{name}/{extra}")
        tar.add(runs / f"{name}.log", arcname=f"{name}/train.log")
    if target.stat().st_size > MAX_RETURN_BYTES:
        print(f"warning: {target.name} is {target.stat().st_size / 2 ** 20:.1f} MiB, over what comes back", flush=True)
    return target


def describe_device(env: dict[str, str]) -> str:
    probe = ("import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() "
             "else 'no CUDA device')")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    return f"python {platform.python_version()}, torch {done.stdout.strip() or done.stderr.strip()[-200:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kit", type=Path, default=REPO / ".devkit", help="folder made by prepare.py")
    parser.add_argument("--out", type=Path, required=True, help="folder for the packed results (the device's $OUT)")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/voicegen_gpu_runs"), help="run folders")
    parser.add_argument("--minutes", type=float, default=6.0,
                        help="training time of each job, sized from its measured step rate [default: 6]")
    parser.add_argument("--slack", type=float, default=DEADLINE_SLACK_S,
                        help=f"seconds after --minutes at which a job still training is stopped [default: "
                             f"{DEADLINE_SLACK_S}]")
    parser.add_argument("--steps", type=int, default=None, help="a fixed number of steps per job instead (tests)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu", "auto"))
    parser.add_argument("--install", action="store_true", help="install the kit's wheels first (on the GPU machine)")
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated subset of {', '.join(JOBS)}")
    args = parser.parse_args(argv)

    jobs = [j for j in args.jobs.split(",") if j]
    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
        raise SystemExit(f"error: --jobs: unknown {', '.join(unknown)}; choose from {', '.join(JOBS)}")
    if not (args.kit / "data" / "SF1").is_dir():
        raise SystemExit(f"error: {args.kit / 'data' / 'SF1'}: missing; run recipes/gpu/prepare.py first")
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    paths = [str(REPO)]
    if args.install:
        site = args.runs / "site"
        install_wheels(args.kit, site)
        paths.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    device = describe_device(env)
    print(device, flush=True)

    commands = {k: v for k, v in job_commands(args.kit.resolve(), args.runs, args.device, args.minutes,
                                               args.steps).items() if k in jobs}
    # Each job sizes its steps to --minutes from the step rate it measures at its start; the deadline stops a
    # job that measured too optimistically (three jobs share the GPU), leaving time for F0 tracking and export.
    status = run_jobs(commands, args.runs, env, None if args.steps else args.minutes * 60 + args.slack)
    lines = [f"device: {device}", f"minutes: {args.minutes:g}" if not args.steps else f"steps: {args.steps}",
             f"training wall time: {status['_wall_s']:.0f} s"]
    for name in commands:
        run_dir = args.runs / name
        export = export_job(name, run_dir, env)
        tail = metrics_tail(run_dir)
        lines.append(f"{name}: {ended(status[name])}, last checkpoint step {last_step(run_dir)}, "
                     f"exported {'yes' if export else 'NO'}, last metrics {json.dumps(tail, sort_keys=True)}")
        pack(name, args.runs, export, args.out)
    (args.out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return 0 if all(finished(status[n]) for n in commands) else 1


if __name__ == "__main__":
    sys.exit(main())
