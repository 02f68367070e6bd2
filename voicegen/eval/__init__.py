"""Objective evaluation of converted and vocoded speech.

Modules, one concept each:

* :mod:`.dtw` — exact dynamic time warping between feature sequences.
* :mod:`.mcd` — mel-cepstrum from WORLD envelopes and mel-cepstral distortion (the definition).
* :mod:`.f0` — WORLD F0 and the F0 metrics (log-F0 RMSE in cents, correlation, V/UV error).
* :mod:`.analysis` — one utterance -> F0 + mel-cepstrum over its speech span; ``compare``.
* :mod:`.spectral` — copy-synthesis metrics for vocoders (LSD, mel L1, PESQ, STOI).
* :mod:`.speaker` — speaker similarity from Resemblyzer embeddings (optional package).
* :mod:`.pairing` — pair files by name, one sample rate.
* :mod:`.report`, :mod:`.plots` — the CSV, the summary JSON and the figures.
* :mod:`.evaluate` — ``evaluate_folders``, the library side of ``voicegen eval``.
* :mod:`.baselines` — no conversion, and per-bin mel mean/variance transfer.
* :mod:`.image_metrics`, :mod:`.image_eval` — classifier accuracy and Fréchet distance of image models.

Dependencies: eval may import :mod:`voicegen.infer` (it scores what the pipelines produce, e.g.
``image_eval`` samples through ``infer.image``); infer never imports eval, so inference runs
without the metrics and their optional packages. What both need sits below them
(``models.classifier``, ``formats.image``, ``artifact_guard``); ``tests/test_imports.py`` checks it.

Import the submodules directly; this package imports nothing so that ``import voicegen.eval``
stays free of pyworld and torch.
"""
