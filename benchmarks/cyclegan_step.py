"""MaskCycleGAN-VC training cost on this CPU: one full training step and the generator RTF, per preset.

Measures, in one run (so the ratios compare like with like on the same machine and load):

1. the wall time of one full training step at batch 1 x 64 frames (MaskCycleGAN-VC's crop):
   generator phase — G_ab and G_ba on masked inputs, the cycle passes and the identity passes
   (the first ``identity_steps``), LSGAN against D_a/D_b and the two-step D_a2/D_b2, L1 cycle and
   identity losses, backward, Adam — then the discriminator phase on the detached outputs
   (4 discriminators forward/backward on real and fake), Adam; for the "paper" and "cpu" presets;
2. the generator-only real-time factor (compute seconds / audio seconds; no autograd, eval mode)
   on 10 s of mel (16 kHz, hop 256 -> 625 frames);
3. parameter counts.

Usage:  .venv/bin/python benchmarks/cyclegan_step.py [--threads 2] [--repeats 5]
Every time is the fastest of ``--repeats`` calls after one warm-up call (least disturbed by other load).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import best_time  # noqa: E402  (benchmarks/timing.py)

from voicegen.audio.mel_datasets import frame_mask  # noqa: E402
from voicegen.models.cyclegan import build_discriminator, build_generator  # noqa: E402
from voicegen.train.cyclegan import DEFAULT_LOSS_WEIGHTS, DEFAULT_OPTIMIZERS  # noqa: E402
from voicegen.train.cyclegan_task import CycleGANTask  # noqa: E402

N_MELS = 80
SEGMENT_FRAMES = 64  # MaskCycleGAN-VC's training crop
MASK_MAX_FRAMES = 25
BATCH = 1  # MaskCycleGAN-VC's batch size
RTF_FRAMES = 625  # 10 s at 16 kHz with hop 256
RTF_SECONDS = 10.0
PRESETS = ("paper", "cpu")
SEED = 0


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def make_step(preset: str) -> tuple[Callable[[], None], CycleGANTask]:
    """One full training step (both phases, Adam) of ``preset`` generators and discriminators."""
    torch.manual_seed(SEED)
    generators = [build_generator({"preset": preset}) for _ in range(2)]
    discriminators = [build_discriminator({"preset": preset}) for _ in range(4)]
    task = CycleGANTask(*generators, *discriminators, identity_steps=10**9)
    optimizers = {}
    for phase, names in task.optimizer_groups().items():
        config = DEFAULT_OPTIMIZERS[phase]
        params = [p for name in names for p in task.modules()[name].parameters()]
        optimizers[phase] = torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    g = torch.Generator().manual_seed(SEED)
    batch = {
        "a": torch.randn(BATCH, N_MELS, SEGMENT_FRAMES, generator=g),
        "b": torch.randn(BATCH, N_MELS, SEGMENT_FRAMES, generator=g),
        "mask_a": torch.stack([frame_mask(N_MELS, SEGMENT_FRAMES, MASK_MAX_FRAMES, g) for _ in range(BATCH)]),
        "mask_b": torch.stack([frame_mask(N_MELS, SEGMENT_FRAMES, MASK_MAX_FRAMES, g) for _ in range(BATCH)]),
    }
    modules = list(task.modules().values())

    def step() -> None:
        for phase, optimizer in optimizers.items():  # gen, then disc (the Trainer's order)
            for module in modules:
                module.zero_grad(set_to_none=True)
            losses = task.losses(phase, batch, 1)
            sum(DEFAULT_LOSS_WEIGHTS[name] * value for name, value in losses.items()).backward()
            optimizer.step()

    return step, task


def generator_rtf(preset: str, repeats: int) -> float:
    torch.manual_seed(SEED)
    generator = build_generator({"preset": preset}).eval()
    mel = torch.randn(1, N_MELS, RTF_FRAMES)

    def run() -> None:
        with torch.no_grad():
            generator(mel)

    return best_time(run, repeats) / RTF_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH} x {SEGMENT_FRAMES} frames, "
          f"fastest of {args.repeats}")
    step_s, rtf = {}, {}
    for preset in PRESETS:
        step, task = make_step(preset)
        step_s[preset] = best_time(step, args.repeats)
        rtf[preset] = generator_rtf(preset, args.repeats)
        g_params = count(task.G_ab) / 1e6
        d_params = count(task.D_a) / 1e6
        print(f"{preset:>6}: step {step_s[preset]:.3f} s ({1 / step_s[preset]:.2f} steps/s) | generator RTF "
              f"{rtf[preset]:.4f} on 10 s | G {g_params:.2f}M x 2, D {d_params:.2f}M x 4 parameters")
    print(f"cpu vs paper: step {step_s['paper'] / step_s['cpu']:.1f}x cheaper, "
          f"generator RTF {rtf['paper'] / rtf['cpu']:.1f}x cheaper (goal: step >= 5x)")


if __name__ == "__main__":
    main()
