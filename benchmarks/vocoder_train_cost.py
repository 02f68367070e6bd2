"""CPU cost of one spectral-loss training step of the shipped vocoder designs, to turn training
steps into CPU-hours (the x axis of the quality-per-CPU-hour curves in recipes/vocoder16k/README.md).

    python benchmarks/vocoder_train_cost.py [--threads 1] [--steps 20] [--adversarial] [--mel-multi] [--phase-loss]

For each config (recipes/vocoder16k/conf/cpu.yaml: the mel-only iSTFT generator shipped as v1;
conf/source_filter.yaml: the pitch-true v2) one step = log-mel of a batch (16 x 8192 samples of
real speech) -> generator -> mel L1 + multi-resolution STFT and mel losses (the config's weights and windows)
-> backward -> AdamW, exactly the VocoderTask warm-up step, F0 rows precomputed as training does. Reported: the
process CPU seconds per step (fastest of 3 rounds of ``--steps`` steps after a warm-up) and the
ratio v2 / v1, both measured in this run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicegen.audio.f0 import f0_rows  # noqa: E402
from voicegen.audio.io import load_audio  # noqa: E402
from voicegen.config import load_config  # noqa: E402
from voicegen.train.vocoder import VocoderTrainConfig, build_models  # noqa: E402
from voicegen.train.vocoder_task import VocoderTask  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {"v1 istft (mel only)": REPO / "recipes/vocoder16k/conf/cpu.yaml",
           "v2 source_filter": REPO / "recipes/vocoder16k/conf/source_filter.yaml"}
CLIP = REPO / "samples/audio/78-368-0000.flac"


# The low-band discriminators (input_halvings 2: 0-2 kHz at a quarter of the rate), with spectrogram
# resolutions scaled to that rate.
LOW_BAND = ("discriminator={preset: cpu, input_halvings: 2, "
            "mrd_resolutions: [[128, 32, 128], [256, 64, 256], [64, 16, 64]]}")


def step_seconds(path: Path, steps: int, adversarial: bool = False, overrides: tuple[str, ...] = ()) -> float:
    config = load_config(VocoderTrainConfig, path, ["data.train=[samples/audio]", *overrides])
    generator, discriminator = build_models(config)
    task = VocoderTask(generator, discriminator, config.feature_config, stft_loss=config.stft_loss,
                       stft_resolutions=config.stft_resolutions, mel_multi_loss=config.mel_multi_loss,
                       mel_resolutions=config.mel_resolutions, harmonic_phase_loss=config.harmonic_phase_loss,
                       adversarial_start=0 if adversarial else 10**9)
    optimizer = torch.optim.AdamW(generator.parameters(), lr=2e-4, betas=(0.8, 0.99))
    disc_optimizer = torch.optim.AdamW(discriminator.parameters(), lr=2e-4, betas=(0.8, 0.99))
    fc, segment, batch_size = config.feature_config, config.data.segment_samples, config.trainer.batch_size
    wav = load_audio(CLIP, fc.sample_rate)
    rows = f0_rows(wav, fc.sample_rate, fc.hop_length, config.f0_config) if config.f0_config else None
    rng = np.random.default_rng(0)
    starts = rng.integers(0, (len(wav) - segment) // fc.hop_length, size=batch_size) * fc.hop_length
    batch_wav = torch.from_numpy(np.stack([wav[s:s + segment] for s in starts]))
    batch = batch_wav
    if rows is not None:
        frames = segment // fc.hop_length
        batch = {"wav": batch_wav, "f0": torch.from_numpy(np.stack([rows[:, s // fc.hop_length:s // fc.hop_length
                                                                          + frames] for s in starts]))}
    weights = config.trainer.loss_weights

    def one(step: int) -> None:
        disc_optimizer.zero_grad(set_to_none=True)
        disc = task.losses("disc", batch, step)
        if disc:  # the adversarial phase: the discriminator's step first
            disc["adv_d"].backward()
            disc_optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses = task.losses("gen", batch, step)
        sum(weights[name] * value for name, value in losses.items()).backward()
        optimizer.step()

    one(1)
    best = math.inf
    for round_ in range(3):
        start = time.process_time()
        for i in range(steps):
            one(2 + round_ * steps + i)
        best = min(best, (time.process_time() - start) / steps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--mel-multi", action="store_true",
                        help="also time v2's step without the multi-resolution mel loss (loss_weights.mel_multi 0) to "
                             "show what that loss costs")
    parser.add_argument("--phase-loss", action="store_true",
                        help="also time v2's step with the mixed-phase filter and the relative-harmonic-phase loss "
                             "(generator.phase_terms 48, loss_weights.harmonic_phase 40)")
    parser.add_argument("--adversarial", action="store_true",
                        help="also time v2's GAN step (the adversarial phase) with its discriminators, and with the "
                             "low-band ones (discriminator.input_halvings 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {name: step_seconds(path, args.steps) for name, path in CONFIGS.items()}
    print(f"spectral-loss training step, batch 16 x 8192 samples, {args.threads} thread(s), process CPU time:")
    for name, seconds in results.items():
        print(f"  {name:22s} {seconds:.3f} CPU s/step  ({3600 / seconds:.0f} steps per CPU-hour)")
    v1, v2 = results.values()
    print(f"v2 / v1 cost per step: {v2 / v1:.2f}")
    if args.mel_multi:
        without = step_seconds(CONFIGS["v2 source_filter"], args.steps, overrides=("trainer.loss_weights.mel_multi=0",))
        print(f"  v2 without the multi-resolution mel loss (mel_multi 0): {without:.3f} CPU s/step; the loss adds "
              f"{v2 - without:.3f} s, {(v2 - without) / without:.0%} of that step")
    if args.phase_loss:
        phase = step_seconds(CONFIGS["v2 source_filter"], args.steps,
                             overrides=("generator.phase_terms=48", "trainer.loss_weights.harmonic_phase=40"))
        print(f"  v2 with phase_terms 48 and the harmonic_phase loss: {phase:.3f} CPU s/step; they add "
              f"{phase - v2:.3f} s, {(phase - v2) / v2:.0%} of the step")
    if args.adversarial:
        gan = step_seconds(CONFIGS["v2 source_filter"], max(2, args.steps // 2), adversarial=True)
        print(f"  v2 GAN step (+ the config's discriminators, LSGAN + feature matching): {gan:.3f} CPU s/step; "
              f"the discriminators add {gan - v2:.3f} s, {(gan - v2) / v2:.1f}x the spectral-loss step")
        low = step_seconds(CONFIGS["v2 source_filter"], max(2, args.steps // 2), adversarial=True, overrides=(LOW_BAND,))
        print(f"  v2 GAN step, low-band discriminators (input_halvings 2): {low:.3f} CPU s/step; they add "
              f"{low - v2:.3f} s, {(low - v2) / v2:.1f}x the spectral-loss step; {gan / low:.2f}x cheaper than the above")


if __name__ == "__main__":
    main()
