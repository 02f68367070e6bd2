"""Device selection, moving batches, and the mixed-precision context for training."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

import torch

from voicegen.errors import ConfigError

_CUDA_SPEC = re.compile(r"^cuda(?::(\d+))?$")
AMP_DTYPES: dict[str, torch.dtype] = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(spec: str = "auto", local_rank: int | None = None) -> torch.device:
    """Turn ``auto`` | ``cpu`` | ``cuda`` | ``cuda:<index>`` | ``mps`` into a ``torch.device``.

    ``auto`` picks CUDA when available (device ``local_rank`` under data parallelism), else CPU.
    ``cuda`` without an index uses ``local_rank`` (or the current device). Asking for CUDA on a
    machine without it raises ``ConfigError`` saying what to use instead.
    """
    text = str(spec).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank if local_rank is not None else 0)
        return torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device 'mps' requested but MPS is not available; use device: cpu or auto")
        return torch.device("mps")
    match = _CUDA_SPEC.match(text)
    if match is None:
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:<index> or mps; got {spec!r}")
    if not torch.cuda.is_available():
        raise ConfigError(
            f"device {spec!r} requested but CUDA is not available "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
            "use device: cpu or auto"
        )
    count = torch.cuda.device_count()
    if match.group(1) is not None:
        index = int(match.group(1))
    else:
        index = local_rank if local_rank is not None else torch.cuda.current_device()
    if index >= count:
        raise ConfigError(f"device {spec!r} requested but only {count} CUDA device(s) are visible")
    return torch.device("cuda", index)


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Copy every tensor inside nested dicts/lists/tuples to ``device`` (other values unchanged)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, Mapping):
        moved = {key: move_to_device(value, device) for key, value in batch.items()}
        return moved if type(batch) is dict else _same_type(batch, moved)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(move_to_device(value, device) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(value, device) for value in batch)
    return batch


def _same_type(original: Mapping, moved: dict) -> Mapping:
    """``moved`` as the original mapping type when it can be built from a dict (else a dict)."""
    try:
        return type(original)(moved)
    except TypeError:
        return moved


def amp_enabled(amp: bool, device: torch.device) -> bool:
    """Mixed precision runs only on CUDA; elsewhere it is off (the Trainer prints a note)."""
    return bool(amp) and device.type == "cuda"


def autocast(device: torch.device, enabled: bool, dtype_name: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to ``dtype_name`` when enabled, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[dtype_name])
