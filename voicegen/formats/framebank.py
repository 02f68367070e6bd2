"""A converter bundle's frame bank: real log-mel frames of its target speakers (torch-free).

A CycleGAN's converted frames are near the target speaker but not on the set of frames that speaker
actually produces. A frame bank holds that set: the log-mel frames of the target's own recordings.
At conversion each converted frame is replaced by the mean of its ``k`` nearest bank frames
(matched on the frame and ``context`` frames either side), a nearest-neighbour re-synthesis in the
spirit of kNN-VC (Baas et al. 2023) on the converter's output instead of self-supervised features;
see :mod:`voicegen.infer.framebank`.

Stored inside a ``cyclegan`` bundle folder (written by ``voicegen bundle --frame-bank``):

``frames.safetensors``
    one float16 tensor per target speaker, named by the speaker: ``(N, n_mels)`` log-mel frames
    of that speaker's recordings in the bundle's mel contract, not normalised.
``artifact.json`` ``extra.frame_bank``
    ``{"file": "frames.safetensors", "sha256": HEX, "k": K, "context": C, "mix": M, "speakers": {TARGET: N}}``:
    the file, its sha256, the neighbours averaged, the context frames matched on either side, the
    share of the re-drawn frame in the output (the rest is the converter's own frame; 1 when
    absent) and the frames per target speaker. Targets it does not list are left as the converter
    made them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.artifact_meta import file_sha256
from voicegen.errors import ArtifactError, ConfigError
from voicegen.fileutil import atomic_path
from voicegen.formats.cyclegan import check_targets

FILE = "frames.safetensors"
"""The frame bank's file name inside a bundle folder."""
MAX_K = 64
MAX_CONTEXT = 8
REBUNDLE = "re-bundle with `voicegen bundle --frame-bank`"


@dataclass(frozen=True)
class FrameBankSpec:
    """``extra.frame_bank`` of a converter bundle (see the module docstring)."""

    file: str
    sha256: str
    k: int
    context: int
    speakers: dict[str, int]
    mix: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "k": self.k, "context": self.context, "mix": self.mix,
                "speakers": dict(self.speakers)}


def check_settings(k: Any, context: Any, where: str = "frame bank", mix: Any = 1.0) -> None:
    """ConfigError (one line) unless ``1 <= k <= MAX_K`` and ``0 <= context <= MAX_CONTEXT`` (integers)
    and ``0 < mix <= 1``."""
    if isinstance(mix, bool) or not isinstance(mix, (int, float)) or not 0 < mix <= 1:
        raise ConfigError(f"{where}: mix must be a number in (0, 1], got {mix!r}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ConfigError(f"{where}: k must be an integer from 1 to {MAX_K}, got {k!r}")
    if isinstance(context, bool) or not isinstance(context, int) or not 0 <= context <= MAX_CONTEXT:
        raise ConfigError(f"{where}: context must be an integer from 0 to {MAX_CONTEXT}, got {context!r}")


def parse_frame_bank(extra: Any, speakers: tuple[str, ...], root: Path) -> FrameBankSpec | None:
    """The checked ``extra.frame_bank`` of a converter with ``speakers`` (None when absent); one-line
    ArtifactError naming ``root`` when it is malformed."""
    value = extra.get("frame_bank") if isinstance(extra, dict) else None
    if value is None:
        return None
    fields = ("file", "sha256", "k", "context", "speakers")
    mapping = value.get("speakers") if isinstance(value, dict) else None
    if (not isinstance(value, dict) or any(name not in value for name in fields)
            or value["file"] != FILE or not isinstance(value["sha256"], str)
            or not isinstance(mapping, dict) or not mapping
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in mapping.values())):
        raise ArtifactError(f"{root}: extra.frame_bank must be {{\"file\": \"{FILE}\", \"sha256\": HEX, \"k\": K, "
                            f"\"context\": C, \"speakers\": {{TARGET: FRAMES}}}}; {REBUNDLE}")
    try:
        check_settings(value["k"], value["context"], f"{root}: extra.frame_bank", value.get("mix", 1.0))
    except ConfigError as err:
        raise ArtifactError(f"{err}; {REBUNDLE}") from None
    check_targets("frame_bank", mapping, speakers, root, " --frame-bank")
    return FrameBankSpec(file=FILE, sha256=value["sha256"], k=value["k"], context=value["context"],
                         speakers=dict(mapping), mix=float(value.get("mix", 1.0)))


def save_frame_bank(frames: dict[str, np.ndarray], folder: str | os.PathLike, *, k: int, context: int,
                    n_mels: int, mix: float = 1.0) -> FrameBankSpec:
    """Write ``frames`` (target speaker -> ``(N, n_mels)`` log-mels) as ``folder/frames.safetensors``
    (float16, atomically) and return the spec to store as ``extra.frame_bank``."""
    from safetensors.numpy import save_file

    check_settings(k, context, mix=mix)
    tensors = {}
    for name, array in frames.items():
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] != n_mels or array.shape[0] < k:
            raise ConfigError(f"frame bank of {name!r}: need at least k={k} frames of {n_mels} mel bands, "
                              f"got shape {tuple(array.shape)}")
        if not np.isfinite(array).all():
            raise ConfigError(f"frame bank of {name!r}: holds NaN or infinite values")
        tensors[name] = np.ascontiguousarray(array, dtype=np.float16)
    dest = Path(folder) / FILE
    with atomic_path(dest) as tmp:
        save_file(tensors, str(tmp))
    return FrameBankSpec(file=FILE, sha256=file_sha256(dest), k=k, context=context,
                         speakers={name: int(t.shape[0]) for name, t in tensors.items()}, mix=float(mix))


def load_frame_bank(root: str | os.PathLike, spec: FrameBankSpec, n_mels: int) -> dict[str, np.ndarray]:
    """The float32 frames of each target ``spec`` lists, read from ``root/frames.safetensors``;
    one-line ArtifactError naming the file when it is missing, altered or does not fit."""
    from safetensors.numpy import load_file

    path = Path(root) / spec.file
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (extra.frame_bank names it); {REBUNDLE}, or convert with "
                            "--no-postfilter")
    if file_sha256(path) != spec.sha256:
        raise ArtifactError(f"{path}: sha256 differs from extra.frame_bank (tampered or corrupted); {REBUNDLE}")
    try:
        tensors = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - any unreadable file is one line
        raise ArtifactError(f"{path}: unreadable ({' '.join(str(err).split())[:120]}); {REBUNDLE}") from None
    frames = {}
    for name, count in spec.speakers.items():
        array = tensors.get(name)
        if array is None or array.shape != (count, n_mels):
            got = "nothing" if array is None else f"shape {tuple(array.shape)}"
            raise ArtifactError(f"{path}: frames of {name!r} should be ({count}, {n_mels}), found {got}; {REBUNDLE}")
        frames[name] = array.astype(np.float32)
    return frames
