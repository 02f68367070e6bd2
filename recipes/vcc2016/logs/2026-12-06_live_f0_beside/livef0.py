"""Live conversion of a folder in-process, 80 ms pushes as `voicegen stream` makes them, with the F0 stage where
it was before this change (``apart``: F0, then its mapping beside the converter) or beside mel -> converter
(``beside``, the default now), tracking F0 with ``F0_LOOKAHEAD`` future frames.

    python livef0.py apart|beside F0_LOOKAHEAD SRC_DIR OUT_DIR SOURCE TARGET

``apart 2`` is the chain before 85a02e8, ``beside 3`` the chain after it (default settings).
"""

import glob
import os
import sys

import numpy as np
import soundfile as sf
import torch

from voicegen.audio.io import load_audio
from voicegen.infer.bundles import resolve
from voicegen.infer.convert import Converter
from voicegen.infer.live import LiveConverter
from voicegen.infer.options import ConvertOptions

where, lookahead, src, out, source, target = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
assert where in ("apart", "beside"), where
LiveConverter.f0_lookahead_frames = property(lambda self: lookahead)
if where == "apart":
    stages = Converter.stages
    Converter.stages = lambda self, *args, **kw: stages(self, *args, **{**kw, "f0_beside": False})
torch.set_num_threads(1)
os.makedirs(out, exist_ok=True)
converter = Converter(resolve(target, source)[0])
for path in sorted(glob.glob(f"{src}/*.wav")):
    chain = LiveConverter(converter, ConvertOptions(source=source, target=target))
    wav = load_audio(path, 16000)
    n = chain.block_samples
    pieces = [chain.push(wav[i:i + n]) for i in range(0, len(wav), n)] + [chain.finish()]
    sf.write(f"{out}/{os.path.basename(path)}", np.concatenate(pieces)[:len(wav)], 16000)
