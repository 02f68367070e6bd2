"""Small argument helpers shared by the blocks in voicegen.nn.

Every block is built for ``dims`` 1 (signals ``(B, C, T)``) or 2 (images / mels ``(B, C, H, W)``);
these helpers validate that choice and expand ``int`` arguments to one value per spatial axis.
"""

from __future__ import annotations

from typing import Union

IntOrTuple = Union[int, tuple[int, ...]]

SUPPORTED_DIMS = (1, 2)


def check_dims(dims: int, where: str) -> int:
    """Return ``dims`` if it is 1 or 2, else raise one clear ``ValueError`` naming ``where``."""
    if dims not in SUPPORTED_DIMS:
        raise ValueError(f"{where}: dims must be 1 (signals) or 2 (images/mels), got {dims!r}")
    return dims


def to_tuple(value: IntOrTuple, dims: int, name: str, *, minimum: int | None = None) -> tuple[int, ...]:
    """Expand an int to ``(value,) * dims``; check a tuple has ``dims`` entries (each >= minimum)."""
    if isinstance(value, int):
        out = (value,) * dims
    else:
        out = tuple(int(v) for v in value)
        if len(out) != dims:
            raise ValueError(f"{name} must be an int or a tuple of {dims} ints, got {value!r}")
    if minimum is not None and any(v < minimum for v in out):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return out


def unwrap(values: tuple[int, ...]) -> IntOrTuple:
    """Return the single int for 1-D tuples (what torch's 1-D layers print), else the tuple."""
    return values[0] if len(values) == 1 else values
