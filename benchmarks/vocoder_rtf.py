"""Real-time factor of the shipped default vocoder against HiFi-GAN V1 and V3, measured in one run.

    python benchmarks/vocoder_rtf.py [--threads 1] [--seconds 10] [--repeats 5]

RTF = compute seconds / audio seconds for mel -> waveform on ``--seconds`` of real 16 kHz speech
(fastest of ``--repeats``). HiFi-GAN generators are randomly initialised at paper size (their speed
does not depend on the weights), with weight norm removed as in an export.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from timing import best_time  # benchmarks/timing.py

from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path
from voicegen.infer.vocode import load_vocoder
from voicegen.models.vocoder import GENERATOR_PRESETS, HiFiGANGenerator

REPO = Path(__file__).resolve().parent.parent
CLIP = REPO / "samples" / "audio" / "78-368-0000.flac"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shipped = load_vocoder(vocoder_path(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"), "cpu")
    config = shipped.feature_config
    wav = load_audio(CLIP, config.sample_rate)[: int(args.seconds * config.sample_rate)]
    seconds = len(wav) / config.sample_rate
    mel = compute_mel(wav, config)
    rows = {}
    for name in ("v1", "v3"):
        generator = HiFiGANGenerator(GENERATOR_PRESETS[name]).remove_weight_norm().eval()
        mel_t = torch.from_numpy(np.ascontiguousarray(mel))[None]
        with torch.inference_mode():
            rows[f"HiFi-GAN {name.upper()}"] = best_time(lambda: generator(mel_t), args.repeats) / seconds
    rows["shipped default (iSTFT)"] = best_time(lambda: shipped.wav_from_mel(mel), args.repeats) / seconds
    base = rows["HiFi-GAN V1"]
    print(f"{seconds:.1f} s of 16 kHz speech, {args.threads} thread(s), best of {args.repeats}")
    print(f"{'vocoder':26s} {'RTF':>8s} {'x faster than V1':>18s}")
    for name, rtf in rows.items():
        print(f"{name:26s} {rtf:8.4f} {base / rtf:18.1f}")


if __name__ == "__main__":
    main()
