"""Copy-synthesis through the shipped vocoder16k with F0 rows made as live conversion makes them (2026-12-06).

    python recipes/vcc2016/logs/2026-12-06_live_f0_subframes/live_f0_copy.py VARIANT SRC_FOLDER OUT_FOLDER

VARIANT: ``offline`` (the vocoder's own F0 rows, as ``voicegen vocode``), ``offline_fill0`` (unvoiced runs
held instead of interpolated, as live), ``live_s1`` (the live tracker: 80 ms pushes, 16 frames of context,
2 of lookahead, fill_frames 0, one DIO frame per hop) or ``live_s4`` (the same with the vocoder's 4 sub-frames);
``_la3`` / ``_la4`` after a live variant: 3 / 4 frames of lookahead. Prints the share of voiced frames more
than 100 cents from the offline rows. Each output is frames * hop samples long (up to 255 samples shorter than
its input, which moves DNSMOS by a few hundredths: see ../2026-12-06_dnsmos_framing/).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

import voicegen
from voicegen.audio.f0 import F0Stream, f0_rows
from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.infer.vocode import load_vocoder

PUSH_SAMPLES = 1280  # live conversion's default 80 ms block


def live_rows(wav: np.ndarray, vocoder, subframes: int, lookahead: int) -> np.ndarray:
    config = dataclasses.replace(vocoder.f0_config, fill_frames=0, dio_subframes=subframes)
    stream = F0Stream(vocoder.sample_rate, vocoder.hop_length, config, block_frames=None, context_frames=16,
                      lookahead_frames=lookahead)
    parts = [stream.push(wav[i:i + PUSH_SAMPLES]) for i in range(0, len(wav), PUSH_SAMPLES)] + [stream.finish()]
    return np.concatenate([p for p in parts if p.shape[1]], axis=1)


def main() -> None:
    variant, src, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    vocoder = load_vocoder(Path(voicegen.__file__).parent / "assets" / "models" / "vocoder16k", runtime="torch")
    sr, hop = vocoder.sample_rate, vocoder.hop_length
    far = []
    for path in sorted(src.glob("*.wav")):
        wav = load_audio(path, sr)
        mel = compute_mel(wav, vocoder.feature_config)
        offline = f0_rows(wav, sr, hop, vocoder.f0_config)
        if variant == "offline":
            rows = offline
        elif variant == "offline_fill0":
            rows = f0_rows(wav, sr, hop, dataclasses.replace(vocoder.f0_config, fill_frames=0))
        else:
            parts = variant.split("_")
            lookahead = int(parts[2][2:]) if len(parts) > 2 else 2
            rows = live_rows(wav, vocoder, int(parts[1][1:]), lookahead)
        rows = rows[:, :mel.shape[1]]
        voiced = (rows[1] > 0) & (offline[1, :rows.shape[1]] > 0)
        cents = 1200 * np.abs(rows[0] - offline[0, :rows.shape[1]]) / np.log(2)
        far.append(float((cents[voiced] > 100).mean()))
        sf.write(out / path.name, vocoder.wav_from_mel(mel, rows), sr)
    print(f"{variant} {src.name}: voiced frames > 100 cents from the offline rows {np.mean(far):.4f}")


if __name__ == "__main__":
    main()
