"""Vocode: log-mel -> waveform with an exported ``vocoder`` artifact (see ``voicegen.train.vocoder``).

    vocoder = load_vocoder("runs/vocoder16k/export")
    wav = vocoder.wav_from_mel(mel)                       # (n_mels, frames) -> (frames * hop,)
    vocode_path("in.wav", "out.wav", vocoder)             # copy-synthesis: wav -> mel -> wav
    vocode_path("mels/", "wavs/", vocoder)                # a folder tree, mirrored

Long inputs are vocoded in chunks of mel frames with context on both sides that is computed and
thrown away, so memory stays bounded and the result equals vocoding the whole input at once (the
generators' receptive fields are shorter than the context).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voicegen.audio.features import FeatureConfig, MelStream
from voicegen.audio.io import AudioReader, guard_gain, is_audio_file
from voicegen.checkpoint import Artifact, load_artifact
from voicegen.errors import ArtifactError, AudioError, ConfigError
from voicegen.infer.stream import Chain, ContextChunks, run_whole, stream_to_file
from voicegen.models.vocoder import build_generator

VOCODER_KIND = "vocoder"
"""Artifact kind written by ``voicegen.train.vocoder.export_vocoder``."""
GENERATOR_MODULE = "generator"
MEL_SUFFIX = ".npy"
NPY_MAGIC = b"\x93NUMPY"
OUTPUT_SUFFIX = ".wav"
# Chunking of long mels: frames vocoded per chunk, and frames of context on each side. Measured
# on the shipped generators (istft defaults, HiFi-GAN v1, v3, v1_istft): 16 frames of context
# already give the whole-input output to float rounding (~1e-7); 32 (0.5 s at 16 kHz) is margin.
DEFAULT_CHUNK_FRAMES = 200
DEFAULT_CONTEXT_FRAMES = 32


@dataclass
class Vocoder:
    """A loaded vocoder: ``generator`` (eval mode, float32, on ``device``) and its mel contract."""

    generator: nn.Module
    feature_config: FeatureConfig
    generator_kind: str
    device: torch.device
    path: Path | None = None
    runtime: str = "torch"
    """``torch`` (eager PyTorch) or ``onnx`` (ONNX Runtime, CPU; see ``voicegen.infer.onnx_runtime``)."""

    @property
    def sample_rate(self) -> int:
        return self.feature_config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.feature_config.hop_length

    def check_contract(self, feature_config: FeatureConfig) -> None:
        """ConfigError (one line, naming the differing fields) unless ``feature_config`` is this vocoder's."""
        differ = self.feature_config.diff(feature_config)
        if differ:
            mine, theirs = self.feature_config.to_dict(), feature_config.to_dict()
            parts = ", ".join(f"{name} {theirs[name]!r} vs {mine[name]!r}" for name in differ)
            where = f"vocoder {self.path}" if self.path is not None else "the vocoder"
            raise ConfigError(f"mel contract mismatch with {where}: {parts} (required vs vocoder); "
                              "use a vocoder trained on the same features")

    @torch.no_grad()
    def wav_from_mel(
        self,
        mel: np.ndarray | torch.Tensor,
        *,
        chunk_frames: int = DEFAULT_CHUNK_FRAMES,
        context_frames: int = DEFAULT_CONTEXT_FRAMES,
    ) -> np.ndarray:
        """Log-mel ``(n_mels, frames)`` -> waveform ``(frames * hop_length,)`` float32 (not clipped).

        Chunks of ``chunk_frames`` frames are vocoded with ``context_frames`` extra frames on each
        side (where the input has them), whose samples are dropped.
        """
        mel = torch.as_tensor(mel, dtype=torch.float32)
        n_mels = self.feature_config.n_mels
        if mel.dim() != 2 or mel.shape[0] != n_mels or mel.shape[1] < 1:
            raise ValueError(f"expected a log-mel shaped ({n_mels}, frames), got {tuple(mel.shape)}")
        return run_whole(self.stream(chunk_frames=chunk_frames, context_frames=context_frames), mel)

    def stream(self, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES,
               context_frames: int = DEFAULT_CONTEXT_FRAMES) -> ContextChunks:
        """:meth:`wav_from_mel` as a streaming stage (:mod:`voicegen.infer.stream`): log-mel frames
        in blocks, samples out as soon as a chunk's right context has arrived; the same output."""
        generator = self.generator

        @torch.no_grad()
        def vocode(mel: torch.Tensor) -> torch.Tensor:
            return generator(mel[None])[0, 0]

        return ContextChunks(vocode, self.feature_config.n_mels, self.hop_length, chunk_frames, context_frames,
                             self.device)


def load_vocoder(path: str | os.PathLike, device: str | torch.device = "cpu", runtime: str = "auto") -> Vocoder:
    """Load a ``vocoder`` artifact folder onto ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    ``runtime``: ``torch``; ``onnx`` (the folder's ``generator.onnx`` from ``voicegen export vocoder
    --onnx``, CPU only); ``auto`` = ONNX Runtime where it was measured faster and an up-to-date
    export exists (see ``voicegen.infer.onnx_runtime.prefer_onnx``), else torch.
    """
    from voicegen.infer import onnx_runtime

    if runtime not in onnx_runtime.RUNTIMES:
        raise ConfigError(f"runtime must be one of {', '.join(onnx_runtime.RUNTIMES)}; got {runtime!r}")
    artifact = load_artifact(path, expected_kind=VOCODER_KIND)
    kind, gen_config, feature_config = _vocoder_parts(artifact)
    generator = build_generator(kind, gen_config, source=f"{artifact.path}: generator")
    try:
        generator.validate_hop(feature_config.hop_length)
    except ValueError as err:
        raise ArtifactError(f"{artifact.path}: {err}") from None
    generator.remove_weight_norm()
    _load_weights(generator, artifact.weights.get(GENERATOR_MODULE, {}), artifact.path)
    target = _device(device)
    if runtime == "onnx" and target.type != "cpu":
        raise ConfigError(f"runtime 'onnx' runs on the CPU here; use --device cpu (got {target})")
    if runtime == "onnx" or (runtime == "auto" and onnx_runtime.prefer_onnx(
            kind, target, artifact.path, artifact.weights_sha256)):
        return Vocoder(generator=onnx_runtime.load_onnx_generator(artifact.path, artifact.weights_sha256),
                       feature_config=feature_config, generator_kind=kind, device=target,
                       path=artifact.path, runtime="onnx")
    generator = generator.float().to(target).eval()
    return Vocoder(generator=generator, feature_config=feature_config, generator_kind=kind,
                   device=target, path=artifact.path)


def _load_weights(generator: nn.Module, weights: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``weights`` into ``generator``, or one ArtifactError naming what does not fit."""
    expected = generator.state_dict()
    problems = [f"missing {k}" for k in expected if k not in weights]
    problems += [f"unexpected {k}" for k in weights if k not in expected]
    problems += [f"{k} is {tuple(weights[k].shape)}, expected {tuple(t.shape)}"
                 for k, t in expected.items() if k in weights and weights[k].shape != t.shape]
    if problems:
        more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
        raise ArtifactError(f"{path}: generator weights do not fit its config ({'; '.join(problems[:2])}{more}); "
                            "re-export the vocoder")
    generator.load_state_dict(weights)


def _vocoder_parts(artifact: Artifact) -> tuple[str, dict[str, Any], FeatureConfig]:
    config = artifact.config
    kind, gen_config = config.get("generator_kind"), config.get("generator")
    if kind not in ("hifigan", "istft") or not isinstance(gen_config, dict) or not isinstance(artifact.mel, dict):
        raise ArtifactError(f"{artifact.path}: vocoder artifact lacks generator_kind/generator/mel; "
                            "re-export the vocoder")
    try:
        feature_config = FeatureConfig.from_dict(artifact.mel)
    except ConfigError as err:
        raise ArtifactError(f"{artifact.path}: invalid mel contract ({err}); re-export the vocoder") from None
    return kind, gen_config, feature_config


def _device(spec: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cuda`` without CUDA is a ConfigError."""
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


def clip_guard(wav: np.ndarray, where: str) -> np.ndarray:
    """``wav`` scaled down to a ``GUARD_PEAK`` peak (with an AudioWarning) if it exceeds full scale
    (:func:`voicegen.audio.io.guard_gain`; what :class:`~voicegen.audio.io.AudioWriter` does with
    ``guard`` for streamed outputs)."""
    gain = guard_gain(float(np.abs(wav).max()) if wav.size else 0.0, where)
    return wav if gain == 1.0 else (wav * gain).astype(np.float32)


def load_mel_file(path: str | os.PathLike, n_mels: int) -> np.ndarray:
    """A ``.npy`` log-mel ``(n_mels, frames)`` as float32; AudioError naming the file otherwise."""
    path = Path(path)
    expected = f"expected a 2-D log-mel shaped ({n_mels}, frames) for this vocoder"
    try:
        with open(path, "rb") as handle:
            if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
                raise AudioError(f"{path}: not a NumPy .npy file (no .npy header); {expected}")
        mel = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise AudioError(f"{path}: cannot read the .npy file ({reason}); {expected}") from None
    if mel.ndim != 2 or mel.shape[0] != n_mels or mel.shape[1] < 1:
        raise AudioError(f"{path}: {expected}, got shape {mel.shape}; make it with `voicegen features`")
    if not np.issubdtype(mel.dtype, np.floating) or not np.isfinite(mel).all():
        raise AudioError(f"{path}: {expected} of finite floats, got dtype {mel.dtype} "
                         f"{'with NaN/Inf' if np.issubdtype(mel.dtype, np.floating) else ''}".rstrip())
    return mel.astype(np.float32)


def vocode_file(in_path: str | os.PathLike, out_path: str | os.PathLike, vocoder: Vocoder, *,
                overwrite: bool = False) -> Path:
    """Vocode one file: a ``.npy`` log-mel, or audio (copy-synthesis at the vocoder's rate, streamed
    block by block: memory does not grow with the file's length). Output clip-guarded, atomic."""
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.exists() and not overwrite:
        raise AudioError(f"{out_path}: already exists; pass --overwrite (overwrite=True) to replace it")
    if in_path.suffix.lower() == MEL_SUFFIX:
        mel = load_mel_file(in_path, vocoder.feature_config.n_mels)
        stream_to_file([mel], vocoder.stream(), out_path, vocoder.sample_rate, overwrite=overwrite,
                       guard=str(in_path))
        return out_path
    reader = AudioReader(in_path, vocoder.sample_rate, min_samples=vocoder.feature_config.min_samples)
    stream_to_file(reader, Chain([MelStream(vocoder.feature_config), vocoder.stream()]), out_path,
                   vocoder.sample_rate, overwrite=overwrite, guard=str(in_path), length=lambda: reader.samples)
    return out_path


def vocode_path(in_path: str | os.PathLike, out_path: str | os.PathLike, vocoder: Vocoder, *,
                overwrite: bool = False) -> list[Path]:
    """Vocode a file, or every audio/``.npy`` file under a folder into a mirrored folder of ``.wav``.

    Existing outputs are refused (all checked before any work) unless ``overwrite``. Returns the
    written paths.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    if not in_path.exists():
        raise AudioError(f"{in_path}: not found; pass an audio file, a .npy log-mel or a folder")
    if in_path.is_dir():
        jobs = [(src, out_path / src.relative_to(in_path).with_suffix(OUTPUT_SUFFIX))
                for src in sorted(in_path.rglob("*"))
                if src.is_file() and not src.name.startswith(".")
                and (is_audio_file(src) or src.suffix.lower() == MEL_SUFFIX)]
        if not jobs:
            raise AudioError(f"{in_path}: no audio or .npy files found in this folder or below")
        if out_path.exists() and not out_path.is_dir():
            raise AudioError(f"{out_path}: is a file; give a folder for a folder input")
    else:
        if out_path.is_dir():
            out_path = out_path / in_path.with_suffix(OUTPUT_SUFFIX).name
        jobs = [(in_path, out_path)]
    targets = [dst for _, dst in jobs]
    if len(set(targets)) != len(targets):
        clash = next(t for t in targets if targets.count(t) > 1)
        raise AudioError(f"{clash}: two inputs would write this file (e.g. x.wav and x.npy); rename one")
    existing = [dst for dst in targets if dst.exists()]
    if existing and not overwrite:
        more, them = (f" (and {len(existing) - 1} more)", "them") if len(existing) > 1 else ("", "it")
        raise AudioError(f"{existing[0]}: already exists{more}; pass --overwrite (overwrite=True) to replace {them}")
    return [vocode_file(src, dst, vocoder, overwrite=overwrite) for src, dst in jobs]
