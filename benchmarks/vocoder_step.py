"""Vocoder training cost on this CPU: one full GAN step, generator RTF, parameter counts.

Measures, in one run (so the ratios compare like with like on the same machine and load):

1. the wall time of one HiFi-GAN training step — discriminator forward/backward + Adam, then
   generator forward/backward (LSGAN + 2 x feature matching + 45 x mel L1) + Adam — for the
   reference (V1 generator + the paper's MPD + MSD, batch 16 x 8192 samples) and for the CPU
   configurations (V3 / iSTFT generators + the "cpu" discriminator preset);
2. forward/backward time of each discriminator family alone (to choose the light preset);
3. the generator-only real-time factor (compute seconds / audio seconds, 16 kHz, 10 s of audio,
   weight norm removed, no autograd) of V1, V3, V1-iSTFTNet and the iSTFT generator;
4. parameter counts (weight norm folded).

Usage:  .venv/bin/python benchmarks/vocoder_step.py [--quick] [--threads 2]
``--quick`` measures the reference step at batch 2 and scales it to batch 16 (x8, steps are
linear in the batch on a CPU). The machine may be shared, so every measurement runs round-robin
(one call of each per round, after a warm-up round) and the fastest round counts: a burst of
other load then slows all configurations alike instead of skewing one ratio. On a busy machine
two torch threads can slow down many-fold (a descheduled thread stalls every op's barrier); then
``--threads 1 --clock cpu`` (process CPU time) still gives trustworthy compute ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicegen.audio.features import MelSpectrogram, get_preset  # noqa: E402
from voicegen.losses import adversarial_d_loss, adversarial_g_loss, feature_matching_loss, mel_l1_loss  # noqa: E402
from voicegen.models.vocoder import (  # noqa: E402
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    DiscriminatorConfig,
    HiFiGANGenerator,
    ISTFTGenerator,
    ISTFTGeneratorConfig,
    VocoderDiscriminator,
)

FEATURE_PRESET = "vc16k"  # 16 kHz, n_fft 1024, hop 256, 80 mels
SEGMENT = 8192  # samples per training example (HiFi-GAN's segment size)
BATCH = 16  # HiFi-GAN's batch size
QUICK_BATCH = 2
RTF_SECONDS = 10.0
LAMBDA_FM, LAMBDA_MEL = 2.0, 45.0  # HiFi-GAN's loss weights
ADAM = dict(lr=2e-4, betas=(0.8, 0.99))  # HiFi-GAN's optimiser
SEED = 0
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def istft_generator() -> ISTFTGenerator:
    mel = get_preset(FEATURE_PRESET)
    return ISTFTGenerator(ISTFTGeneratorConfig(n_mels=mel.n_mels, n_fft=mel.n_fft, hop_length=mel.hop_length,
                                               win_length=mel.win_length))


def hifigan(preset: str) -> Callable[[], HiFiGANGenerator]:
    return lambda: HiFiGANGenerator(GENERATOR_PRESETS[preset])


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def gan_step(make_generator: Callable[[], torch.nn.Module], config: DiscriminatorConfig, batch: int,
             mel_fn: torch.nn.Module) -> tuple[Callable[[], None], int, int]:
    """One HiFi-GAN training step as a closure, and the G (weight norm folded) and D parameter counts."""
    torch.manual_seed(SEED)
    gen = make_generator()
    disc = VocoderDiscriminator(config)
    opt_g = torch.optim.AdamW(gen.parameters(), **ADAM)
    opt_d = torch.optim.AdamW(disc.parameters(), **ADAM)
    wav = (0.5 * torch.randn(batch, 1, SEGMENT)).clamp(-1, 1)

    def step() -> None:
        mel = mel_fn(wav[:, 0])
        wav_hat = gen(mel)
        logits_real, _ = disc(wav)
        logits_fake, _ = disc(wav_hat.detach())
        loss_d = adversarial_d_loss(logits_real, logits_fake)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        logits_fake, feats_fake = disc(wav_hat)
        with torch.no_grad():
            _, feats_real = disc(wav)
        loss_g = (adversarial_g_loss(logits_fake) + LAMBDA_FM * feature_matching_loss(feats_real, feats_fake)
                  + LAMBDA_MEL * mel_l1_loss(wav_hat, wav, mel_fn))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    g_params = count(make_generator().remove_weight_norm())
    return step, g_params, count(disc)


def discriminator_pass(config: DiscriminatorConfig, batch: int) -> tuple[Callable[[], None], int]:
    """Forward on a real and a fake batch + backward (what one D update costs), and the parameter count."""
    torch.manual_seed(SEED)
    disc = VocoderDiscriminator(config)
    wav = (0.5 * torch.randn(batch, 1, SEGMENT)).clamp(-1, 1)

    def run() -> None:
        disc.zero_grad(set_to_none=True)
        logits_real, _ = disc(wav)
        logits_fake, _ = disc(wav)
        adversarial_d_loss(logits_real, logits_fake).backward()

    return run, count(disc)


def vocode(make: Callable[[], torch.nn.Module], n_mels: int, frames: int) -> tuple[Callable[[], None], int]:
    """Inference of ``frames`` mel frames (weight norm folded, no autograd), and the parameter count."""
    torch.manual_seed(SEED)
    gen = make().remove_weight_norm().eval()
    mel = torch.randn(1, n_mels, frames)

    def run() -> None:
        with torch.inference_mode():
            gen(mel)

    return run, count(gen)


def fastest_round(calls: dict[str, Callable[[], None]], rounds: int, clock: Callable[[], float]) -> dict[str, float]:
    """Seconds per call of each entry: a warm-up round, then the fastest of ``rounds`` round-robin rounds."""
    best = {name: float("inf") for name in calls}
    for round_index in range(rounds + 1):
        for name, call in calls.items():
            start = clock()
            call()
            if round_index:
                best[name] = min(best[name], clock() - start)
        print(f"  round {round_index}/{rounds} done (load average {os.getloadavg()[0]:.2f})", flush=True)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reference step at batch 2, scaled to 16")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 2 quick, 3 full)")
    parser.add_argument("--clock", choices=CLOCKS, default="wall",
                        help="wall: elapsed time; cpu: this process's CPU time, which other load barely "
                             "changes (use it with --threads 1 on a shared machine: ratios = compute ratios)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rounds = args.rounds or (2 if args.quick else 3)
    feature = get_preset(FEATURE_PRESET)
    mel_fn = MelSpectrogram(feature)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}; segment {SEGMENT} samples, {FEATURE_PRESET} mel "
          f"(hop {feature.hop_length}); {'quick' if args.quick else 'full'} mode, {rounds} rounds, {args.clock} clock",
          flush=True)

    paper, cpu = DISCRIMINATOR_PRESETS["paper"], DISCRIMINATOR_PRESETS["cpu"]
    big_batch = QUICK_BATCH if args.quick else BATCH  # batch of the slow (paper-discriminator) cases
    calls: dict[str, Callable[[], None]] = {}
    scale: dict[str, float] = {}  # seconds of the measured call -> seconds at batch 16
    rows: dict[str, tuple[str, ...]] = {}

    steps = {
        "reference: V1 + MPD/MSD (paper)": (hifigan("v1"), paper, big_batch),
        "V3 + cpu discriminators": (hifigan("v3"), cpu, BATCH),
        "iSTFT + cpu discriminators": (istft_generator, cpu, BATCH),
        "iSTFT + MPD/MSD (paper)": (istft_generator, paper, big_batch),
    }
    for name, (make, config, batch) in steps.items():
        calls[name], g_params, d_params = gan_step(make, config, batch, mel_fn)
        scale[name] = BATCH / batch
        rows[name] = (f"{batch}" + (f"*{BATCH // batch}" if batch != BATCH else ""),
                      f"{g_params / 1e6:.2f}M", f"{d_params / 1e6:.2f}M")

    light_msd = dict(msd_scales=1, msd_channels=(16, 16, 32, 64, 128, 128, 128), msd_groups=(1, 4, 4, 4, 4, 4, 1))
    mrd = dict(mrd_resolutions=cpu.mrd_resolutions, mrd_channels=cpu.mrd_channels, mrd_layers=cpu.mrd_layers)
    families = {  # name -> (config, measured batch); the paper-sized ones use the small batch in quick mode
        "D: MPD paper (32..1024)": (DiscriminatorConfig(msd_scales=0), big_batch),
        "D: MSD paper (3 scales)": (DiscriminatorConfig(periods=()), big_batch),
        "D: MPD light (16..128)": (DiscriminatorConfig(mpd_channels=cpu.mpd_channels, msd_scales=0), BATCH),
        "D: MSD light (1 scale, 16..128)": (DiscriminatorConfig(periods=(), **light_msd), BATCH),
        "D: MRD (3 res., 16 ch PatchGAN)": (DiscriminatorConfig(periods=(), msd_scales=0, **mrd), BATCH),
        "D: cpu preset (MPD light + MRD)": (cpu, BATCH),
    }
    for name, (config, batch) in families.items():
        calls[name], params = discriminator_pass(config, batch)
        scale[name] = BATCH / batch
        rows[name] = (f"{batch}" + (f"*{BATCH // batch}" if batch != BATCH else ""), f"{params / 1e6:.2f}M")

    frames = int(RTF_SECONDS * feature.sample_rate) // feature.hop_length
    generators = {"G: HiFi-GAN V1": hifigan("v1"), "G: HiFi-GAN V3": hifigan("v3"),
                  "G: iSTFTNet (V1 C8C8I)": hifigan("v1_istft"), "G: iSTFT (ConvNeXt x8, 256 ch)": istft_generator}
    for name, make in generators.items():
        calls[name], params = vocode(make, feature.n_mels, frames)
        scale[name] = 1.0 / RTF_SECONDS  # seconds -> real-time factor
        rows[name] = (f"{params / 1e6:.2f}M",)

    print(f"timing {len(calls)} calls round-robin", flush=True)
    best = fastest_round(calls, rounds, CLOCKS[args.clock])
    value = {name: best[name] * scale[name] for name in calls}

    print(f"\n1. one GAN training step (D + G forward/backward + AdamW), batch {BATCH} x {SEGMENT} samples")
    print(f"{'configuration':34s} {'batch':>6s} {'s/step':>8s} {'x faster':>9s} {'G params':>9s} {'D params':>9s}")
    reference = value[next(iter(steps))]
    for name in steps:
        batch, g_params, d_params = rows[name]
        print(f"{name:34s} {batch:>6s} {value[name]:8.2f} {reference / value[name]:9.1f} {g_params:>9s} {d_params:>9s}")

    print(f"\n2. discriminators alone: forward(real) + forward(fake) + backward, batch {BATCH}")
    print(f"{'discriminator':34s} {'batch':>6s} {'s':>8s} {'x faster':>9s} {'params':>9s}")
    d_reference = value[next(iter(families))]
    for name in families:
        batch, params = rows[name]
        print(f"{name[3:]:34s} {batch:>6s} {value[name]:8.2f} {d_reference / value[name]:9.1f} {params:>9s}")

    print(f"\n3. generator forward only, {RTF_SECONDS:g} s of 16 kHz audio (RTF = compute s / audio s)")
    print(f"{'generator':34s} {'RTF':>8s} {'x faster':>9s} {'params':>9s}")
    g_reference = value[next(iter(generators))]
    for name in generators:
        print(f"{name[3:]:34s} {value[name]:8.3f} {g_reference / value[name]:9.1f} {rows[name][0]:>9s}")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f} (numbers from a loaded machine are pessimistic)")


if __name__ == "__main__":
    main()
