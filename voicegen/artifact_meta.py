"""Reading an artifact's ``artifact.json`` without torch: the one reader that checks its layout.

The artifact layout itself (``weights.safetensors`` + ``artifact.json``) is written by
:func:`voicegen.checkpoint.save_artifact`; what each family stores in ``config``/``mel``/``stats``
is documented in its :mod:`voicegen.formats` module. This module imports only the standard
library, so listing bundles and checking metadata stay fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from voicegen.errors import ArtifactError

FORMAT_VERSION = 1
"""Version of the artifact/checkpoint layout written by this voicegen; larger numbers are refused."""
ARTIFACT_META = "artifact.json"
ARTIFACT_WEIGHTS = "weights.safetensors"
# Fields every artifact.json holds, with their JSON types.
REQUIRED_FIELDS: dict[str, type] = {"kind": str, "weights_sha256": str, "config": dict, "modules": list}


def read_artifact_meta(path: str | os.PathLike) -> dict:
    """The parsed ``artifact.json`` of the artifact folder ``path``, after checking its format version
    and required fields; one-line ArtifactError naming the path otherwise."""
    root = Path(path)
    if not root.exists():
        raise ArtifactError(f"{root}: artifact not found; check the path (an artifact is a folder "
                            f"holding {ARTIFACT_META} and {ARTIFACT_WEIGHTS})")
    if not root.is_dir():
        raise ArtifactError(f"{root}: is a file; pass the artifact folder (the one holding {ARTIFACT_META})")
    meta_path = root / ARTIFACT_META
    if not meta_path.is_file():
        raise ArtifactError(f"{root}: {ARTIFACT_META} is missing; this is not a voicegen artifact "
                            "(re-export the model)")
    meta = read_json_object(meta_path)
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ArtifactError(f"{meta_path}: missing or invalid 'format_version'; re-export the model")
    if version > FORMAT_VERSION:
        raise ArtifactError(f"{root}: written by a newer voicegen (format {version} > {FORMAT_VERSION}); "
                            "upgrade voicegen")
    for field, kind in REQUIRED_FIELDS.items():
        if not isinstance(meta.get(field), kind):
            raise ArtifactError(f"{meta_path}: missing or invalid '{field}'; re-export the model")
    return meta


def read_json_object(meta_path: Path) -> dict:
    """``meta_path`` parsed as a JSON object; one-line ArtifactError otherwise."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ArtifactError(f"{meta_path}: invalid JSON ({' '.join(str(err).split())}); re-export the model") from None
    if not isinstance(meta, dict):
        raise ArtifactError(f"{meta_path}: not a JSON object; re-export the model")
    return meta
