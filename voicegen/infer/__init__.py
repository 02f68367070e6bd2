"""voicegen.infer: pipelines that compose exported models and the audio front end; they never train.

* :mod:`voicegen.infer.vocode` — log-mel or audio -> waveform with a ``vocoder`` artifact.

Submodules import torch; import them directly (``from voicegen.infer.vocode import load_vocoder``).
"""
