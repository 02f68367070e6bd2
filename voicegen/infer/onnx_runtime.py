"""The torch-free runtime: an artifact's networks as ONNX graphs run by ONNX Runtime.

    voicegen export vocoder --artifact models/voc --onnx       # writes generator.onnx + onnx.json
    voicegen export cyclegan --artifact models/sf1_tm1 --onnx  # writes G_ab.onnx, G_ba.onnx + onnx.json
    vocoder = load_vocoder("models/voc", runtime="onnx")       # or "auto" (see below)

Layout (written by :mod:`voicegen.infer.onnx_export`): one ``<module>.onnx`` per network of the
artifact (``generator`` for a vocoder, ``G_ab``/``G_ba`` for a CycleGAN) and ``onnx.json``:

* ``format``: 2; ``opset``; ``torch_version`` of the export; ``weights_sha256`` and
  ``config_sha256``: the artifact's weights and model config (``config`` of ``artifact.json``,
  canonical JSON) the graphs were exported from; another value of either makes every graph stale
  (``onnx`` refuses it, ``auto`` falls back to PyTorch);
* ``graphs``: per module, ``file`` and its ``sha256`` (checked when loaded), ``frame_multiple`` /
  ``min_frames`` (the graph takes frame
  counts that are multiples of it and at least that many: inputs are edge-padded to fit and the
  output cropped back, as the PyTorch module pads itself), ``max_abs_diff`` from PyTorch measured
  at export on ``checked_frames``.

The graphs hold no weights of their own: each weight is an external tensor that points into the
artifact's ``weights.safetensors`` (float16 there, cast to float32 by a ``Cast`` node that ONNX
Runtime folds when the session starts), so the weights are stored once and a graph adds
~0.2 MB. Format 1 (a self-contained ``generator.onnx`` of a vocoder) still loads.

This module imports neither torch nor onnx (only onnxruntime, when a graph is loaded): a
``--runtime onnx`` conversion starts in a fraction of the time ``import torch`` takes.
``runtime="auto"``: ONNX Runtime on the CPU whenever the artifact has up-to-date graphs and
onnxruntime imports, else PyTorch (see :func:`choose_runtime`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.artifact_meta import ARTIFACT_WEIGHTS, file_sha256, read_json_object
from voicegen.errors import ArtifactError, ConfigError

ONNX_FILE = "generator.onnx"
"""A vocoder's graph (the ``generator`` module)."""
ONNX_META = "onnx.json"
ONNX_FORMAT = 2
ONNX_OPSET = 18
RUNTIMES: tuple[str, ...] = ("auto", "torch", "onnx")
INSTALL_HINT = "pip install onnxruntime (a voicegen dependency; exporting graphs also needs pip install 'voicegen[onnx]')"
_THREADS: list[int | None] = [None]


def onnx_available() -> bool:
    """True when onnxruntime imports (export also needs onnx and onnxscript)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def set_threads(threads: int | None) -> None:
    """Intra-op threads of the ONNX Runtime sessions made from now on (None: ``OMP_NUM_THREADS`` when
    set, else ONNX Runtime's default, one per physical core)."""
    _THREADS[0] = threads


def _threads() -> int:
    if _THREADS[0]:
        return int(_THREADS[0])
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return int(limit) if limit.isdigit() and int(limit) > 0 else 0


class OnnxNet:
    """An ONNX Runtime session as a network: float32 ``(B, C, frames)`` numpy in, the graph's single
    output out. Frame counts the graph cannot take are edge-padded to ``frame_multiple`` (and to at
    least ``min_frames``) and the output cropped back along its last axis, in proportion."""

    def __init__(self, path: str | os.PathLike, *, frame_multiple: int = 1, min_frames: int = 1,
                 threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads if threads is not None else _threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.path = Path(path)
        self.frame_multiple, self.min_frames = max(1, int(frame_multiple)), max(1, int(min_frames))
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ArtifactError(f"{self.path}: ONNX Runtime cannot load it ({str(err).splitlines()[0]}); "
                                f"re-run `voicegen export <kind> --artifact {self.path.parent} --onnx`") from None
        self.input_name = self.session.get_inputs()[0].name

    def run_numpy(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        frames = x.shape[-1]
        padded = max(-(-frames // self.frame_multiple) * self.frame_multiple, self.min_frames)
        if padded != frames:
            x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, padded - frames)], mode="edge")
        y = self.session.run(None, {self.input_name: x})[0]
        if padded != frames:
            y = y[..., :y.shape[-1] // padded * frames]
        return y

    __call__ = run_numpy


@dataclass(frozen=True)
class OnnxGraphs:
    """The checked ``onnx.json`` of an artifact folder: per module, its graph file and frame rules."""

    folder: Path
    weights_sha256: str
    config_sha256: str | None
    graphs: dict[str, dict[str, Any]]

    def net(self, module: str, threads: int | None = None) -> OnnxNet:
        entry = self.graphs.get(module)
        if entry is None:
            raise ArtifactError(f"{self.folder / ONNX_META}: no graph for {module!r}; re-run the export with --onnx")
        graph = self.folder / entry["file"]
        if "sha256" in entry and file_sha256(graph) != entry["sha256"]:
            raise ArtifactError(f"{graph}: sha256 differs from {ONNX_META} (tampered or corrupted); re-run "
                                f"`voicegen export <kind> --artifact {self.folder} --onnx --overwrite`")
        return graph_net(graph, entry, threads)


def graph_net(graph: Path, entry: dict[str, Any], threads: int | None = None) -> Any:
    """The network of one ``graphs`` entry of onnx.json: the ONNX graph, followed by its numpy
    ``head`` when it has one (a source-filter vocoder's signal processing)."""
    net = OnnxNet(graph, frame_multiple=entry.get("frame_multiple", 1), min_frames=entry.get("min_frames", 1),
                  threads=threads)
    head = entry.get("head")
    if head is None:
        return net
    from voicegen.infer.source_filter_head import HEAD, HeadedNet, SourceFilterHead

    if head != HEAD or not isinstance(entry.get("head_config"), dict):
        raise ArtifactError(f"{graph}: unknown head {head!r} in {ONNX_META}; upgrade voicegen or re-export")
    try:
        return HeadedNet(net, SourceFilterHead(entry["head_config"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"{graph}: invalid head_config in {ONNX_META} ({err}); re-export") from None


def read_onnx_graphs(folder: str | os.PathLike) -> OnnxGraphs:
    """The ONNX export of an artifact folder (``onnx.json`` and the graph files it names; weights not
    checked here); ArtifactError (one line) when absent or damaged."""
    folder = Path(folder)
    meta_path = folder / ONNX_META
    if not meta_path.is_file():
        raise ArtifactError(f"no {ONNX_META} in {folder}")
    meta = read_json_object(meta_path)  # bounded: a FIFO or a crafted file is refused
    sha = meta.get("weights_sha256")
    graphs = meta.get("graphs")
    if graphs is None and meta.get("format", 1) == 1:  # format 1: a vocoder's self-contained graph
        graphs = {"generator": {"file": ONNX_FILE}}
    if not isinstance(sha, str) or not isinstance(graphs, dict) or not graphs or not all(
            isinstance(g, dict) and isinstance(g.get("file"), str) and "/" not in g["file"] and "\\" not in g["file"]
            for g in graphs.values()):
        raise ArtifactError(f"{meta_path} is damaged (no weights_sha256 or graphs)")
    for module, entry in graphs.items():
        if not (folder / entry["file"]).is_file():
            raise ArtifactError(f"no {entry['file']} in {folder} (listed in {ONNX_META} for {module})")
    config_sha = meta.get("config_sha256")
    return OnnxGraphs(folder=folder, weights_sha256=sha, config_sha256=config_sha if isinstance(config_sha, str)
                      else None, graphs=graphs)


def config_sha256(config: Any) -> str:
    """sha256 of a model config (``artifact.json``'s ``config``) as canonical JSON."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def onnx_status(artifact_dir: str | os.PathLike, artifact_meta: dict) -> str | None:
    """None when ``artifact_dir`` (whose ``artifact.json`` is ``artifact_meta``) holds an up-to-date
    ONNX export; else why not (one phrase)."""
    try:
        return _stale(read_onnx_graphs(artifact_dir), artifact_meta)
    except ArtifactError as err:
        return str(err)


def _stale(graphs: OnnxGraphs, artifact_meta: dict) -> str | None:
    if graphs.weights_sha256 != artifact_meta.get("weights_sha256"):
        return f"the ONNX graphs in {graphs.folder} were exported from other weights (stale)"
    if graphs.config_sha256 is not None and graphs.config_sha256 != config_sha256(artifact_meta.get("config")):
        return f"the ONNX graphs in {graphs.folder} were exported from another model config (stale)"
    return None


def load_onnx_graphs(artifact_dir: str | os.PathLike, artifact_meta: dict, kind: str) -> OnnxGraphs:
    """The up-to-date ONNX export of an artifact (``artifact_meta``: its ``artifact.json``), after
    checking the weights file against the recorded sha256 (graphs read their weights from it);
    ConfigError/ArtifactError (one line) when unavailable."""
    artifact_dir = Path(artifact_dir)
    if not onnx_available():
        raise ConfigError(f"runtime 'onnx' needs onnxruntime: {INSTALL_HINT}")
    try:
        graphs = read_onnx_graphs(artifact_dir)
        problem = _stale(graphs, artifact_meta)
    except ArtifactError as err:
        problem = str(err)
    if problem is not None:
        raise ArtifactError(f"{problem}; run `voicegen export {kind} --artifact {artifact_dir} --onnx`")
    weights = artifact_dir / ARTIFACT_WEIGHTS
    if not weights.is_file() or file_sha256(weights) != artifact_meta.get("weights_sha256"):
        raise ArtifactError(f"{weights}: missing, or its sha256 differs from artifact.json (tampered or "
                            "corrupted); re-export or re-copy the model")
    return graphs


def choose_runtime(runtime: str, device: str, artifact_dir: str | os.PathLike, artifact_meta: dict) -> str:
    """``torch`` or ``onnx`` for ``runtime`` (``auto`` | ``torch`` | ``onnx``) on ``device``.

    ``auto`` is ``onnx`` when the device is the CPU (``cpu``, or ``auto`` on a machine without an
    NVIDIA driver), onnxruntime imports and the artifact has an up-to-date export; else ``torch``.
    ``onnx`` on a GPU device is a ConfigError."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}")
    on_cpu = cpu_device(device)
    if runtime == "onnx" and not on_cpu:
        raise ConfigError(f"runtime 'onnx' runs on the CPU here; use --device cpu (got {device})")
    if runtime == "auto":
        usable = on_cpu and onnx_available() and onnx_status(artifact_dir, artifact_meta) is None
        return "onnx" if usable else "torch"
    return runtime


def cpu_device(device: Any) -> bool:
    """Whether ``device`` (a string or a ``torch.device``) means the CPU without importing torch:
    ``cpu``, or ``auto`` where no NVIDIA driver is loaded (``auto`` picks CUDA only where torch
    sees a GPU, which needs that driver)."""
    text = str(getattr(device, "type", device)).strip().lower()
    if text == "auto":
        return not Path("/proc/driver/nvidia/version").exists()
    return text == "cpu"

