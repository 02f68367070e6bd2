"""Inference-time test: rotate the harmonic part's phase by a fixed function of the harmonic index (degrees for
h = 2, 3, ..., e.g. the circular means phase_diag.py prints, times SCALE) and score DNSMOS.

    python phase_fix.py FOLDER DEG2,DEG3,... SCALE
"""
import glob
import sys

import numpy as np
import torch

from voicegen.audio.f0 import f0_rows
from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.eval.naturalness import dnsmos_scores
from voicegen.infer.vocode import load_vocoder
from voicegen.models.vocoder import source_filter as sfm

torch.set_num_threads(2)
voc = load_vocoder('/work/main/voicegen/assets/models/vocoder16k', runtime='torch')
gen = voc.generator; fc = voc.feature_config; sr, hop = fc.sample_rate, fc.hop_length
deltas = np.array([float(v) for v in sys.argv[2].split(',')])  # degrees for h = 2..
scale = float(sys.argv[3])
hs = np.arange(1, len(deltas) + 2); dtab = np.radians(np.concatenate([[0.0], deltas])) * scale
orig = sfm.SourceFilterGenerator.spectrum_parts
def patched(self, x):
    harmonic, residual = orig(self, x)
    lf0 = x[:, self.config.n_mels + sfm.LF0_ROW]
    f0 = lf0.exp()  # (B, frames)
    fk = torch.arange(self.n_bins, dtype=torch.float32) * sr / self.config.n_fft
    h = fk[None, :, None] / f0[:, None, :]  # (B, bins, frames)
    d = torch.from_numpy(np.interp(h.numpy(), hs, dtab, right=0.0)).float()
    d = torch.where(h > hs[-1] + 0.5, torch.zeros_like(d), d)
    return harmonic * torch.polar(torch.ones_like(d), d), residual
if scale != 0:
    sfm.SourceFilterGenerator.spectrum_parts = patched
scores = []
for path in sorted(glob.glob(sys.argv[1] + '/*.wav')):
    x = load_audio(path)
    rows = f0_rows(x, sr, hop, voc.f0_config); mel = compute_mel(x, fc)
    n = min(rows.shape[1], mel.shape[1])
    with torch.no_grad():
        y = voc.wav_from_mel(mel[:, :n], rows[:, :n])
    scores.append(dnsmos_scores(np.clip(y, -1, 1), sr, framings=4)['dnsmos_ovrl'])
print(sys.argv[3], f"DNSMOS {np.mean(scores):.3f}", ' '.join(f'{s:.2f}' for s in scores))
