"""Export an artifact's networks to ONNX graphs that read their weights from the artifact itself.

    export_onnx("models/voc")        # a vocoder: generator.onnx + onnx.json
    export_onnx("models/sf1_tm1")    # a CycleGAN: G_ab.onnx, G_ba.onnx + onnx.json
    export_onnx("models/vae")        # a speaker-conditioned VAE: vae_to_<i>.onnx per speaker + onnx.json

Each module is exported with torch's dynamo exporter (opset 18, a dynamic frame count), then its
weights are taken out of the graph: every initializer that is a tensor of ``weights.safetensors``
(same name under the module's prefix, same shape) becomes an external tensor pointing at that
file's bytes (with a ``Cast`` to float32 when stored as float16), so the graph adds ~0.2 MB
instead of a second copy of the weights. The graph is then run by ONNX Runtime on random inputs
of several lengths and compared with the PyTorch module; a difference above ``EXPORT_TOLERANCE``
is an ArtifactError and nothing is written. Layout and loading: :mod:`voicegen.infer.onnx_runtime`.

CycleGAN generators pad the frame count to a multiple of 4 themselves (replicate padding), which
the exporter gets wrong with a dynamic length (outputs 2-3 frames short); their graphs are
therefore exported for multiples of 4 and the runtime pads and crops as the module does
(``frame_multiple`` in ``onnx.json``), which gives the module's output exactly.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voicegen.artifact_meta import ARTIFACT_WEIGHTS, file_sha256, read_artifact_meta
from voicegen.errors import ArtifactError, ConfigError
from voicegen.fileutil import atomic_path, atomic_write_text
from voicegen.infer.onnx_runtime import (
    INSTALL_HINT,
    ONNX_FORMAT,
    ONNX_META,
    ONNX_OPSET,
    config_sha256,
    graph_net,
    onnx_available,
)
from voicegen.infer.source_filter_head import HEAD, HEAD_KEYS

# Export check: frames of random input compared between PyTorch and ONNX Runtime, and the largest
# difference accepted, relative to the reference's peak where that exceeds 1 (an untrained vocoder
# can output peaks of 100). Float32 reorderings give ~1e-6 on audio in [-1, 1] (the shipped models:
# <= 1e-5); a source-filter vocoder's closed-form harmonic sum divides two small numbers near each
# pitch period's start, where one sample in 10^5 of a random-F0 input differs by up to 5e-4 (the
# tiny recipe's vocoder). A wrong export (a shifted frame, a wrong op) differs by 0.1 or more.
CHECK_FRAMES: tuple[int, ...] = (64, 248, 1024)
EXPORT_TOLERANCE = 1e-3
MAX_FRAMES = 1_000_000
_SAFETENSORS_TYPES = {"F16": ("FLOAT16", True), "F32": ("FLOAT", False)}  # onnx type, needs a cast


@dataclass(frozen=True)
class ExportedModule:
    """One network of an artifact to export: its name (the weights' prefix), the module (float32,
    eval), its input maker ``example(frames, generator)`` and the graph's frame rules. With a
    ``head`` (a source-filter vocoder), the graph is ``module.filter_params`` and the runtime adds
    the numpy head (:mod:`voicegen.infer.source_filter_head`) with ``head_config``."""

    name: str
    module: torch.nn.Module
    example: Callable[[int, torch.Generator], torch.Tensor]
    frame_multiple: int = 1
    min_frames: int = 1
    head: str | None = None
    head_config: dict | None = None
    prefix: str | None = None
    """The weights' module in weights.safetensors (None: ``name``)."""
    extra: dict | None = None
    """More fields of the graph's onnx.json entry."""


class _FilterParams(torch.nn.Module):
    """A source-filter generator's network part as a module of its own (what its graph holds)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        super().__init__()
        self.net = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.filter_params(x)


def export_onnx(artifact_dir: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Write one graph per network and ``onnx.json`` into a ``vocoder``, ``cyclegan`` or ``vae`` artifact
    folder (a VAE: one conversion graph per speaker, encoder and decoder with that speaker's
    embedding); returns the graph paths. Existing graphs are refused without ``overwrite``."""
    artifact_dir = Path(artifact_dir)
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError("ONNX export needs onnx and onnxscript: pip install 'voicegen[onnx]'") from None
    if not onnx_available():
        raise ConfigError(f"ONNX export needs onnxruntime: {INSTALL_HINT}")
    meta = read_artifact_meta(artifact_dir)
    modules, weights_sha256 = _modules(artifact_dir, meta.get("kind"))
    if weights_sha256 != meta["weights_sha256"]:  # changed while loading
        raise ArtifactError(f"{artifact_dir}: the artifact changed during the export; run it again")
    entries, paths = {}, []
    for spec in modules:
        graph = artifact_dir / f"{spec.name}.onnx"
        if graph.exists() and not overwrite:
            raise ArtifactError(f"{graph} exists; pass --overwrite to replace it")
        entries[spec.name], path = _export_module(spec, artifact_dir, graph)
        paths.append(path)
    note = {"format": ONNX_FORMAT, "weights_sha256": weights_sha256, "config_sha256": config_sha256(meta["config"]),
            "opset": ONNX_OPSET, "torch_version": torch.__version__, "graphs": entries}
    atomic_write_text(artifact_dir / ONNX_META, json.dumps(note, indent=2) + "\n")
    return paths


def export_vocoder_onnx(artifact_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """:func:`export_onnx` of a vocoder artifact; the path of its ``generator.onnx``."""
    return export_onnx(artifact_dir, overwrite=overwrite)[0]


def _modules(artifact_dir: Path, kind: object) -> tuple[list[ExportedModule], str]:
    if kind == "vocoder":
        from voicegen.formats.vocoder import GENERATOR_MODULE, load_vocoder_artifact, load_vocoder_generator

        artifact, meta = load_vocoder_artifact(artifact_dir)
        generator = load_vocoder_generator(artifact, meta)
        rows, n_mels = getattr(generator, "in_rows", meta.feature_config.n_mels), meta.feature_config.n_mels
        head = head_config = None
        if hasattr(generator, "filter_params"):
            from dataclasses import asdict

            head, head_config = HEAD, {key: value for key, value in asdict(generator.config).items()
                                       if key in HEAD_KEYS and not (key == "phase_terms" and not value)}
        return [ExportedModule(GENERATOR_MODULE, generator, lambda frames, rng: example_input(rows, n_mels, frames, rng),
                               head=head, head_config=head_config)], artifact.weights_sha256
    if kind == "cyclegan":
        from voicegen.formats.cyclegan import GENERATOR_MODULES, MIN_FRAMES, TIME_STRIDE, load_cyclegan_parts

        parts = load_cyclegan_parts(artifact_dir)
        n_mels = parts.feature_config.n_mels
        sha = read_artifact_meta(artifact_dir)["weights_sha256"]
        return [ExportedModule(name, getattr(parts, name),
                               lambda frames, rng: -6 + 2 * torch.randn(1, n_mels, frames, generator=rng),
                               frame_multiple=TIME_STRIDE, min_frames=MIN_FRAMES)
                for name in GENERATOR_MODULES], sha
    if kind == "vae":
        return _vae_modules(artifact_dir)
    raise ConfigError(f"{artifact_dir}: ONNX export covers vocoder, cyclegan and vae artifacts, not {kind!r}")


class _VAEConvert(torch.nn.Module):
    """A spectrogram VAE's conversion into one speaker: normalised mel ``(1, n_mels, F)`` -> posterior
    mean -> decoded with that speaker's embedding ``(1, n_mels, F)`` (F a multiple of the stride)."""

    def __init__(self, vae: torch.nn.Module, speaker: int) -> None:
        super().__init__()
        self.net = vae
        with torch.no_grad():  # the speaker's biases become constants of the graph
            self.biases = [bias.detach().clone() for bias in vae.speaker_biases(speaker)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.decode_with_biases(self.net.encode(x[:, None]).mean, self.biases, x.shape[-1])[:, 0]


def _vae_modules(artifact_dir: Path) -> tuple[list[ExportedModule], str]:
    from voicegen.formats.vae import MODULE, load_vae_parts

    parts = load_vae_parts(artifact_dir)
    config = parts.model.config
    if not config.n_speakers:
        raise ConfigError(f"{artifact_dir}: this VAE is not speaker-conditioned, so it converts to no one; "
                          "nothing to export")
    n_mels = parts.feature_config.n_mels
    sha = read_artifact_meta(artifact_dir)["weights_sha256"]
    return [ExportedModule(f"vae_to_{index}", _VAEConvert(parts.model, index),
                           lambda frames, rng: torch.randn(1, n_mels, frames, generator=rng),
                           frame_multiple=config.stride, min_frames=config.stride, prefix=MODULE,
                           extra={"speaker": name})
            for index, name in enumerate(parts.speakers)], sha


def example_input(rows: int, n_mels: int, frames: int, rng: torch.Generator) -> torch.Tensor:
    """A random vocoder input ``(1, rows, frames)``: log-mel rows around -6, and for the extra rows of a
    source-filter generator log-F0 of 80-400 Hz, 0/1 voicing and phases in [0, 2 pi)."""
    mel = -6 + 2 * torch.randn(1, n_mels, frames, generator=rng)
    if rows == n_mels:
        return mel
    lf0 = torch.log(80 + 320 * torch.rand(1, 1, frames, generator=rng))
    vuv = (torch.rand(1, 1, frames, generator=rng) > 0.3).float()
    phase = 2 * torch.pi * torch.rand(1, 1, frames, generator=rng)
    return torch.cat([mel, lf0, vuv, phase], dim=1)


def _export_module(spec: ExportedModule, artifact_dir: Path, graph: Path) -> tuple[dict, Path]:
    import onnx

    step = spec.frame_multiple
    base = max(spec.min_frames, step)
    frames = torch.export.Dim("frames", min=1, max=MAX_FRAMES) if step == 1 else \
        step * torch.export.Dim("steps", min=max(1, spec.min_frames // step), max=MAX_FRAMES // step)
    example = spec.example(max(base, CHECK_FRAMES[1] // step * step), torch.Generator().manual_seed(0))
    buffer = io.BytesIO()
    module = _FilterParams(spec.module) if spec.head else spec.module
    wrapped = spec.head is not None or isinstance(module, _VAEConvert)
    strip = "net." if wrapped else ""  # a wrapper's attribute: its parameters are "net.<name>"
    prefix = spec.prefix or spec.name
    # The exporter narrates every pass on stdout and logs/warns about optional packages: keep quiet.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _quiet_logger("torch.onnx"):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), buffer, input_names=["x"], output_names=["y"],
                          dynamic_shapes=({2: frames},), dynamo=True, opset_version=ONNX_OPSET)
    model = onnx.load_from_string(buffer.getvalue())
    for node in model.graph.node:  # the exporter's per-node notes (source stack traces): 3/4 of the bytes
        del node.metadata_props[:]
    shared = _point_weights_at_safetensors(model, artifact_dir / ARTIFACT_WEIGHTS,
                                           lambda name: f"{prefix}.{name.removeprefix(strip)}")
    entry = {"file": graph.name, "frame_multiple": spec.frame_multiple, "min_frames": spec.min_frames,
             **(spec.extra or {})}
    if spec.head:
        entry.update(head=spec.head, head_config=spec.head_config)
    with atomic_path(graph) as tmp:
        onnx.save(model, str(tmp))  # external tensors resolve beside the file: the same folder
        max_diff = _check(spec, graph_net(tmp, entry), graph)
    return {**entry, "sha256": file_sha256(graph), "max_abs_diff": max_diff, "checked_frames": list(CHECK_FRAMES),
            "shared_weights": shared}, graph


def _point_weights_at_safetensors(model, weights_path: Path, key: Callable[[str], str]) -> int:
    """Make each initializer ``name`` that is the tensor ``key(name)`` of ``weights_path`` (same shape)
    an external tensor at its bytes there (float16 ones through a Cast node). Returns how many."""
    from onnx import TensorProto, helper

    with open(weights_path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    data_start = 8 + size
    casts, shared = [], 0
    for init in model.graph.initializer:
        entry = header.get(key(init.name))
        if not isinstance(entry, dict) or entry.get("dtype") not in _SAFETENSORS_TYPES \
                or list(entry.get("shape", ())) != list(init.dims):
            continue
        type_name, cast = _SAFETENSORS_TYPES[entry["dtype"]]
        if init.data_type not in (TensorProto.FLOAT, getattr(TensorProto, type_name)):
            continue
        name = init.name
        begin, end = entry["data_offsets"]
        if cast:
            init.name = f"{name}::stored"
            casts.append(helper.make_node("Cast", [init.name], [name], to=TensorProto.FLOAT, name=f"cast::{name}"))
        init.data_type = getattr(TensorProto, type_name)
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = TensorProto.EXTERNAL
        del init.external_data[:]
        for field, value in (("location", ARTIFACT_WEIGHTS), ("offset", str(data_start + begin)),
                             ("length", str(end - begin))):
            item = init.external_data.add()
            item.key, item.value = field, value
        shared += 1
    for node in reversed(casts):
        model.graph.node.insert(0, node)
    return shared


def _check(spec: ExportedModule, net, graph: Path) -> float:
    rng = torch.Generator().manual_seed(0)
    worst = scale = 0.0
    for frames in CHECK_FRAMES:
        x = spec.example(frames, rng)
        with torch.no_grad():
            reference = spec.module(x).numpy()
        got = net(x.numpy())
        if got.shape != reference.shape:
            raise ArtifactError(f"{graph}: ONNX output shape {got.shape} differs from PyTorch's {reference.shape} "
                                f"at {frames} frames; not written")
        worst = max(worst, float(np.abs(got - reference).max()))
        scale = max(scale, float(np.abs(reference).max()))
    if not worst <= EXPORT_TOLERANCE * max(1.0, scale):
        raise ArtifactError(f"{graph}: ONNX output differs from PyTorch by {worst:.2e} "
                            f"(> {EXPORT_TOLERANCE:g} x max(1, peak {scale:.3g})); not written")
    return worst


@contextlib.contextmanager
def _quiet_logger(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
