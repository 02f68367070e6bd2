"""End-to-end speed and memory of `voicegen convert` with the shipped default bundle.

    python benchmarks/convert.py [--threads 1] [--repeats 3] [--long-minutes 10 60] [--runtime torch|onnx]

Measured in one run:
1. end-to-end RTF (compute seconds / audio seconds) of ``Converter.convert_file`` — load the file,
   log-mel, SF1 -> TM1 generator and the bundle's post-filter, vocoder, save a wav — on 10 s and 60 s
   of real SF1 speech (the bundled clips samples/audio/SF1_*.wav repeated to length), fastest of
   ``--repeats`` after a warm-up; the same on 10 s without the post-filter, and with ``--formant 2``
   (its ratio to the default is printed);
2. the generator with its post-filter, and the generator alone on the 10 s mel: the shipped ``cpu`` generator vs the paper-size
   MaskCycleGAN-VC generator (random weights: speed does not depend on them), and their ratio;
3. peak resident memory (VmHWM) of a fresh process converting 10 s and ``--long-minutes`` files:
   conversion streams the file block by block, so the peak should not grow with the file's length.
The goal for voicegen end to end is RTF <= 0.05 (a reference MaskCycleGAN-VC generator alone runs
at RTF 0.28 on the 2-core development machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_time, peak_rss_mb  # benchmarks/timing.py

REPO = Path(__file__).resolve().parent.parent
CLIPS = sorted((REPO / "samples" / "audio").glob("SF1_*.wav"))
BUNDLE = "vcc2016_sf1_tm1"
GOAL_RTF = 0.05


def speech(seconds: float, path: Path) -> Path:
    """Write ``seconds`` of the bundled SF1 clips, repeated, to ``path`` (16 kHz wav)."""
    import numpy as np

    from voicegen.audio.io import load_audio
    from voicegen.audio.writer import save_audio

    clip = np.concatenate([load_audio(c, 16000) for c in CLIPS])
    n = int(seconds * 16000)
    save_audio(path, np.resize(clip, n), 16000, overwrite=True)
    return path


def converter(runtime: str = "torch", postfilter: bool = True):
    from voicegen.infer.bundles import PACKAGE_MODELS_DIR
    from voicegen.infer.convert import Converter

    return Converter(PACKAGE_MODELS_DIR / BUNDLE, "cpu", runtime=runtime, postfilter=postfilter)


def memory_run(src: Path, out: Path, runtime: str) -> dict:
    """In a fresh process: convert ``src`` once; peak RSS and the model-loaded RSS (MB)."""
    conv = converter(runtime)
    with open("/proc/self/statm") as f:
        loaded = int(f.read().split()[1]) * resource.getpagesize() / 2**20
    result = conv.convert_file(src, out, "SF1", "TM1", overwrite=True)
    peak = peak_rss_mb()
    return {"seconds": result.seconds, "rtf": result.rtf, "peak_mb": peak, "loaded_mb": loaded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--runtime", choices=["torch", "onnx"], default="torch",
                        help="What runs the networks (the torch-free path: benchmarks/cold_start.py).")
    parser.add_argument("--memory", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # ONNX Runtime's sessions read it
    if args.memory:  # a fresh process: on the onnx runtime torch is never imported
        if args.runtime == "torch":
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(memory_run(*args.memory, args.runtime)))
        return
    import torch

    torch.set_num_threads(args.threads)
    from voicegen.audio.features import compute_mel
    from voicegen.audio.io import load_audio
    from voicegen.models.cyclegan import build_generator

    conv = converter(args.runtime)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seconds in (10, 60):
            src = speech(seconds, tmp / f"sf1_{seconds}s.wav")
            t = best_time(lambda: conv.convert_file(src, tmp / "out.wav", "SF1", "TM1", overwrite=True), args.repeats)
            rows.append((f"convert end to end, {seconds} s", t / seconds))
        raw = converter(args.runtime, postfilter=False)
        src = tmp / "sf1_10s.wav"
        t = best_time(lambda: raw.convert_file(src, tmp / "out.wav", "SF1", "TM1", overwrite=True), args.repeats)
        rows.append(("convert, 10 s, --no-postfilter", t / 10))
        src10 = tmp / "sf1_10s.wav"
        if conv.vocoder.needs_f0:  # the formant knob: one matrix per frame on mel + F0 rows (voicegen/infer/formant.py)
            t = best_time(lambda: conv.convert_file(src10, tmp / "out.wav", "SF1", "TM1", overwrite=True, formant=2.0),
                          args.repeats)
            rows.append(("convert, 10 s, --formant 2", t / 10))
        wav = load_audio(tmp / "sf1_10s.wav", 16000)
        mel = compute_mel(wav, conv.feature_config)
        if conv.postfilter is not None:
            both = best_time(lambda: conv.bundle.convert_mel(mel, "SF1", "TM1"), args.repeats) / 10
            rows.append((f"generator + post-filter ({conv.postfilter.name})", both))
        shipped = best_time(lambda: raw.bundle.convert_mel(mel, "SF1", "TM1"), args.repeats) / 10
        rows.append(("generator alone, shipped (cpu)", shipped))
        torch.manual_seed(0)
        paper = build_generator({"preset": "paper"}).eval()
        x = torch.from_numpy(mel)[None]
        with torch.inference_mode():
            paper_rtf = best_time(lambda: paper(x), args.repeats) / 10
        rows.append(("generator alone, paper size", paper_rtf))
        f0 = None
        if conv.vocoder.needs_f0:  # a pitch-conditioned vocoder: its F0 rows, timed apart
            from voicegen.audio.f0 import f0_rows

            fc, f0_config = conv.feature_config, conv.vocoder.f0_config
            f0_rtf = best_time(lambda: f0_rows(wav, fc.sample_rate, fc.hop_length, f0_config), args.repeats) / 10
            rows.append(("F0 of the source (DIO)", f0_rtf))
            f0 = f0_rows(wav, fc.sample_rate, fc.hop_length, f0_config)[:, :mel.shape[1]]
        vocoder_rtf = best_time(lambda: conv.vocoder.wav_from_mel(mel, f0), args.repeats) / 10
        rows.append(("vocoder alone, shipped", vocoder_rtf))
        memory = {}
        for seconds in (10, *(minutes * 60 for minutes in args.long_minutes)):
            src = tmp / f"sf1_{seconds:.0f}s.wav"
            if not src.exists():
                speech(seconds, src)
            done = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--runtime", args.runtime,
                                   "--memory", str(src), str(tmp / "mem_out.wav")], capture_output=True, text=True,
                                  check=True)
            memory[seconds] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"SF1 -> TM1 with the shipped bundle on {args.runtime}, {args.threads} thread(s), best of {args.repeats} "
          "(RTF = compute s / audio s)")
    for name, rtf in rows:
        print(f"  {name:34s} RTF {rtf:8.4f}")
    shipped_params = converter().bundle.generator("SF1", "TM1").parameters()
    print(f"  generator: paper size / shipped = {paper_rtf / shipped:.1f}x "
          f"(parameters {sum(p.numel() for p in paper.parameters()) / 1e6:.1f}M vs "
          f"{sum(p.numel() for p in shipped_params) / 1e6:.1f}M)")
    for seconds, m in memory.items():
        print(f"  peak memory, {seconds / 60:5.1f} min file: {m['peak_mb']:6.0f} MB "
              f"(model loaded: {m['loaded_mb']:.0f} MB; that run's RTF {m['rtf']:.4f})")
    by_name = dict(rows)
    if "convert, 10 s, --formant 2" in by_name:
        print(f"  --formant 2 / default on 10 s: {by_name['convert, 10 s, --formant 2'] / by_name['convert end to end, 10 s']:.3f}x")
    best = min(rtf for name, rtf in rows if name.startswith("convert end to end"))
    print(f"end to end: best RTF {best:.4f} (goal <= {GOAL_RTF}: {'met' if best <= GOAL_RTF else 'NOT met'})")


if __name__ == "__main__":
    main()
