"""Vocoder speed and memory: HiFi-GAN V1 / V3 and the shipped default, eager vs each optimisation.

    python benchmarks/vocoder.py                 # 1 and 2 threads, eager / onnx / compile
    python benchmarks/vocoder.py --quick         # 1 thread, eager / onnx, fewer repeats

RTF = compute seconds / audio seconds of mel -> waveform on ``--seconds`` of real speech
(samples/audio/78-368-0000.flac; fastest of ``--repeats`` after a warm-up), whole input at once.
For a pitch-conditioned (source-filter) vocoder the F0 extraction it needs (WORLD DIO + StoneMask
at the mel hop, streamed in blocks as `voicegen vocode` runs it) is included in RTF and also
reported alone ("F0 RTF").
Every configuration runs in its own fresh process so that its peak memory (VmHWM) is its own;
"peak MB" is that peak, "+MB" what inference added to the loaded model's resident memory.
Rows:
  shipped 16k      the default vocoder shipped in the package (vc16k, source-filter generator, trained weights)
  shipped-arch 22k the same generator config and weights at the hifigan22k contract (22.05 kHz)
  istft 16k (v1)   the mel-only iSTFT generator the package shipped before (same width), random weights
  HiFi-GAN V1/V3   paper-size generators at 22.05 kHz (hifigan22k), random weights, weight norm removed
Speed does not depend on the weights' values. Runtimes: ``eager`` PyTorch; ``onnx`` ONNX Runtime
(CPU, the graph that `voicegen export vocoder --onnx` writes); ``compile`` torch.compile (default
mode). The ratio column is eager's time over the row's, from the same run and thread count.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import peak_rss_mb  # benchmarks/timing.py

REPO = Path(__file__).resolve().parent.parent
CLIP = REPO / "samples" / "audio" / "78-368-0000.flac"
MODELS = ("shipped 16k", "shipped-arch 22k", "istft 16k (v1)", "HiFi-GAN V3", "HiFi-GAN V1")
RUNTIMES = ("eager", "onnx", "compile")
GOALS = {"shipped 16k": 0.02, "shipped-arch 22k": 0.03}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def build(model: str, workdir: Path):
    """(vocoder artifact folder, features preset) for ``model``."""
    import torch

    from voicegen.audio.features import get_preset
    from voicegen.formats.vocoder import save_vocoder
    from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path
    from voicegen.infer.vocode import load_vocoder
    from voicegen.models.vocoder import build_generator
    from voicegen.train.vocoder import fill_generator_contract

    out = workdir / model.replace(" ", "_")
    if (out / "artifact.json").is_file():
        return out, "vc16k" if model in ("shipped 16k", "istft 16k (v1)") else "hifigan22k"
    if model == "shipped 16k":  # a copy: the ONNX graph must not be written into the package
        import shutil

        return Path(shutil.copytree(vocoder_path(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"), out)), "vc16k"
    features = get_preset("vc16k" if model == "istft 16k (v1)" else "hifigan22k")
    f0 = None
    if model in ("shipped-arch 22k", "istft 16k (v1)"):
        shipped = load_vocoder(vocoder_path(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"), runtime="torch")
        kind = shipped.generator_kind if model == "shipped-arch 22k" else "istft"
        f0 = shipped.f0_config if kind == "source_filter" else None
        config = {k: v for k, v in _generator_config(shipped.path).items()
                  if k in ("channels", "intermediate_channels", "n_blocks", "kernel_size")}
    else:
        kind, config = "hifigan", {"preset": model.split()[-1].lower()}
    config = fill_generator_contract(kind, config, features)
    torch.manual_seed(0)
    generator = build_generator(kind, config)
    if model == "shipped-arch 22k":
        # The shipped weights fit (same mels, FFT size and widths): random ones made ONNX Runtime and PyTorch
        # differ by 5e-3 and the export check refused the graph. Speed does not depend on the values.
        generator.load_state_dict(shipped.generator.state_dict())
    preset = "vc16k" if model == "istft 16k (v1)" else "hifigan22k"
    return save_vocoder(generator, kind, config, features, out, f0=f0, dtype=None), preset


def prepare(model: str, onnx: bool, workdir: Path) -> None:
    """Write ``model``'s artifact (and its ONNX graph) under ``workdir`` before any timing."""
    from voicegen.infer.onnx_export import export_vocoder_onnx
    from voicegen.infer.onnx_runtime import ONNX_FILE

    path, _ = build(model, workdir)
    if onnx and not (path / ONNX_FILE).is_file():
        export_vocoder_onnx(path)


def _generator_config(artifact: Path) -> dict:
    return json.loads((artifact / "artifact.json").read_text())["config"]["generator"]


def measure(model: str, runtime: str, threads: int, seconds: float, repeats: int, workdir: Path) -> dict:
    """One configuration, in this (fresh) process: RTF, parameters, memory."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from voicegen.audio.features import compute_mel, get_preset
    from voicegen.audio.io import load_audio
    from voicegen.infer.vocode import load_vocoder

    path, preset = build(model, workdir)
    features = get_preset(preset)
    vocoder = load_vocoder(path, "cpu", runtime="onnx" if runtime == "onnx" else "torch")
    params = 0 if runtime == "onnx" else sum(p.numel() for p in vocoder.generator.parameters())
    if runtime == "compile":
        vocoder.generator = torch.compile(vocoder.generator)
    wav = load_audio(CLIP, features.sample_rate)[: int(seconds * features.sample_rate)]
    mel = torch.from_numpy(np.ascontiguousarray(compute_mel(wav, features)))
    audio_seconds = mel.shape[1] * features.hop_length / features.sample_rate

    def f0_rows() -> np.ndarray | None:
        if not vocoder.needs_f0:
            return None
        stream = vocoder.f0_stream()
        return np.concatenate([stream.push(wav), stream.finish()], axis=1)

    run = lambda: vocoder.wav_from_mel(mel, f0_rows(), chunk_frames=mel.shape[1])  # noqa: E731
    rss_loaded = _rss_mb()
    run()  # warm-up (compilation, ONNX Runtime's first-run allocations)
    best = best_f0 = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
        start = time.perf_counter()
        f0_rows()
        best_f0 = min(best_f0, time.perf_counter() - start)
    peak = peak_rss_mb()
    return {"model": model, "runtime": runtime, "threads": threads, "rtf": best / audio_seconds,
            "f0_rtf": best_f0 / audio_seconds if vocoder.needs_f0 else None,
            "params_m": params / 1e6, "peak_mb": peak, "added_mb": max(0.0, peak - rss_loaded),
            "audio_seconds": audio_seconds, "rate": features.sample_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="thread counts [1 2]")
    parser.add_argument("--models", nargs="+", default=None, choices=MODELS, metavar="MODEL",
                        help=f"subset of: {', '.join(MODELS)}")
    parser.add_argument("--runtimes", nargs="+", default=None, choices=RUNTIMES)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 thread, eager and onnx, 1 repeat")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "RUNTIME", "THREADS"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, "onnx" in (args.runtimes or ()), args.workdir)
        return
    if args.one:
        model, runtime, threads = args.one
        print(json.dumps(measure(model, runtime, int(threads), args.seconds, args.repeats, args.workdir)))
        return
    threads = args.threads or ([1] if args.quick else [1, 2])
    runtimes = args.runtimes or (["eager", "onnx"] if args.quick else list(RUNTIMES))
    repeats = 1 if args.quick else args.repeats
    models = args.models or list(MODELS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            subprocess.run([sys.executable, __file__, "--prepare", model, "--runtimes", *runtimes, "--workdir", tmp],
                           check=True)
        for n in threads:
            for model in models:
                for runtime in runtimes:
                    cmd = [sys.executable, __file__, "--one", model, runtime, str(n), "--seconds", str(args.seconds),
                           "--repeats", str(repeats), "--workdir", tmp]
                    done = subprocess.run(cmd, capture_output=True, text=True)
                    if done.returncode != 0:
                        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
                        print(f"  {model} / {runtime} / {n} thread(s) failed: {tail}", file=sys.stderr)
                        continue
                    rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                    print(f"  measured {model} / {runtime} / {n} thread(s): RTF {rows[-1]['rtf']:.4f}",
                          file=sys.stderr, flush=True)
    print(f"\n{args.seconds:.0f} s of speech, whole input, best of {repeats} (RTF = compute s / audio s)")
    print(f"{'model':18s} {'rate':>6s} {'params':>7s} {'thr':>3s} {'runtime':8s} {'RTF':>8s} {'F0 RTF':>7s} "
          f"{'x eager':>8s} {'peak MB':>8s} {'+MB':>6s}")
    eager = {(r["model"], r["threads"]): r["rtf"] for r in rows if r["runtime"] == "eager"}
    params = {r["model"]: r["params_m"] for r in rows if r["params_m"]}
    for r in rows:
        base = eager.get((r["model"], r["threads"]))
        ratio = f"{base / r['rtf']:8.2f}" if base else f"{'-':>8s}"
        f0 = f"{r['f0_rtf']:7.4f}" if r.get("f0_rtf") is not None else f"{'-':>7s}"
        print(f"{r['model']:18s} {r['rate']:6d} {params.get(r['model'], 0):6.2f}M {r['threads']:3d} {r['runtime']:8s} "
              f"{r['rtf']:8.4f} {f0} {ratio} {r['peak_mb']:8.0f} {r['added_mb']:6.0f}")
    v1 = eager.get(("HiFi-GAN V1", 1))
    for model, goal in GOALS.items():
        best = min((r["rtf"] for r in rows if r["model"] == model), default=None)
        if best is not None:
            speedup = f", {v1 / best:.0f}x faster than V1 eager (1 thread)" if v1 else ""
            print(f"{model}: best RTF {best:.4f} (goal <= {goal}: {'met' if best <= goal else 'NOT met'}){speedup}")


if __name__ == "__main__":
    main()
