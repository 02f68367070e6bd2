"""voicegen.infer.batch: one engine for `voicegen convert`, `vocode` and `features` on many files.

* :mod:`~voicegen.infer.batch.inputs` — a file, folder, glob or list file -> jobs with mirrored,
  contained output paths.
* :mod:`~voicegen.infer.batch.manifest` — the append-only JSONL manifest (status, durations, RTF,
  errors) that makes a re-run skip finished files.
* :mod:`~voicegen.infer.batch.workers` — the per-file functions and the spec a worker builds one
  from: a command's typed options (:mod:`voicegen.infer.options`), model and device, sent as JSON
  (one model load per worker).
* :mod:`~voicegen.infer.batch.engine` — ``run_inputs``/``run_batch``: plan against the manifest, run on this
  process, worker processes (``local.py``) or Ray actors (``ray_backend.py``), report (``report.py``).

Torch is imported only where a model is built (in the workers).
"""
