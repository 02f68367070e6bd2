"""Models as the streaming stages call them: ``(1, C, n)`` float32 numpy in, numpy out (torch-free).

A loaded network is either a PyTorch module on some device (training, GPUs, the ``torch``
runtime) or an ONNX Runtime session (:class:`voicegen.infer.onnx_runtime.OnnxNet`, the torch-free
``onnx`` runtime). :func:`as_net` gives both the same face, so chunking, F0, crossfades and file
I/O are shared code and only the network call differs. This module never imports torch itself:
a module passed in means torch is already loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voicegen.errors import ConfigError
from voicegen.infer.stream import Net

TORCH_HINT = ("pip install 'voicegen[torch]' (or convert with --runtime onnx, which runs models that carry ONNX "
              "graphs, such as the shipped ones)")


class TorchNet:
    """A PyTorch module as a :data:`~voicegen.infer.stream.Net`: numpy ``(B, C, n)`` -> module on
    ``device`` (no grad) -> float32 numpy on the CPU."""

    def __init__(self, module: Any, device: Any) -> None:
        import torch  # already imported by whoever built the module

        self.module, self.device, self._torch = module, torch.device(device), torch

    def __call__(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.no_grad():
            y = self.module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device))
        return y.float().cpu().numpy()


def as_net(model: Any, device: Any = "cpu") -> Net:
    """``model`` as a numpy-in, numpy-out callable: an ONNX net (anything with ``run_numpy``) as it
    is, a PyTorch module wrapped in :class:`TorchNet` on ``device``."""
    run = getattr(model, "run_numpy", None)
    return run if run is not None else TorchNet(model, device)


def batch_of_one(net: Net) -> Net:
    """``net`` over ``(1, C, n)`` batches as a function of ``(C, n)`` (the chunkers' shape): the
    batch axis added before the call and the first item of the output returned."""
    def call(x: np.ndarray) -> np.ndarray:
        return net(x[None])[0]

    return call


def torch_device(spec: Any) -> Any:
    """The ``torch.device`` of ``spec`` (imports torch): ``auto`` -> CUDA when available else CPU;
    ``cuda`` without CUDA is a ConfigError, and so is a missing torch."""
    torch = import_torch()

    if isinstance(spec, torch.device):
        return spec
    text = str(spec).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {spec!r} requested but CUDA is not available; use --device cpu or auto")
    try:
        return torch.device(text)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:<index>; got {spec!r}") from None


def import_torch():
    """``torch``, or a ConfigError (one line) saying how to get it where it is not installed (the
    slim install runs the ONNX graphs only)."""
    try:
        import torch
    except ImportError:
        raise ConfigError(f"PyTorch is not installed, and this needs it: {TORCH_HINT}") from None
    return torch
