"""Training checkpoints and export artifacts, stored as safetensors + JSON (never executable code).

Two kinds of file, kept apart on purpose (resume state is not what ships):

* **Nested state** (:func:`save_state` / :func:`load_state`) — any nesting of dict (str or int keys),
  list, tuple, int, float (inf/nan too), str, bool, None, torch tensors and numpy arrays/scalars.
  Tensors go into one safetensors file under generated keys (``t0``, ``t1``...); the structure
  goes as JSON into the safetensors header. Optimizer and scheduler state dicts and the torch,
  numpy and python RNG states round-trip exactly. Training checkpoints
  (:func:`save_training_checkpoint`) are such files under ``<run_dir>/checkpoints/``.
* **Artifacts** (:func:`save_artifact` / :func:`load_artifact`) — what ships: a directory with
  ``weights.safetensors`` (keys ``"<module>.<param>"``) and ``artifact.json`` (kind, format version,
  package version, model config, mel contract, stats, speakers, sha256 of the weights). Bundles nest:
  write the outer artifact first, then inner ones into its subdirectories (``Artifact.subdir``).

Every write is atomic (temporary name in the destination folder, then a rename). Every load problem
is a one-line :class:`~voicegen.errors.ArtifactError` naming the path and what to do.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import voicegen
from voicegen.artifact_guard import check_weights
from voicegen.artifact_meta import (  # noqa: F401
    ARTIFACT_META,
    ARTIFACT_WEIGHTS,
    FORMAT_VERSION,
    artifact_meta_text,
    file_sha256,
    parse_json,
    read_artifact_meta,
)
from voicegen.errors import ArtifactError
from voicegen.fileutil import atomic_dir, atomic_path, current_umask
from voicegen.pathcheck import not_regular_message, require_regular_file, special_file_kind
from voicegen.state_io import decode_state, encode_state, storable_tensor

TRAINING_CHECKPOINT_KIND = "training_checkpoint"
CHECKPOINT_DIR = "checkpoints"
class CheckpointWarning(UserWarning):
    """A training checkpoint is unreadable (e.g. cut short by a kill) and an earlier one is used."""

_CHECKPOINT_NAME = re.compile(r"^step_(\d{8,})\.safetensors$")
_HEADER_FORMAT = "voicegen.format_version"
_HEADER_VERSION = "voicegen.version"
_HEADER_STRUCTURE = "voicegen.structure"
_HEADER_METADATA = "voicegen.metadata"
_HEADER_ORDER = "voicegen.order"


# ----------------------------------------------------------------------------------------------
# nested state <-> safetensors (encoding in voicegen.state_io)


def save_state(path: str | os.PathLike, obj: Any, *, metadata: dict | None = None) -> Path:
    """Write nested ``obj`` (see module doc) and JSON-able ``metadata`` to ``path`` atomically."""
    structure, tensors = encode_state(obj)
    header = {
        _HEADER_FORMAT: str(FORMAT_VERSION),
        _HEADER_VERSION: voicegen.__version__,
        _HEADER_STRUCTURE: json.dumps(structure, allow_nan=False, separators=(",", ":")),
        _HEADER_METADATA: json.dumps(_json_ready(metadata or {}, "metadata"), allow_nan=False),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)
        _fsync(tmp)
    return Path(path)


def load_state(path: str | os.PathLike) -> Any:
    """The object stored by :func:`save_state` (tensors on the CPU, arrays as numpy)."""
    return _load_state(Path(path), "state file")[0]


def read_state_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` dict given to :func:`save_state`, read from the header only."""
    return _read_header(Path(path), "state file")[1]


def _read_header(path: Path, what: str) -> tuple[Any, dict]:
    """(structure, metadata) from the safetensors header, after checking the format version."""
    require_regular_file(path, ArtifactError, f"{what} not found; check the path")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except Exception as err:  # safetensors raises its own (non-public) error type
        raise ArtifactError(f"{path}: cannot read {what} (truncated or not a safetensors file: "
                            f"{_one_line(err)}); delete it and use an earlier one") from None
    try:
        version = int(header[_HEADER_FORMAT])
        if version > FORMAT_VERSION:
            raise ArtifactError(f"{path}: written by a newer voicegen (format {version} > "
                                f"{FORMAT_VERSION}); upgrade voicegen")
        structure = parse_json(header[_HEADER_STRUCTURE], f"{path} ({what} structure)")
        metadata = parse_json(header[_HEADER_METADATA], f"{path} ({what} metadata)")
        if not isinstance(metadata, dict):
            raise ValueError("metadata is not a JSON object")
    except (KeyError, ValueError) as err:
        raise ArtifactError(f"{path}: {what} metadata is missing or invalid ({_one_line(err)}); "
                            "the file is damaged or was not written by voicegen") from None
    return structure, metadata


def _load_state(path: Path, what: str) -> tuple[Any, dict]:
    structure, metadata = _read_header(path, what)
    try:
        tensors = load_file(str(path))
    except Exception as err:  # safetensors raises its own (non-public) error type
        raise ArtifactError(f"{path}: cannot read {what} (truncated or corrupt: {_one_line(err)}); "
                            "delete it and use an earlier one") from None
    try:
        return decode_state(structure, tensors), metadata
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as err:
        raise ArtifactError(f"{path}: {what} structure metadata is invalid ({_one_line(err)}); "
                            "the file is damaged or was not written by voicegen") from None


# ----------------------------------------------------------------------------------------------
# training checkpoints


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    """``run_dir/checkpoints/step_{step:08d}.safetensors``."""
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:08d}.safetensors"


def save_training_checkpoint(run_dir: str | os.PathLike, step: int, state: dict, *,
                             keep_last: int | None = 3, protect: tuple[int, ...] = ()) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically, then keep only the newest ``keep_last``.

    ``keep_last=None`` keeps every checkpoint. The file just written, and the checkpoints of the
    steps in ``protect`` (e.g. the best validated step), are never deleted. Returns the path.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    if keep_last is not None and (isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1):
        raise ValueError(f"keep_last must be a positive int or None, got {keep_last!r}")
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    path = checkpoint_path(run_dir, step)
    metadata = {"kind": TRAINING_CHECKPOINT_KIND, "format_version": FORMAT_VERSION,
                "voicegen_version": voicegen.__version__, "step": step}
    save_state(path, state, metadata=metadata)
    if keep_last is not None:
        pinned = {checkpoint_path(run_dir, kept) for kept in protect}
        for old in list_checkpoints(run_dir)[:-keep_last]:
            if old != path and old not in pinned:
                old.unlink(missing_ok=True)
    return path


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Checkpoint files of ``run_dir``, oldest step first (empty when there are none)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT_NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The checkpoint with the highest step in ``run_dir``, or None."""
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1] if checkpoints else None


def latest_usable_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest checkpoint of ``run_dir`` whose header reads back (a kill during a write the file
    system did not finish leaves a truncated one): each newer, unreadable one is passed over with a
    :class:`CheckpointWarning` naming it. None when there is none; ArtifactError when there are
    checkpoints and none is readable."""
    checkpoints = list_checkpoints(run_dir)
    for path in reversed(checkpoints):
        try:
            _, metadata = _read_header(path, "training checkpoint")
            if metadata.get("kind") != TRAINING_CHECKPOINT_KIND:
                raise ArtifactError(f"{path}: not a training checkpoint (kind {metadata.get('kind')!r})")
        except ArtifactError as err:
            reason = str(err).rsplit("; ", 1)[0]  # without its "what to do" clause: done here
            warnings.warn(f"{reason}; resuming from an earlier checkpoint", CheckpointWarning, stacklevel=2)
            continue
        return path
    if checkpoints:
        raise ArtifactError(f"{Path(run_dir) / CHECKPOINT_DIR}: no readable training checkpoint; delete the folder "
                            "to start the run over")
    return None


def load_training_checkpoint(path: str | os.PathLike) -> dict:
    """The ``state`` dict given to :func:`save_training_checkpoint` (tensors on the CPU)."""
    path = Path(path)
    state, metadata = _load_state(path, "training checkpoint")
    if metadata.get("kind") != TRAINING_CHECKPOINT_KIND or not isinstance(state, dict):
        raise ArtifactError(f"{path}: not a training checkpoint (kind {metadata.get('kind')!r}); "
                            f"pass a file from <run_dir>/{CHECKPOINT_DIR}/")
    return state


# ----------------------------------------------------------------------------------------------
# export artifacts


@dataclasses.dataclass
class Artifact:
    """A loaded export artifact. ``weights`` maps module name -> state dict (tensors on the CPU)."""

    path: Path
    kind: str
    format_version: int
    voicegen_version: str
    created: str
    config: dict
    mel: dict | None
    stats: dict | None
    speakers: list[str] | None
    extra: dict | None
    weights: dict[str, dict[str, torch.Tensor]]
    weights_sha256: str

    def subdir(self, name: str, *, dtype: torch.dtype | None = torch.float32,
               expected_kind: str | None = None) -> Artifact:
        """Load the artifact nested in subdirectory ``name`` (e.g. the vocoder of a converter)."""
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ArtifactError(f"{self.path}: bad nested artifact name {name!r}; use a plain subfolder name")
        return load_artifact(self.path / relative, dtype=dtype, expected_kind=expected_kind)


def save_artifact(path: str | os.PathLike, *, kind: str, weights: Mapping[str, Mapping[str, torch.Tensor]],
                  config: Any, mel: Any = None, stats: Any = None, speakers: list[str] | None = None,
                  extra: Any = None, dtype: torch.dtype | None = None, overwrite: bool = False) -> Path:
    """Write an artifact directory at ``path`` (see module doc) and return it.

    ``weights``: module name (no dots) -> state dict. ``config``/``mel``/``stats``/``extra``: JSON-able
    data (dataclasses, tensors and arrays are converted). ``dtype`` (e.g. torch.float16) casts the
    floating tensors. An existing ``path`` is refused unless ``overwrite`` (an empty folder is fine).
    """
    dest = Path(path)
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty str, got {kind!r}")
    if dtype is not None and not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype such as torch.float16, got {dtype}")
    if dest.exists() and not dest.is_dir():
        raise ArtifactError(f"{dest}: exists and is not a directory; choose another output path")
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        raise ArtifactError(f"{dest}: already exists; pass overwrite=True (--overwrite) to replace it")
    tensors, modules = _flatten_weights(weights, dtype)
    documents = {name: _json_ready(value, name) for name, value in
                 {"config": config, "mel": mel, "stats": stats, "speakers": speakers, "extra": extra}.items()}
    with atomic_dir(dest) as tmp:
        tmp.mkdir()
        weights_path = tmp / ARTIFACT_WEIGHTS
        header = {"voicegen.kind": kind, _HEADER_FORMAT: str(FORMAT_VERSION), _HEADER_ORDER: json.dumps(list(tensors))}
        save_file(tensors, str(weights_path), metadata=header)
        # safetensors creates its file 0o600; an artifact is meant to be shared like any file.
        os.chmod(weights_path, 0o666 & ~current_umask())
        _fsync(weights_path)
        meta = {"kind": kind, "format_version": FORMAT_VERSION, "voicegen_version": voicegen.__version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                **documents, "modules": modules, "dtype": str(dtype).removeprefix("torch.") if dtype else None,
                "weights_sha256": _sha256(weights_path), "tensors": len(tensors)}
        (tmp / ARTIFACT_META).write_text(artifact_meta_text(meta), encoding="utf-8")
        _fsync(tmp / ARTIFACT_META)
    return dest


def _flatten_weights(weights: Mapping[str, Mapping[str, torch.Tensor]],
                     dtype: torch.dtype | None) -> tuple[dict[str, torch.Tensor], list[str]]:
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must map module name -> state dict, got {type(weights).__name__}")
    tensors: dict[str, torch.Tensor] = {}
    storages: set[int] = set()
    for module, state_dict in weights.items():
        if not isinstance(module, str) or not module or "." in module:
            raise ValueError(f"weights: module names must be non-empty and dot-free, got {module!r}")
        for name, tensor in state_dict.items():
            if not isinstance(name, str) or not name or not isinstance(tensor, torch.Tensor):
                raise TypeError(f"weights[{module!r}][{name!r}]: expected a str name and a tensor")
            tensor = tensor.detach().cpu()
            if dtype is not None and tensor.is_floating_point():
                tensor = tensor.to(dtype)
            tensors[f"{module}.{name}"] = storable_tensor(tensor, storages)
    return tensors, list(weights)


def load_artifact(path: str | os.PathLike, *, dtype: torch.dtype | None = torch.float32,
                  expected_kind: str | None = None) -> Artifact:
    """Load and verify the artifact at ``path``; floating tensors are cast to ``dtype`` (None keeps them).

    Raises ArtifactError when the folder or a file is missing, the JSON is invalid, the weights are
    truncated or their sha256 differs from the recorded one, the format is newer than this voicegen,
    or the kind is not ``expected_kind``.
    """
    root = Path(path)
    meta = read_artifact_meta(root)
    if expected_kind is not None and meta["kind"] != expected_kind:
        raise ArtifactError(f"{root}: is a {meta['kind']!r} artifact, expected {expected_kind!r}; "
                            "pass the right model folder")
    weights_path = root / ARTIFACT_WEIGHTS
    kind = special_file_kind(weights_path)
    if kind is not None:
        raise ArtifactError(not_regular_message(weights_path, kind))
    if not weights_path.is_file():
        raise ArtifactError(f"{root}: {ARTIFACT_WEIGHTS} is missing; re-export or re-copy the model")
    try:
        flat = load_file(str(weights_path))
        with safe_open(str(weights_path), framework="pt") as handle:
            order = parse_json((handle.metadata() or {}).get(_HEADER_ORDER, "[]"), str(weights_path))
    except Exception as err:  # safetensors raises its own (non-public) error type
        raise ArtifactError(f"{weights_path}: cannot read weights (truncated or corrupt: {_one_line(err)}); "
                            "re-export or re-copy the model") from None
    if _sha256(weights_path) != meta["weights_sha256"]:
        raise ArtifactError(f"{weights_path}: sha256 differs from {ARTIFACT_META} (tampered or corrupted); "
                            "re-export or re-copy the model")
    check_weights(weights_path, flat)  # dtypes and values: one guard for every family
    weights: dict[str, dict[str, torch.Tensor]] = {module: {} for module in meta["modules"]}
    # safetensors sorts its tensors; put them back in state-dict order
    if not isinstance(order, list) or not all(isinstance(key, str) for key in order):
        order = []  # a damaged order note: the tensors keep safetensors' (sorted) order
    keys = [key for key in order if key in flat] + sorted(set(flat) - set(order))
    for key in keys:
        tensor = flat[key]
        module, _, name = key.partition(".")
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        weights.setdefault(module, {})[name] = tensor
    return Artifact(path=root, kind=meta["kind"], format_version=meta["format_version"],
                    voicegen_version=str(meta.get("voicegen_version", "")), created=str(meta.get("created", "")),
                    config=meta["config"], mel=meta.get("mel"), stats=meta.get("stats"),
                    speakers=meta.get("speakers"), extra=meta.get("extra"), weights=weights,
                    weights_sha256=meta["weights_sha256"])


# ----------------------------------------------------------------------------------------------
# helpers


def _json_ready(value: Any, where: str) -> Any:
    """Plain JSON data: dataclasses -> dicts, tensors/arrays -> lists, tuples -> lists, paths -> str."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        value = value.tolist() if not isinstance(value, np.generic) else value.item()
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{where}: JSON object keys must be str, got {list(value)[:5]!r}")
        return {key: _json_ready(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} cannot be stored in JSON; fix the value before saving")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{where}: cannot store a {type(value).__name__} in JSON")


def _sha256(path: Path) -> str:
    return file_sha256(path)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
