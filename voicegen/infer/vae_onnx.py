"""A speaker-conditioned spectrogram VAE as a converter on ONNX Runtime (torch-free).

The graphs (``voicegen export vae --artifact FOLDER --onnx``; :mod:`voicegen.infer.onnx_export`)
convert a normalised log-mel into one speaker each: encoder, posterior mean, decoder with that
speaker's embedding, as :meth:`voicegen.infer.vae.VAEBundle.convert_mel` does with PyTorch. This
class offers what :class:`voicegen.infer.convert.Converter` uses of a converter bundle
(``speakers``, ``stats``, ``feature_config``, ``generator``, ``mel_stream``, ``convert_mel``);
the VAE's other tools (latents, traversal, scores) need PyTorch (:mod:`voicegen.infer.vae`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicegen.audio.contract import FeatureConfig
from voicegen.audio.logmel import check_log_mel
from voicegen.audio.stats import SpeakerStats, denormalize, normalize
from voicegen.errors import ArtifactError, ConfigError
from voicegen.infer.framebank import FrameBank, redraw_refiner
from voicegen.infer.nets import batch_of_one
from voicegen.infer.stream import Chunker, CrossfadeChunks, Stage, run_whole

# convert_mel (also voicegen.infer.vae's): chunks of 16 s at 16 kHz / hop 256 and their crossfaded
# overlap, as for the CycleGAN.
CONVERT_CHUNK_FRAMES = 1024
CONVERT_OVERLAP_FRAMES = 128


@dataclass
class OnnxVAEConverter:
    """The conversion graphs of a VAE bundle, one per target speaker (``nets[name]``)."""

    nets: dict[str, Any]
    speakers: tuple[str, ...]
    stats: dict[str, SpeakerStats]
    normalization: SpeakerStats
    feature_config: FeatureConfig
    path: Path | None = None
    runtime: str = "onnx"
    device: str = "cpu"
    frame_bank: FrameBank | None = None
    """As :attr:`voicegen.infer.vae.VAEBundle.frame_bank`."""

    def generator(self, source: str, target: str) -> Any:
        """Check a ``source -> target`` direction (both known, different); the target's graph."""
        for name in (source, target):
            if name not in self.speakers:
                raise ConfigError(f"speaker {name!r} is not in this VAE (speakers: {', '.join(self.speakers)})")
        if source == target:
            raise ConfigError(f"source and target are both {source!r}; pick two different speakers "
                              f"({', '.join(self.speakers)})")
        return self.nets[target]

    def projector(self, speaker: str) -> Callable[[np.ndarray], np.ndarray]:
        """A log-mel ``(n_mels, F)`` of anyone -> ``speaker``'s voice through that speaker's graph (as
        :meth:`voicegen.infer.vae.VAEBundle.projector`)."""
        if speaker not in self.speakers:
            raise ConfigError(f"speaker {speaker!r} is not in this VAE (speakers: {', '.join(self.speakers)})")
        net = batch_of_one(self.nets[speaker])
        norm = self.normalization

        def project(mel: np.ndarray) -> np.ndarray:
            return denormalize(net(normalize(mel, norm).astype(np.float32)), norm).astype(np.float32)

        return project

    def mel_stream(self, source: str, target: str, *, chunker: Chunker | None = None, postfilter: bool = True,
                   use_frame_bank: bool | None = None) -> Stage:
        """Log-mel frames of ``source`` in blocks -> ``target``'s voice (crossfaded chunks as offline);
        ``postfilter`` False leaves the frame bank out (``use_frame_bank`` True/False overrides it)."""
        self.generator(source, target)
        convert = self.projector(target)
        use_bank = postfilter if use_frame_bank is None else use_frame_bank
        redraw = redraw_refiner(self.frame_bank, target, self.stats) if use_bank else None
        n_mels = self.feature_config.n_mels
        if chunker is not None:
            return chunker(convert, n_mels, np.asarray(self.stats[source].mel_mean, np.float32), redraw)
        if redraw is not None:
            convert = redraw.after(convert)
        return CrossfadeChunks(convert, n_mels, CONVERT_CHUNK_FRAMES, CONVERT_OVERLAP_FRAMES)

    def convert_mel(self, mel: np.ndarray, source: str, target: str) -> np.ndarray:
        mel = check_log_mel(mel, self.feature_config.n_mels, "convert_mel: ")
        return run_whole(self.mel_stream(source, target), mel)


def load_onnx_vae(path: str | Path, meta: Any, graphs: Any) -> OnnxVAEConverter:
    """The converter of a VAE bundle (``meta``: :class:`voicegen.formats.vae.VAEMeta`) from its
    checked ONNX graphs (:class:`voicegen.infer.onnx_runtime.OnnxGraphs`)."""
    by_speaker = {entry.get("speaker"): key for key, entry in graphs.graphs.items()}
    missing = [name for name in meta.speakers if name not in by_speaker]
    if missing:
        raise ArtifactError(f"{path}: onnx.json has no graph for speaker(s) {', '.join(missing)}; re-run "
                            f"`voicegen export vae --artifact {path} --onnx --overwrite`")
    return OnnxVAEConverter(nets={name: graphs.net(by_speaker[name]) for name in meta.speakers},
                            speakers=meta.speakers, stats=meta.stats, normalization=meta.normalization,
                            feature_config=meta.feature_config, path=Path(path))
