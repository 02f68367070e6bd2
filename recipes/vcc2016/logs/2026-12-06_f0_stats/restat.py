"""Copy a converter bundle with its speakers' log-F0 statistics re-tracked with other F0 settings (a trial tool).

    python restat.py --bundle voicegen/assets/models/vcc2016_sf1_tm1 --out COPY \
        --f0 '{"f0_min": 60, "voicing_threshold": 0.2, "dio_subframes": 4}' \
        --data SF1=DATA/vcc2016/SF1 --data TM1=DATA/vcc2016/TM1

Each speaker's mean and std of natural-log F0 over voiced frames (and the voiced-frame count) are
recomputed from every audio file under its folder, as `voicegen stats` does but with the given
`voicegen.audio.f0.F0Config` fields; everything else in the bundle is copied unchanged. `--f0 '{}'`
reproduces the shipped statistics exactly (checked: same four figures).
"""

import argparse
import json
import shutil

import numpy as np

from voicegen.audio.f0 import F0Config, track_f0
from voicegen.audio.io import load_audio
from voicegen.audio.stats import list_audio_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--f0", default="{}", help="F0Config fields as JSON")
    parser.add_argument("--data", action="append", default=[], metavar="SPEAKER=FOLDER")
    args = parser.parse_args()
    config = F0Config(**json.loads(args.f0))
    shutil.copytree(args.bundle, args.out)
    meta_path = f"{args.out}/artifact.json"
    meta = json.load(open(meta_path))
    rate, hop = meta["mel"]["sample_rate"], meta["mel"]["hop_length"]
    for item in args.data:
        speaker, folder = item.split("=", 1)
        stats = meta["stats"][speaker]
        f0 = np.concatenate([track_f0(load_audio(p, rate), rate, hop, config) for p in list_audio_files(folder)])
        lf0 = np.log(f0[f0 > 0])
        print(f"{speaker}: log-F0 mean {stats['log_f0_mean']:.4f} -> {lf0.mean():.4f}, std {stats['log_f0_std']:.4f} -> "
              f"{lf0.std():.4f}, voiced frames {stats['num_voiced_frames']} -> {lf0.size}")
        stats.update(log_f0_mean=float(lf0.mean()), log_f0_std=float(lf0.std()), num_voiced_frames=int(lf0.size))
    with open(meta_path, "w") as fh:
        json.dump(meta, fh, indent=2)


if __name__ == "__main__":
    main()
