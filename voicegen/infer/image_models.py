"""Where the image models are: a folder, the name of one shipped in the package, or a role's default.

Only the standard library is imported, so that the image commands check ``--model`` before they
import torch (:mod:`voicegen.infer.image` loads the models).
"""

from __future__ import annotations

import os
from pathlib import Path

from voicegen.errors import ArtifactError

PACKAGE_IMAGE_MODELS = Path(__file__).resolve().parent.parent / "assets" / "models" / "image"
"""Image models shipped inside the package."""
DEFAULT_MODELS = {"gan": "mnist_cgan", "vae": "mnist_vae", "cyclegan": "digits_cyclegan",
                  "classifier": "mnist_classifier"}
"""The shipped model each role uses when none is given."""


def resolve_image_model(model: str | os.PathLike | None, role: str) -> Path:
    """The model folder for ``role`` (gan, vae, cyclegan, classifier): ``model`` as a path, or as the
    name of a shipped model, or (None) the shipped default; ArtifactError listing the shipped ones."""
    if role not in DEFAULT_MODELS:
        raise ValueError(f"role must be one of {', '.join(DEFAULT_MODELS)}, got {role!r}")
    name = DEFAULT_MODELS[role] if model is None else model
    path = Path(name)
    if path.exists():
        return path
    shipped = PACKAGE_IMAGE_MODELS / str(name)
    if str(name) == path.name and shipped.is_dir():
        return shipped
    available = sorted(p.name for p in PACKAGE_IMAGE_MODELS.iterdir()) if PACKAGE_IMAGE_MODELS.is_dir() else []
    raise ArtifactError(f"{name}: no such model folder, nor a shipped image model (shipped: "
                        f"{', '.join(available) or 'none'}); pass --model PATH")
