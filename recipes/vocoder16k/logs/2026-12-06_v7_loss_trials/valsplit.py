"""Validation / all-file means of a scored candidate (what selection.txt lists):

    python valsplit.py X [X ...]

X holds SF1.eval, TM1.eval and LJ.eval (``voicegen eval --copy-synthesis ... --out X/SPK.eval``); validation files are
SF1 / TM1 200001-200003 and LJ001-0001..0006, as for v3-v5; "mean val MCD" is the mean of the three sets' means.
"""

import csv
import sys

import numpy as np

VAL = {"SF1": {"200001", "200002", "200003"}, "TM1": {"200001", "200002", "200003"},
       "LJ": {f"LJ001-000{i}" for i in range(1, 7)}}
KEYS = ("mcd_db", "f0_rmse_cents", "dnsmos_ovrl")

for folder in sys.argv[1:]:
    parts, val_mcd = [], []
    for speaker in ("SF1", "TM1", "LJ"):
        with open(f"{folder}/{speaker}.eval/per_file.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for part, chosen in (("val", [r for r in rows if r["name"] in VAL[speaker]]), ("all", rows)):
            mcd, f0, dnsmos = (float(np.mean([float(r[k]) for r in chosen])) for k in KEYS)
            parts.append(f"{speaker} {part} {mcd:.3f}/{f0:.0f}/{dnsmos:.3f}")
            if part == "val":
                val_mcd.append(mcd)
    print(f"{folder.rstrip('/').split('/')[-1]}: mean val MCD {np.mean(val_mcd):.3f} | " + " | ".join(parts))
