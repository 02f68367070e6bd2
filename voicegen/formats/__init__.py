"""voicegen.formats: one module per saved model family (vocoder, cyclegan, vae, image), its writer and reader.

Each module opens with the format it writes, field by field, and holds the family's artifact
``KIND`` string, ``save_*`` (used by training and export) and the loaders (used by inference and
fine-tuning), so a field the writer adds is read in the same file. The kind strings and metadata
readers import neither torch nor the models: ``voicegen models`` and bundle checks stay light;
the weights side imports torch when called.

The image family (:mod:`voicegen.formats.image`) holds its four kinds' writers and loaders; its
kind strings live in :mod:`voicegen.image.contract` beside the image contract they carry.

Imports flow ``models -> formats -> (train | infer)``.
"""
