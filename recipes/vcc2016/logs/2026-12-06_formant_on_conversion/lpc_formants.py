"""Median F1 / F2 / F3 (Hz) over the voiced frames of each folder's .wav files, by LPC root-finding.

    python recipes/vcc2016/logs/2026-12-06_formant_on_conversion/lpc_formants.py FOLDER [FOLDER ...]

Voiced frames: WORLD DIO + StoneMask at 10 ms. Each 25 ms Hamming frame of the pre-emphasised (0.97) signal gets an
order-18 LPC fit (librosa.lpc); its roots above 200 Hz with bandwidths under 400 Hz, sorted, give the frame's first
three resonances (frames with fewer are skipped). A rough measure: spurious resonances of a vocoder move it too.
"""

from __future__ import annotations

import glob
import sys

import librosa
import numpy as np
import pyworld

from voicegen.audio.io import load_audio

RATE = 16000


def formants(wav: np.ndarray, order: int = 18) -> np.ndarray:
    """``(voiced frames, 3)`` first three resonances in Hz."""
    x = wav.astype(np.float64)
    f0, t = pyworld.dio(x, RATE, frame_period=10.0)
    f0 = pyworld.stonemask(x, f0, t, RATE)
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    win, hop = int(0.025 * RATE), int(0.010 * RATE)
    found = []
    for i, f in enumerate(f0):
        start = i * hop - win // 2
        if f <= 0 or start < 0 or start + win > len(x):
            continue
        frame = x[start:start + win] * np.hamming(win)
        if np.abs(frame).max() < 1e-4:
            continue
        roots = np.roots(librosa.lpc(frame, order=order))
        roots = roots[np.imag(roots) > 0]
        freq = np.angle(roots) * RATE / (2 * np.pi)
        bandwidth = -np.log(np.abs(roots)) * RATE / np.pi
        freq = np.sort(freq[(freq > 200) & (bandwidth < 400)])
        if len(freq) >= 3:
            found.append(freq[:3])
    return np.array(found).reshape(-1, 3)


def main() -> None:
    for folder in sys.argv[1:]:
        found = np.concatenate([formants(load_audio(path)) for path in sorted(glob.glob(f"{folder}/*.wav"))])
        f1, f2, f3 = np.median(found, axis=0)
        print(f"{folder}: frames {len(found)}  F1 {f1:.0f}  F2 {f2:.0f}  F3 {f3:.0f}")


if __name__ == "__main__":
    main()
