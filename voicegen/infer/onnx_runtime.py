"""ONNX Runtime for vocoder generators: export next to the artifact, run as a drop-in generator.

    export_vocoder_onnx("models/voc")            # writes models/voc/generator.onnx + onnx.json
    vocoder = load_vocoder("models/voc", runtime="onnx")   # or "auto" (see below)

The exported graph takes a log-mel ``(1, n_mels, frames)`` with any number of frames and returns
``(1, 1, frames * hop_length)``, so the chunked ``Vocoder.wav_from_mel`` works unchanged on it.
``onnx.json`` records the sha256 of the weights it was exported from (a re-exported artifact makes
the graph stale and it is refused) and the largest difference from PyTorch measured at export.

``runtime="auto"`` uses ONNX Runtime only where ``benchmarks/vocoder.py`` measured it faster than
eager PyTorch on the CPU: HiFi-GAN generators (1.4-1.8x here), not the frame-rate iSTFT generator
(whose inverse FFT is slower in ONNX Runtime than in PyTorch: 0.8x).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from voicegen.artifact_meta import read_json_object
from voicegen.errors import ArtifactError, ConfigError
from voicegen.fileutil import atomic_path, atomic_write_text

ONNX_FILE = "generator.onnx"
ONNX_META = "onnx.json"
ONNX_OPSET = 18
RUNTIMES: tuple[str, ...] = ("auto", "torch", "onnx")
# Generator kinds that benchmarks/vocoder.py measured faster in ONNX Runtime than in eager PyTorch.
ONNX_FASTER_KINDS: tuple[str, ...] = ("hifigan",)
# Export check: frames of random log-mel compared between PyTorch and ONNX Runtime, and the
# largest absolute waveform difference accepted (float32 reorderings give ~1e-6).
CHECK_FRAMES: tuple[int, ...] = (7, 64, 250)
EXPORT_TOLERANCE = 1e-4
INSTALL_HINT = "pip install 'voicegen[onnx]' (onnxruntime, onnx, onnxscript)"


def onnx_available() -> bool:
    """True when onnxruntime imports (export also needs onnx and onnxscript)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxGenerator:
    """An ONNX Runtime session that behaves like a generator module: ``(1, n_mels, frames)`` tensor in,
    ``(1, 1, frames * hop_length)`` float32 CPU tensor out. Threads default to torch's setting."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ArtifactError(f"{self.path}: ONNX Runtime cannot load it ({str(err).splitlines()[0]}); "
                                "re-run `voicegen export vocoder --artifact <folder> --onnx`") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(mel.detach().cpu().float().numpy())
        return torch.from_numpy(self.session.run(None, {self.input_name: array})[0])

    def eval(self) -> OnnxGenerator:
        return self


def onnx_status(artifact_dir: Path, weights_sha256: str) -> str | None:
    """None when ``artifact_dir`` holds an up-to-date ONNX export; else why not (one phrase)."""
    graph, meta_path = artifact_dir / ONNX_FILE, artifact_dir / ONNX_META
    if not graph.is_file() or not meta_path.is_file():
        return f"no {ONNX_FILE} in {artifact_dir}"
    try:
        meta = read_json_object(meta_path)  # bounded: a FIFO or a crafted file is "unreadable"
    except ArtifactError:
        return f"{meta_path} is unreadable"
    if not isinstance(meta, dict) or meta.get("weights_sha256") != weights_sha256:
        return f"{graph} was exported from other weights (stale)"
    return None


def load_onnx_generator(artifact_dir: Path, weights_sha256: str) -> OnnxGenerator:
    """The ONNX generator of an artifact; ConfigError/ArtifactError (one line) when unavailable."""
    if not onnx_available():
        raise ConfigError(f"runtime 'onnx' needs onnxruntime: {INSTALL_HINT}")
    problem = onnx_status(artifact_dir, weights_sha256)
    if problem is not None:
        raise ArtifactError(f"{problem}; run `voicegen export vocoder --artifact {artifact_dir} --onnx`")
    return OnnxGenerator(artifact_dir / ONNX_FILE)


def prefer_onnx(generator_kind: str, device: torch.device, artifact_dir: Path, weights_sha256: str) -> bool:
    """``runtime="auto"``: ONNX Runtime on the CPU for the kinds it speeds up, when an up-to-date export exists."""
    return (device.type == "cpu" and generator_kind in ONNX_FASTER_KINDS and onnx_available()
            and onnx_status(artifact_dir, weights_sha256) is None)


def export_vocoder_onnx(artifact_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``generator.onnx`` and ``onnx.json`` into a ``vocoder`` artifact folder and return the graph path.

    The graph (opset 18, dynamic frame count) is checked against PyTorch on random log-mels of
    several lengths; a difference above ``EXPORT_TOLERANCE`` is an ArtifactError and nothing is kept.
    """
    from voicegen.formats.vocoder import load_vocoder_artifact, load_vocoder_generator

    artifact_dir = Path(artifact_dir)
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError(f"ONNX export needs onnx and onnxscript: {INSTALL_HINT}") from None
    if not onnx_available():
        raise ConfigError(f"ONNX export needs onnxruntime: {INSTALL_HINT}")
    artifact, meta = load_vocoder_artifact(artifact_dir)
    generator, n_mels = load_vocoder_generator(artifact, meta), meta.feature_config.n_mels  # float32, CPU
    graph = artifact_dir / ONNX_FILE
    if graph.exists() and not overwrite:
        raise ArtifactError(f"{graph} exists; pass --overwrite to replace it")
    rows = getattr(generator, "in_rows", n_mels)  # mel (+ lf0, vuv, phase for a source-filter generator)
    example = example_input(rows, n_mels, CHECK_FRAMES[-1], torch.Generator().manual_seed(0))
    frames = torch.export.Dim("frames", min=1, max=1_000_000)
    with atomic_path(graph) as tmp:
        buffer = io.BytesIO()
        # The exporter narrates every pass on stdout and logs/warns about optional packages: keep quiet.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _quiet_logger("torch.onnx"):
            warnings.simplefilter("ignore")
            torch.onnx.export(generator, (example,), buffer, input_names=["mel"], output_names=["wav"],
                              dynamic_shapes=({2: frames},), dynamo=True, opset_version=ONNX_OPSET)
        Path(tmp).write_bytes(buffer.getvalue())
        max_diff = _check_export(generator, OnnxGenerator(tmp), rows, n_mels, graph)
    note = {"weights_sha256": artifact.weights_sha256, "opset": ONNX_OPSET,
            "torch_version": torch.__version__, "max_abs_diff": max_diff,
            "checked_frames": list(CHECK_FRAMES)}
    atomic_write_text(artifact_dir / ONNX_META, json.dumps(note, indent=2) + "\n")
    return graph


@contextlib.contextmanager
def _quiet_logger(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def example_input(rows: int, n_mels: int, frames: int, rng: torch.Generator) -> torch.Tensor:
    """A random generator input ``(1, rows, frames)``: log-mel rows around -6, and for the extra rows of a
    source-filter generator log-F0 of 80-400 Hz, 0/1 voicing and phases in [0, 2 pi)."""
    mel = -6 + 2 * torch.randn(1, n_mels, frames, generator=rng)
    if rows == n_mels:
        return mel
    lf0 = torch.log(80 + 320 * torch.rand(1, 1, frames, generator=rng))
    vuv = (torch.rand(1, 1, frames, generator=rng) > 0.3).float()
    phase = 2 * torch.pi * torch.rand(1, 1, frames, generator=rng)
    return torch.cat([mel, lf0, vuv, phase], dim=1)


def _check_export(generator: torch.nn.Module, onnx_generator: OnnxGenerator, rows: int, n_mels: int,
                  graph: Path) -> float:
    rng = torch.Generator().manual_seed(0)
    worst = 0.0
    for frames in CHECK_FRAMES:
        mel = example_input(rows, n_mels, frames, rng)
        with torch.no_grad():
            reference = generator(mel)
        worst = max(worst, float((onnx_generator(mel) - reference).abs().max()))
    if not worst <= EXPORT_TOLERANCE:
        raise ArtifactError(f"{graph}: ONNX output differs from PyTorch by {worst:.2e} "
                            f"(> {EXPORT_TOLERANCE:g}); not written")
    return worst
