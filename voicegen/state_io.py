"""Nested Python state <-> (JSON structure, flat dict of tensors), for safetensors files.

``encode_state`` turns any nesting of dict (str or int keys), list, tuple, int, float (inf/nan
too), str, bool, None, torch tensors and numpy arrays/scalars into a JSON-able structure plus
tensors under generated keys (``t0``, ``t1``...); ``decode_state`` inverts it exactly. Dtypes
safetensors cannot hold are stored as raw bytes and viewed back. No pickle is involved:
decoding only ever builds plain data, tensors and arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

# Stored as themselves; any other tensor dtype is stored as raw bytes (uint8) and viewed back.
_NATIVE_DTYPES = frozenset({
    torch.float64, torch.float32, torch.float16, torch.bfloat16,
    torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool,
})
# numpy kinds stored byte-exactly: bool, ints, uints, floats, complex, bytes, unicode, datetimes.
_NUMPY_KINDS = frozenset("biufcSUmM")


class _Encoder:
    """Turns a nested object into a JSON structure plus a flat dict of tensors."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._storages: set[int] = set()

    def encode(self, obj: Any, where: str) -> Any:
        if isinstance(obj, (np.ndarray, np.generic)):  # first: np.float64 is a python float too
            return self._ndarray(obj, where)
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"type": "float", "value": repr(obj)}
        if isinstance(obj, torch.Tensor):
            return self._tensor(obj, where)
        if isinstance(obj, Mapping):
            items = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"{where}: dict keys must be str or int, got {key!r}")
                items.append([key, self.encode(value, f"{where}[{key!r}]")])
            return {"type": "dict", "items": items}
        if isinstance(obj, list):
            return [self.encode(value, f"{where}[{i}]") for i, value in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"type": "tuple", "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(f"{where}: cannot store a {type(obj).__name__} (store plain data, tensors or arrays)")

    def _add(self, tensor: torch.Tensor) -> str:
        key = f"t{len(self.tensors)}"
        self.tensors[key] = storable_tensor(tensor, self._storages)
        return key

    def _tensor(self, tensor: torch.Tensor, where: str) -> dict:
        if tensor.layout != torch.strided or tensor.is_quantized:
            raise TypeError(f"{where}: cannot store a {tensor.layout} / quantized tensor; convert it to dense")
        tensor = tensor.detach().cpu().resolve_conj().resolve_neg().contiguous()
        raw = tensor.dtype not in _NATIVE_DTYPES
        stored = tensor.reshape(-1).view(torch.uint8) if raw else tensor
        node = {"type": "tensor", "key": self._add(stored), "dtype": str(tensor.dtype).removeprefix("torch.")}
        return {**node, "shape": list(tensor.shape), "raw": raw}

    def _ndarray(self, obj: np.ndarray | np.generic, where: str) -> dict:
        array = np.asarray(obj)
        if array.dtype.kind not in _NUMPY_KINDS or array.dtype.hasobject:
            raise TypeError(f"{where}: cannot store a numpy array of dtype {array.dtype}")
        flat = np.ascontiguousarray(array.reshape(-1))
        key = self._add(torch.from_numpy(flat.view(np.uint8).copy()))
        return {"type": "ndarray", "key": key, "dtype": array.dtype.str, "shape": list(array.shape),
                "scalar": isinstance(obj, np.generic)}


def storable_tensor(tensor: torch.Tensor, seen_storages: set[int]) -> torch.Tensor:
    """A contiguous CPU tensor that owns its storage alone (safetensors refuses shared storage)."""
    tensor = tensor.detach().cpu().contiguous()
    storage = tensor.untyped_storage()
    if storage.data_ptr() in seen_storages or storage.nbytes() != tensor.numel() * tensor.element_size():
        tensor = tensor.clone()
        storage = tensor.untyped_storage()
    if tensor.numel():
        seen_storages.add(storage.data_ptr())
    return tensor


def _decode(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(value, tensors) for value in node]
    kind = node["type"]
    if kind == "dict":
        return {_checked_key(key): _decode(value, tensors) for key, value in node["items"]}
    if kind == "tuple":
        return tuple(_decode(value, tensors) for value in node["items"])
    if kind == "float":
        return float(node["value"])
    if kind == "tensor":
        dtype = _torch_dtype(node["dtype"])
        tensor = tensors[node["key"]]
        if node["raw"]:
            tensor = tensor.view(dtype)
        if tensor.dtype != dtype:
            raise ValueError(f"tensor {node['key']} is {tensor.dtype}, the structure says {dtype}")
        return tensor.reshape(node["shape"])
    if kind == "ndarray":
        dtype = np.dtype(node["dtype"])
        if dtype.kind not in _NUMPY_KINDS or dtype.hasobject:
            raise ValueError(f"refusing numpy dtype {dtype}")
        array = tensors[node["key"]].numpy().view(dtype).reshape(node["shape"]).copy()
        return array[()] if node["scalar"] else array
    raise ValueError(f"unknown node type {kind!r}")


def _checked_key(key: Any) -> str | int:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise ValueError(f"bad dict key {key!r}")
    return key


def _torch_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown torch dtype {name!r}")
    return dtype


def encode_state(obj: Any, where: str = "state") -> tuple[Any, dict[str, torch.Tensor]]:
    """(JSON-able structure, tensors to store) for nested ``obj``; TypeError names what cannot be stored."""
    encoder = _Encoder()
    structure = encoder.encode(obj, where)
    return structure, encoder.tensors


def decode_state(structure: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The object ``encode_state`` was given; ValueError/KeyError for a damaged structure."""
    return _decode(structure, tensors)
