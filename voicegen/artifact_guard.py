"""Trust checks on a loaded artifact, for every family at once: its weights' dtypes and values, and
the size of the model its config describes (checked on the meta device, before any allocation).

An artifact's ``artifact.json`` and weights are independent files: a config edited to
``base_channels: 1000000`` would make a loader allocate tens of GB before the weights fail to
fit, and integer weights cast to float load "fine" and play near-silence. :func:`check_weights`
runs inside :func:`voicegen.checkpoint.load_artifact`; each family's loader builds its modules
through :func:`build_for_artifact` (or :func:`module_from_artifact`, which also loads the weights).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from voicegen.artifact_meta import ARTIFACT_META
from voicegen.errors import ArtifactError

if TYPE_CHECKING:
    from voicegen.checkpoint import Artifact

WEIGHT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
"""The dtypes of an artifact's weights (voicegen models compute in floating point)."""
INTEGER_BUFFERS = ("num_batches_tracked",)
"""The only integer tensors an artifact may hold (BatchNorm's step counter, a 0-d int64)."""
MAX_MODEL_PARAMETERS = 500_000_000
"""Most parameters (and saved buffers) a model built from an artifact's config may hold (2 GB of float32)."""
MAX_PARAMETERS_OVER_WEIGHTS = 2
"""A config may describe at most this many times the values its artifact's weights hold (plus
:data:`PARAMETER_SLACK`): more means the config was altered and the weights will not fit."""
PARAMETER_SLACK = 1_000_000


def build_for_artifact(artifact: Artifact, build: Callable[[], torch.nn.Module], what: str) -> torch.nn.Module:
    """``build()`` once its size is known to be sane: it is first built on the meta device (no
    memory), and a model beyond MAX_MODEL_PARAMETERS, or far larger than the artifact's weights
    (MAX_PARAMETERS_OVER_WEIGHTS), is one ArtifactError naming the limit before any allocation (a
    config edited to ``base_channels: 1000000`` would otherwise ask for tens of GB). The real build
    does not touch the caller's random stream."""
    with torch.device("meta"), torch.random.fork_rng(devices=[]):
        probe = build()
    count = sum(t.numel() for t in probe.state_dict().values())
    held = sum(t.numel() for module in artifact.weights.values() for t in module.values())
    if count > MAX_MODEL_PARAMETERS:
        raise ArtifactError(f"{artifact.path}: its config describes a {what} of {count:.3g} parameters, beyond the "
                            f"limit of {MAX_MODEL_PARAMETERS:.3g} (voicegen.artifact_guard.MAX_MODEL_PARAMETERS); the "
                            f"{ARTIFACT_META} was altered or is not a voicegen export: re-export the model")
    if count > MAX_PARAMETERS_OVER_WEIGHTS * held + PARAMETER_SLACK:
        raise ArtifactError(f"{artifact.path}: its config describes a {what} of {count:.3g} parameters but the "
                            f"weights hold {held:.3g} values; {ARTIFACT_META} was altered: re-export the model")
    with torch.random.fork_rng(devices=[]):
        return build()


def module_from_artifact(artifact: Artifact, name: str, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """``build()`` (without touching the caller's RNG stream) loaded with ``artifact.weights[name]``, in eval mode.

    ArtifactError (one line, naming the artifact) when the weights do not fit.
    """
    module = build_for_artifact(artifact, build, name)  # size-checked on the meta device first
    try:
        module.load_state_dict(artifact.weights.get(name, {}))
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:200]
        raise ArtifactError(f"{artifact.path}: {name} weights do not fit the model ({detail}); re-export it") from None
    return module.eval()


def check_weights(weights_path: Path, flat: dict[str, torch.Tensor]) -> None:
    """One guard for every family: floating-point weights (WEIGHT_DTYPES; integer only for the
    INTEGER_BUFFERS counters), all finite. Integer weights cast to float play near-silence and NaN
    weights play nothing, so both are refused here instead."""
    for key, tensor in flat.items():
        if tensor.dtype in WEIGHT_DTYPES:
            if not bool(torch.isfinite(tensor).all()):
                raise ArtifactError(f"{weights_path}: tensor {key!r} holds NaN or Inf values; the model is broken "
                                    "(re-export it from a healthy checkpoint)")
        elif not (key.rsplit(".", 1)[-1] in INTEGER_BUFFERS and tensor.dtype == torch.int64 and tensor.dim() == 0):
            raise ArtifactError(f"{weights_path}: tensor {key!r} is {str(tensor.dtype).removeprefix('torch.')}, a "
                                "dtype voicegen models do not use (weights are float16, bfloat16 or float32); the file "
                                "was altered or is not a voicegen export: re-export the model")
