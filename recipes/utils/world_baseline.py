"""Baseline with no training at all: WORLD analysis, log-Gaussian F0 transform, per-dimension
mean/variance transfer of the coded spectral envelope, WORLD synthesis (voicegen.eval.world).

    python recipes/utils/world_baseline.py TRAIN_SRC TRAIN_TRG IN_DIR OUT_DIR

TRAIN_SRC / TRAIN_TRG: the two speakers' training folders (their WORLD statistics);
IN_DIR: the source speech to convert; OUT_DIR: mirrored .wav files (peaks above full scale are
scaled to 0.99).
"""

import sys
from pathlib import Path

import numpy as np

from voicegen.audio.io import load_audio
from voicegen.audio.stats import list_audio_files
from voicegen.audio.writer import GUARD_PEAK, save_audio
from voicegen.eval.pairing import list_named_audio
from voicegen.eval.world import semitone_shift, world_convert, world_speaker_stats

SAMPLE_RATE = 16000


def main(train_src: str, train_trg: str, in_dir: str, out_dir: str) -> None:
    source = world_speaker_stats(list_audio_files(train_src), SAMPLE_RATE)
    target = world_speaker_stats(list_audio_files(train_trg), SAMPLE_RATE)
    print(f"WORLD statistics: mean log-F0 moves {semitone_shift(source, target):+.1f} semitones")
    named = list_named_audio(in_dir, "source")
    for name, path in named.items():
        wav = world_convert(load_audio(path, SAMPLE_RATE), SAMPLE_RATE, source, target)
        peak = float(np.abs(wav).max())
        if peak > 1.0:
            wav = wav * (GUARD_PEAK / peak)
        save_audio(Path(out_dir) / f"{name}.wav", wav, SAMPLE_RATE, overwrite=True)
    print(f"wrote {len(named)} files to {out_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:])
