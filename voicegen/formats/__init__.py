"""voicegen.formats: one module per saved model family, the writer and the reader side by side.

Each module opens with the format it writes, field by field, and holds the family's artifact
``KIND`` string, ``save_*`` (used by training and export) and the loaders (used by inference and
fine-tuning), so a field the writer adds is read in the same file. The kind strings and metadata
readers import neither torch nor the models: ``voicegen models`` and bundle checks stay light;
the weights side imports torch when called.

Imports flow ``models -> formats -> (train | infer)``.
"""
