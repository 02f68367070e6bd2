"""Live conversion (`voicegen stream`) with the shipped default bundle: latency and cost per block.

    python benchmarks/stream.py [--threads 1] [--seconds 20] [--blocks 64 80 96 160] [--context-ms 1024] [--runtime torch|onnx]
                                [--no-frame-bank]

For each block size (ms), with the default lookahead and context: the algorithmic latency (measured
on silence, :meth:`LiveConverter.probe_latency`), and the compute time of every block of
``--seconds`` of real SF1 speech (the bundled clips repeated) pushed as fast as possible: mean, p95
and max in ms, p95 as a share of the block (the issue's target: <= 50 % with one thread), and the
blocks that took longer than a block (late at real-time pace). Thread CPU time is shown beside the
wall time: on a busy machine the wall time includes waiting for a core. The baseline, measured in
the same run, is the offline `convert` of the same audio: ``cost ratio`` = live compute / offline
compute (what the short blocks and their contexts cost). ``--no-frame-bank`` times the chain
without the bundle's frame bank (``voicegen stream --no-frame-bank``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from voicegen.audio.io import load_audio  # noqa: E402
from voicegen.infer.bundles import PACKAGE_MODELS_DIR  # noqa: E402
from voicegen.infer.convert import Converter  # noqa: E402
from voicegen.infer.live import LiveConverter, LiveSettings  # noqa: E402
from voicegen.infer.options import ConvertOptions  # noqa: E402
from voicegen.infer.stream import run_whole  # noqa: E402

CLIPS = sorted((REPO / "samples" / "audio").glob("SF1_*.wav"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--blocks", type=float, nargs="+", default=[64.0, 80.0, 96.0, 160.0])
    parser.add_argument("--context-ms", type=float, default=LiveSettings.context_ms)
    parser.add_argument("--runtime", choices=["torch", "onnx"], default="onnx",
                        help="What runs the networks [default: onnx, what `voicegen stream` picks on a CPU].")
    parser.add_argument("--no-frame-bank", action="store_true", help="Leave the bundle's frame bank out of the live chain.")
    args = parser.parse_args()
    from voicegen.infer import onnx_runtime

    onnx_runtime.set_threads(args.threads)
    converter = Converter(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1", "cpu", runtime=args.runtime)
    if args.runtime == "torch":
        import torch

        torch.set_num_threads(args.threads)
    rate = converter.sample_rate
    wav = np.resize(np.concatenate([load_audio(c, rate) for c in CLIPS]), int(args.seconds * rate))

    chain, _, _ = converter.stages("SF1", "TM1")
    run_whole(chain, wav[:rate])  # warm-up
    chain, _, _ = converter.stages("SF1", "TM1")
    start, cpu = time.perf_counter(), time.thread_time()
    run_whole(chain, wav)
    offline_wall, offline_cpu = time.perf_counter() - start, time.thread_time() - cpu
    print(f"{args.seconds:g} s of speech, {args.runtime}, {args.threads} thread(s), converter context {args.context_ms:g} ms, "
          f"frame bank {'off' if args.no_frame_bank else 'on'} live; offline convert: {offline_wall:.2f} s wall "
          f"(RTF {offline_wall / args.seconds:.3f}), {offline_cpu:.2f} s CPU")
    print(f"{'block ms':>8} {'latency ms':>10} {'mean ms':>8} {'p95 ms':>7} {'max ms':>7} {'p95/block':>9} "
          f"{'late':>6} {'CPU ms/block':>12} {'cost ratio':>10}")
    options = ConvertOptions(source="SF1", target="TM1")
    for block_ms in args.blocks:
        live = LiveConverter(converter, options, LiveSettings(block_ms=block_ms, context_ms=args.context_ms,
                                                                  frame_bank=not args.no_frame_bank))
        latency = 1000 * live.probe_latency() / rate
        size = live.block_samples
        blocks = [wav[i:i + size] for i in range(0, len(wav), size)]
        cpu = time.thread_time()
        timer = live.fresh().run(blocks, lambda _: None)
        cpu = time.thread_time() - cpu
        s = timer.summary()
        print(f"{1000 * size / rate:8.0f} {latency:10.0f} {s['mean_ms']:8.1f} {s['p95_ms']:7.1f} {s['max_ms']:7.1f} "
              f"{s['p95_fraction']:9.2f} {s['late']:>3}/{s['blocks']:<3} {1000 * cpu / s['blocks']:12.1f} "
              f"{cpu / offline_cpu:10.1f}")


if __name__ == "__main__":
    main()
