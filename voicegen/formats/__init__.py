"""voicegen.formats: one module per saved model family (vocoder, cyclegan, vae, image), its writer and reader.

Each module opens with the format it writes, field by field, and holds the family's artifact
``KIND`` string, ``save_*`` (used by training and export) and the loaders (used by inference and
fine-tuning), so a field the writer adds is read in the same file. The kind strings and metadata
readers import neither torch nor the models: ``voicegen models`` and bundle checks stay light;
the weights side imports torch when called.

The image family (:mod:`voicegen.formats.image`) is only part-way there: its module describes the
four image formats and holds the shared ``extra`` fields and the classifier loader, while its kind
strings live in :mod:`voicegen.image.contract`, its writers in ``voicegen.train.image`` and its
other loaders in :mod:`voicegen.infer.image`.

Imports flow ``models -> formats -> (train | infer)``.
"""
