"""Relative harmonic phases of recordings and of their copy-synthesis by the shipped vocoder (torch, whole file).

    python recipes/vocoder16k/logs/2026-12-06_harmonic_phase/phase_diag.py ../shared/data/vcc2016/dev_parallel/SF1

At each voiced frame centre (the vocoder's F0 rows), the complex amplitude of harmonic h (1..10) over a 3-period Hann
window; r_h = phase_h - h * phase_1 does not depend on where the pulse train starts. Printed per h: how consistent r_h
is over frames in the recordings (R_rec, the mean resultant length) and in the copy-synthesis (R_gen), and the
frame-by-frame difference recording - generated (its mean resultant length and circular mean in degrees).
"""
import glob
import sys

import numpy as np
import torch

from voicegen.audio.f0 import f0_rows
from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.infer.vocode import load_vocoder

torch.set_num_threads(1)
voc = load_vocoder('/work/main/voicegen/assets/models/vocoder16k', runtime='torch')
fc = voc.feature_config; sr, hop = fc.sample_rate, fc.hop_length
H = 10
def harm(x, centres, f0s):
    out = np.full((len(centres), H), np.nan + 0j)
    for j, (c, f) in enumerate(zip(centres, f0s)):
        L = int(round(3 * sr / f)); L += L % 2 == 0
        s = c - L // 2
        if s < 0 or s + L > len(x): continue
        n = np.arange(L) - L // 2
        seg = x[s:s + L] * np.hanning(L)
        hs = np.arange(1, H + 1)
        out[j] = (seg[None] * np.exp(-2j * np.pi * hs[:, None] * f * n[None] / sr)).sum(1)
    return out
R = {k: [] for k in ('rec', 'gen')}
D = []; A = []
for path in sorted(glob.glob(sys.argv[1] + '/*.wav')):
    x = load_audio(path)
    rows = f0_rows(x, sr, hop, voc.f0_config); mel = compute_mel(x, fc)
    n = min(rows.shape[1], mel.shape[1]); rows, mel = rows[:, :n], mel[:, :n]
    y = voc.wav_from_mel(mel, rows)
    m = min(len(x), len(y))
    xx, yy = x[:m], y[:m]
    voiced = np.where(rows[1] > 0.5)[0]
    f0 = np.exp(rows[0, voiced]); centres = voiced * hop + hop // 2
    hx = harm(xx, centres, f0); hy = harm(yy, centres + 0, f0)
    ok = ~np.isnan(hx[:, 0]) & ~np.isnan(hy[:, 0]) & (np.abs(hx[:, 0]) > 1e-3)
    hx, hy, f0 = hx[ok], hy[ok], f0[ok]
    hs = np.arange(1, H + 1)
    rx = np.angle(hx) - hs * np.angle(hx[:, :1]); ry = np.angle(hy) - hs * np.angle(hy[:, :1])
    R['rec'].append(np.exp(1j * rx)); R['gen'].append(np.exp(1j * ry)); D.append(np.exp(1j * (rx - ry)))
    A.append(np.abs(hx))
    print(path.split('/')[-1], 'frames', ok.sum(), file=sys.stderr)
rec = np.concatenate(R['rec']); gen = np.concatenate(R['gen']); d = np.concatenate(D)
print('h   R_rec  R_gen  R_diff  mean_diff_deg')
for h in range(1, H):
    print(h + 1, f"{np.abs(rec[:, h].mean()):.2f}  {np.abs(gen[:, h].mean()):.2f}  {np.abs(d[:, h].mean()):.2f}  {np.degrees(np.angle(d[:, h].mean())):.0f}")
