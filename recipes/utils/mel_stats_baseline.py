"""Baseline: per-bin mel mean/variance transfer (source stats -> target stats), vocoded.

    python recipes/utils/mel_stats_baseline.py BUNDLE SOURCE TARGET IN_DIR OUT_DIR

BUNDLE is a converter bundle (its stored speaker statistics and embedded vocoder are used).
"""

import sys

from voicegen.audio.stats import SpeakerStats
from voicegen.checkpoint import read_artifact_meta
from voicegen.eval.baselines import mel_stats_transfer_folder
from voicegen.infer.bundles import vocoder_path
from voicegen.infer.vocode import load_vocoder


def main(bundle: str, source: str, target: str, in_dir: str, out_dir: str) -> None:
    stats = read_artifact_meta(bundle)["stats"]
    vocoder = load_vocoder(vocoder_path(bundle), "cpu")
    written = mel_stats_transfer_folder(in_dir, out_dir, SpeakerStats.from_dict(stats[source]),
                                        SpeakerStats.from_dict(stats[target]), vocoder.wav_from_mel,
                                        f0=vocoder.f0_config, overwrite=True)
    print(f"wrote {len(written)} files to {out_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:])
