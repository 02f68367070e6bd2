"""Mel-to-mel conversion with an exported ``cyclegan`` bundle (format: :mod:`voicegen.formats.cyclegan`).

    bundle = load_cyclegan_bundle("runs/sf1_tm1/export")
    mel_tm1 = bundle.convert_mel(mel_sf1, "SF1", "TM1")      # (n_mels, F) -> (n_mels, F)

``convert_mel`` normalises with the source speaker's statistics, runs the source -> target
generator with an all-ones mask (nothing to fill in), and de-normalises with the target's. A
bundle with a frame bank (``extra.frame_bank``, :mod:`voicegen.infer.framebank`) re-draws each
converted chunk from the target's own frames right after the generator, and one with a post-filter
(``extra.postfilter``, :mod:`voicegen.infer.postfilter`) runs that next, for the targets they list.

Chunking: the generators use instance norm, whose statistics span the whole input, so a chunk's
output depends on the whole chunk, not only on nearby frames; measured on a 14 s clip, 256- to
640-frame chunks changed the output by about half its own frame-to-frame variation, everywhere
rather than only at the seams. Inputs up to ``chunk_frames`` (1024 frames = 16 s at 16 kHz / hop
256) are therefore converted whole, as MaskCycleGAN-VC does; only longer ones are cut into
overlapping chunks joined with linear crossfades, which bounds memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicegen.audio.contract import FeatureConfig
from voicegen.audio.logmel import check_log_mel
from voicegen.audio.stats import SpeakerStats, denormalize, normalize
from voicegen.errors import ConfigError
from voicegen.formats.cyclegan import GENERATOR_MODULES, MIN_FRAMES, read_cyclegan_meta  # noqa: F401  (re-exported)
from voicegen.formats.cyclegan import KIND as CYCLEGAN_KIND  # noqa: F401  (re-exported)
from voicegen.infer.nets import as_net, batch_of_one, torch_device
from voicegen.infer.stream import Chain, Chunker, CrossfadeChunks, Map, run_whole

if TYPE_CHECKING:
    from voicegen.infer.framebank import FrameBank
    from voicegen.infer.postfilter import PostFilter

# Chunking of long mels (see the module docstring): frames converted at once (16 s at 16 kHz /
# hop 256; ~180 MB of peak memory for the "paper" generator on a CPU) and frames shared by
# neighbouring chunks, over which they are crossfaded.
DEFAULT_CHUNK_FRAMES = 1024
DEFAULT_OVERLAP_FRAMES = 128


@dataclass
class CycleGANBundle:
    """A loaded converter: both generators, stats and mel contract.

    ``speakers`` is ``(A, B)``; ``generators[(source, target)]`` converts source to target: a
    float32 PyTorch module in eval mode on ``device`` (``runtime`` ``torch``), or an ONNX Runtime
    graph (``runtime`` ``onnx``, CPU; :mod:`voicegen.infer.onnx_runtime`).
    """

    generators: dict[tuple[str, str], Any]
    speakers: tuple[str, str]
    stats: dict[str, SpeakerStats]
    feature_config: FeatureConfig
    generator_config: Any
    device: Any
    path: Path | None = None
    runtime: str = "torch"
    postfilter: PostFilter | None = None
    """The bundle's post-filter (``extra.postfilter``; :mod:`voicegen.infer.postfilter`), run on every
    converted chunk of the targets it lists; None when the bundle has none or it was turned off."""
    frame_bank: FrameBank | None = None
    """The bundle's frame bank (``extra.frame_bank``; :mod:`voicegen.infer.framebank`), run on every
    converted chunk of the targets it holds before the post-filter; None when the bundle has none or
    post-filtering was turned off."""

    def generator(self, source: str, target: str) -> Any:
        """The ``source -> target`` generator; ConfigError naming the bundle's speakers otherwise."""
        for name in (source, target):
            if name not in self.speakers:
                raise ConfigError(f"speaker {name!r} is not in this converter (speakers: {', '.join(self.speakers)})")
        if source == target:
            raise ConfigError(f"source and target are both {source!r}; convert between "
                              f"{self.speakers[0]} and {self.speakers[1]}")
        return self.generators[(source, target)]

    def convert_mel(
        self,
        mel: np.ndarray,
        source: str,
        target: str,
        *,
        chunk_frames: int = DEFAULT_CHUNK_FRAMES,
        overlap_frames: int = DEFAULT_OVERLAP_FRAMES,
    ) -> np.ndarray:
        """Convert a log-mel ``(n_mels, F)`` (the bundle's contract, not normalised) of ``source``
        into ``target``'s voice: a float32 log-mel of the same shape.

        Chunks of ``chunk_frames`` overlap by ``overlap_frames`` and are crossfaded linearly.
        """
        mel = check_log_mel(mel, self.feature_config.n_mels, "convert_mel: ")
        return run_whole(self.mel_stream(source, target, chunk_frames=chunk_frames,
                                         overlap_frames=overlap_frames), mel)

    def mel_stream(self, source: str, target: str, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                   overlap_frames: int = DEFAULT_OVERLAP_FRAMES, chunker: Chunker | None = None,
                   postfilter: bool = True, use_frame_bank: bool | None = None) -> Chain:
        """:meth:`convert_mel` as a streaming stage (:mod:`voicegen.infer.stream`): log-mel frames in
        blocks, converted frames out as soon as no later chunk reaches them; the same output.
        ``chunker(fn, channels, rest, refine)`` replaces the crossfaded chunks (live conversion; without
        the post-filter it gets the frame bank as ``refine``); ``postfilter`` False leaves the bundle's
        post-filter out of this stage, and its frame bank unless ``use_frame_bank`` is True
        (``use_frame_bank`` None: as ``postfilter``)."""
        generator = self.generator(source, target)
        if not (chunk_frames >= MIN_FRAMES and 0 <= overlap_frames < chunk_frames):
            raise ValueError(f"convert_mel: need chunk_frames >= {MIN_FRAMES} and 0 <= overlap_frames < "
                             f"chunk_frames, got {chunk_frames} and {overlap_frames}")
        n_mels, stats = self.feature_config.n_mels, self.stats

        convert = batch_of_one(as_net(generator, self.device))
        use_bank = postfilter if use_frame_bank is None else use_frame_bank
        redraw = self.frame_bank.refiner(target) if use_bank and self.frame_bank is not None else None
        if redraw is not None and (chunker is None or postfilter):
            convert, redraw = redraw.after(convert), None  # generator, then the frame bank on the same chunk
        project = self.postfilter.for_target(target) if postfilter and self.postfilter is not None else None
        if project is not None:
            generate = convert

            def convert(x: np.ndarray) -> np.ndarray:  # generator, then the post-filter on the same chunk
                y = denormalize(generate(x), stats[target])
                return normalize(project(y.astype(np.float32)), stats[target]).astype(np.float32)
        return Chain([Map(lambda m: normalize(m, stats[source]).astype(np.float32), n_mels),
                      (CrossfadeChunks(convert, n_mels, chunk_frames, overlap_frames)
                       if chunker is None else chunker(convert, n_mels, np.zeros(n_mels, dtype=np.float32), redraw)),
                      Map(lambda m: denormalize(m, stats[target]).astype(np.float32), n_mels)])


def load_cyclegan_bundle(path: str | os.PathLike, *, device: Any = "cpu", runtime: str = "torch") -> CycleGANBundle:
    """Load a ``cyclegan`` bundle (:mod:`voicegen.formats.cyclegan`); ArtifactError (one line, naming
    the path) when it is unusable. ``runtime``: ``torch``, ``onnx`` (its graphs, torch-free) or
    ``auto`` (:func:`voicegen.infer.onnx_runtime.choose_runtime`). Its post-filter, if it names one,
    is not loaded here: :func:`voicegen.infer.bundles.load_converter` attaches it."""
    from voicegen.infer.onnx_runtime import choose_runtime, load_onnx_graphs

    meta = read_cyclegan_meta(path)
    name_a, name_b = meta.speakers
    if choose_runtime(runtime, str(device), path, meta.artifact) == "onnx":
        graphs = load_onnx_graphs(path, meta.artifact, "cyclegan")
        return CycleGANBundle(
            generators={(name_a, name_b): graphs.net("G_ab"), (name_b, name_a): graphs.net("G_ba")},
            speakers=meta.speakers, stats=meta.stats, feature_config=meta.feature_config, generator_config=None,
            device="cpu", path=Path(path), runtime="onnx")
    from voicegen.formats.cyclegan import load_cyclegan_parts

    device = torch_device(device)
    parts = load_cyclegan_parts(path, device=device)
    return CycleGANBundle(
        generators={(name_a, name_b): parts.G_ab, (name_b, name_a): parts.G_ba}, speakers=parts.speakers,
        stats=parts.stats, feature_config=parts.feature_config, generator_config=parts.generator_config,
        device=device, path=parts.path,
    )
