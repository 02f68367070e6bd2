"""Reading an artifact's ``artifact.json`` without torch: the one reader that checks its layout.

The artifact layout itself (``weights.safetensors`` + ``artifact.json``) is written by
:func:`voicegen.checkpoint.save_artifact`; what each family stores in ``config``/``mel``/``stats``
is documented in its :mod:`voicegen.formats` module. This module imports only the standard
library, so listing bundles and checking metadata stay fast.

JSON from a file is bounded before it is parsed (:func:`parse_json`): at most
:data:`MAX_JSON_BYTES` and :data:`MAX_JSON_DEPTH` levels of nesting, so a crafted artifact.json
is one ArtifactError line (a skipped bundle in `voicegen models`), never a RecursionError or a
memory blow-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from voicegen.errors import ArtifactError
from voicegen.pathcheck import not_regular_message, special_file_kind

FORMAT_VERSION = 1
"""Version of the artifact/checkpoint layout written by this voicegen; larger numbers are refused."""
ARTIFACT_META = "artifact.json"
ARTIFACT_WEIGHTS = "weights.safetensors"
# Fields every artifact.json holds, with their JSON types.
REQUIRED_FIELDS: dict[str, type] = {"kind": str, "weights_sha256": str, "config": dict, "modules": list}
MAX_JSON_BYTES = 16 << 20
"""Largest metadata JSON read (16 MiB; the shipped artifact.json files hold 1-22 KB)."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays/objects read (voicegen writes at most ~6 levels)."""
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def artifact_meta_text(meta: dict) -> str:
    """How ``artifact.json`` is written (two-space indent, no NaN, a final newline): by
    :func:`voicegen.checkpoint.save_artifact` and by the in-place edits of a family's format module."""
    return json.dumps(meta, indent=2, allow_nan=False) + "\n"


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
    if not meta_path.exists():
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
    """``meta_path`` parsed as a JSON object (within the size and nesting bounds); one-line
    ArtifactError otherwise."""
    kind = special_file_kind(meta_path)
    if kind is not None:
        raise ArtifactError(not_regular_message(meta_path, kind))
    try:
        size = meta_path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ArtifactError(f"{meta_path}: {size} bytes, beyond the {MAX_JSON_BYTES >> 20} MiB a metadata file "
                                "may hold (voicegen.artifact_meta.MAX_JSON_BYTES); re-export the model")
        meta = parse_json(meta_path.read_text(encoding="utf-8"), str(meta_path))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ArtifactError(f"{meta_path}: invalid JSON ({' '.join(str(err).split())}); re-export the model") from None
    if not isinstance(meta, dict):
        raise ArtifactError(f"{meta_path}: not a JSON object; re-export the model")
    return meta


def parse_json(text: str, where: str, hint: str = "re-export the model") -> object:
    """``json.loads(text)`` once ``text`` is within MAX_JSON_BYTES and MAX_JSON_DEPTH (checked on
    the text, before parsing); ArtifactError naming ``where`` (ending with ``hint``) otherwise,
    ValueError for bad JSON."""
    if len(text) > MAX_JSON_BYTES:
        raise ArtifactError(f"{where}: {len(text)} characters of JSON, beyond the {MAX_JSON_BYTES >> 20} MiB limit "
                            f"(voicegen.artifact_meta.MAX_JSON_BYTES); {hint}")
    if json_too_deep(text, MAX_JSON_DEPTH):
        raise ArtifactError(f"{where}: JSON nested more than {MAX_JSON_DEPTH} levels deep (the limit, "
                            f"voicegen.artifact_meta.MAX_JSON_DEPTH); not voicegen metadata, {hint}")
    return json.loads(text)


def json_too_deep(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays/objects more than ``limit`` deep (brackets inside strings
    ignored); stops at the first bracket beyond the limit."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if len(brackets) <= limit:
        return False
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False


def read_kind_meta(path: str | os.PathLike, kind: str) -> dict:
    """:func:`read_artifact_meta` of an artifact that must be of ``kind`` (ArtifactError naming both otherwise)."""
    meta = read_artifact_meta(path)
    if meta.get("kind") != kind:
        raise ArtifactError(f"{path}: is a {meta.get('kind')!r} artifact, expected {kind!r}; pass the right model folder")
    return meta


HASH_CHUNK_BYTES = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MB chunks (the ``weights_sha256`` of artifacts)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
