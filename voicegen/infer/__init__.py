"""voicegen.infer: pipelines that compose exported models and the audio front end; they never train.

* :mod:`voicegen.infer.vocode` — log-mel or audio -> waveform with a ``vocoder`` artifact.
* :mod:`voicegen.infer.cyclegan` — load a ``cyclegan`` bundle; convert log-mels between its speakers.
* :mod:`voicegen.infer.convert` — audio file -> converted audio (mel, converter, vocoder).
* :mod:`voicegen.infer.options` — each file command's typed, JSON-able per-file options (torch-free).
* :mod:`voicegen.infer.commands` — one entry per command: options and a file, folder, glob or list in.
* :mod:`voicegen.infer.bundles` — find bundles by speaker name (search order), package bundles.

Submodules import torch; import them directly (``from voicegen.infer.vocode import load_vocoder``).
Inference never imports :mod:`voicegen.eval` (eval imports infer to score its outputs), nor
train; within infer, ``vocode`` uses ``onnx_runtime`` and never the other way round.
"""
