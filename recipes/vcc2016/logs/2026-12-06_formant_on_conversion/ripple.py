"""Does removing (part of) the converted mel's harmonic ripple help the vocoder? alpha = the share removed (a trial).

    python ripple.py ALPHA OUT   (from the repository root; then voicegen eval as in tables.txt)

The ripple is the log-mel minus its F0-adaptive envelope (voicegen.infer.formant.envelope_matrices at the converted
F0); the stage is swapped in where --formant would run."""
import glob
import os
import sys

import numpy as np

from voicegen.infer import convert as C
from voicegen.infer.formant import F0_TABLE, envelope_matrices
from voicegen.infer.stream import Map

alpha = float(sys.argv[1]); out = sys.argv[2]
conv = C.Converter('voicegen/assets/models/vcc2016_sf1_tm1', 'cpu', runtime='onnx')
fc = conv.feature_config; n = fc.n_mels
S = envelope_matrices(fc, F0_TABLE).astype(np.float32); logf = np.log(F0_TABLE)
def fn(rows):
    mel, lf0 = rows[:n], rows[n]
    idx = np.abs(logf[:, None] - lf0[None]).argmin(0)
    outm = mel.copy()
    for i in np.unique(idx):
        sel = idx == i
        env = S[i] @ mel[:, sel]
        outm[:, sel] = mel[:, sel] - alpha * (mel[:, sel] - env)
    return np.concatenate([outm, rows[n:]], 0).astype(np.float32)
C.formant_stage = lambda config, semitones: Map(fn, n + 2)
os.makedirs(out, exist_ok=True)
for f in sorted(glob.glob('/work/shared/data/vcc2016/dev_parallel/SF1/*.wav')):
    conv.convert_file(f, os.path.join(out, os.path.basename(f)), 'SF1', 'TM1', formant=1e-6, overwrite=True)
