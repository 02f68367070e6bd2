"""Per-file functions of the batch commands, and the plain-data spec each worker builds one from.

    spec = WorkerSpec(VocodeOptions(), model="runs/vocoder16k/export", device="cpu")
    worker = build_worker(spec)                  # loads the model: once per worker process
    record = run_file(worker, src, dest, rel, max_duration=600.0)   # never raises for a bad file

A :class:`WorkerSpec` is a command's typed options (:mod:`voicegen.infer.options`) plus the model
path and device; it goes to worker processes and Ray actors as JSON (:meth:`WorkerSpec.to_json`),
and its identity is recorded in the manifest. Every per-file function writes its output atomically
(a temporary name beside it, then a rename; see :mod:`voicegen.fileutil`), so a killed worker
never leaves a partial output. Heavy modules (torch, the models) are imported inside the builders.
"""

from __future__ import annotations

import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from voicegen.audio.io import is_audio_file
from voicegen.errors import AudioError, ConfigError, VoicegenError
from voicegen.infer.batch.inputs import header_seconds
from voicegen.infer.options import OPTIONS_BY_KIND, ConvertOptions, FeaturesOptions, FileOptions, VocodeOptions
from voicegen.npyio import npy_header

CONVERT, VOCODE, FEATURES = ConvertOptions.KIND, VocodeOptions.KIND, FeaturesOptions.KIND
KINDS = tuple(OPTIONS_BY_KIND)
OUTPUT_SUFFIX = {CONVERT: ".wav", VOCODE: ".wav", FEATURES: ".npy"}
MEL_SUFFIX = ".npy"
PLOT_SUFFIX = ".png"
SPEC_KEYS = ("kind", "model", "device", "options")


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its per-file function: the command's typed ``options`` (its
    class gives the kind: convert, vocode, features), ``model`` (artifact/bundle folder, absolute;
    None for features) and ``device`` (auto, cpu, cuda)."""

    options: FileOptions
    model: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if type(self.options) not in OPTIONS_BY_KIND.values():
            raise ConfigError(f"a batch worker takes {', '.join(cls.__name__ for cls in OPTIONS_BY_KIND.values())}, "
                              f"got {type(self.options).__name__}")

    @property
    def kind(self) -> str:
        return self.options.KIND

    def to_json(self) -> dict[str, Any]:
        """``{"kind", "model", "device", "options"}``, plain JSON (see :meth:`from_json`)."""
        return {"kind": self.kind, "model": self.model, "device": self.device, "options": self.options.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkerSpec:
        """The spec from :meth:`to_json`'s dict; ConfigError (one line) for an unknown kind or key."""
        unknown = sorted(str(key) for key in data if key not in SPEC_KEYS)
        if unknown:
            raise ConfigError(f"unknown worker spec key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                              f"expected {', '.join(SPEC_KEYS)}")
        kind = data.get("kind")
        if kind not in OPTIONS_BY_KIND:
            raise ConfigError(f"unknown batch kind {kind!r}; expected one of {', '.join(KINDS)}")
        return cls(OPTIONS_BY_KIND[kind].from_json(data.get("options", {})), model=data.get("model"),
                   device=data.get("device", "cpu"))

    def identity(self) -> dict[str, Any]:
        """The settings the outputs depend on (recorded in the manifest; the device is not one):
        ``kind``, ``model``, the options' identity and ``weights``: the sha256 of the model's weights
        and, for convert, its vocoder's (so a model re-exported into the same folder is noticed); for a
        conversion without ``--formant`` into a target the bundle sets a formant shift for, ``model_formant``."""
        identity = {"kind": self.kind, "model": self.model, "options": self.options.identity(),
                    "weights": model_weights(self)}
        shift = model_formant(self)
        if shift:
            identity["model_formant"] = shift
        return identity

    @property
    def output_suffix(self) -> str:
        return OUTPUT_SUFFIX[self.kind]

    def accepts(self, path: Path) -> bool:
        """Whether a folder or glob input takes ``path``: audio files, and ``.npy`` log-mels for vocode."""
        return is_audio_file(path) or (self.kind == VOCODE and path.suffix.lower() == MEL_SUFFIX)


@dataclass(frozen=True)
class FileWorker:
    """``process(src, dest, rel) -> seconds of audio``: writes ``dest`` (the output of ``rel``)
    atomically, raising VoicegenError for a bad input; ``probe(src) -> seconds or None`` reads
    only a header (the ``--max-duration`` guard)."""

    process: Callable[[Path, Path, PurePosixPath], float]
    probe: Callable[[Path], float | None] = header_seconds


def model_weights(spec: WorkerSpec) -> list[str]:
    """The ``weights_sha256`` of ``spec``'s model artifact (and, for convert, of its vocoder and of the
    post-filter it runs, then the sha256 of the frame bank it runs), from their ``artifact.json``; empty
    for features. Unreadable models give no hash here (loading them reports the error)."""
    if spec.model is None:
        return []
    from voicegen.artifact_meta import read_artifact_meta
    from voicegen.errors import VoicegenError
    from voicegen.infer.bundles import postfilter_path, read_bundle_info, vocoder_path

    try:
        paths = [Path(spec.model)] + ([vocoder_path(spec.model)] if spec.kind == CONVERT else [])
        postfilter = read_bundle_info(spec.model).postfilter if spec.kind == CONVERT else None
        if postfilter is not None and not spec.options.no_postfilter:
            paths.append(postfilter_path(postfilter, spec.model))
        metas = [read_artifact_meta(path) for path in paths]
        hashes = [str(meta["weights_sha256"]) for meta in metas]
        if spec.kind == CONVERT and not spec.options.no_postfilter:
            bank = (metas[0].get("extra") or {}).get("frame_bank")  # metas[0]: the bundle's own
            hashes += [str(bank["sha256"])] if isinstance(bank, dict) and "sha256" in bank else []
        return hashes
    except (VoicegenError, KeyError):
        return []


def model_formant(spec: WorkerSpec) -> float | None:
    """The formant shift a conversion without ``--formant`` gets from its bundle (``extra.formant`` of the target;
    None for other kinds, an explicit ``--formant``, or a bundle that cannot be read: loading it reports that)."""
    if spec.kind != CONVERT or spec.model is None or spec.options.formant is not None:
        return None
    from voicegen.errors import VoicegenError
    from voicegen.infer.bundles import read_bundle_info

    try:
        return (read_bundle_info(spec.model).formant or {}).get(spec.options.target)
    except VoicegenError:
        return None


def build_worker(spec: WorkerSpec) -> FileWorker:
    """Load ``spec``'s model and return its per-file function (call once per worker)."""
    options = spec.options
    if isinstance(options, ConvertOptions):
        from voicegen.infer.convert import Converter

        return convert_worker(Converter(spec.model, spec.device, f0_method=options.f0_method,
                                        runtime=options.runtime, postfilter=not options.no_postfilter,
                                        frame_bank_mix=options.frame_bank_mix), options)
    if isinstance(options, VocodeOptions):
        from voicegen.infer.vocode import load_vocoder

        vocoder = load_vocoder(spec.model, spec.device, options.runtime).with_f0_method(options.f0_method)
        return vocode_worker(vocoder, options)
    assert isinstance(options, FeaturesOptions)
    return features_worker(options)


def convert_worker(converter: Any, options: ConvertOptions) -> FileWorker:
    """Per-file voice conversion with a loaded :class:`voicegen.infer.convert.Converter`; with
    ``options.plot`` (a folder), also a spectrogram PNG mirrored there."""
    plot_dir = _folder(options.plot)

    def process(src: Path, dest: Path, rel: PurePosixPath) -> float:
        plot = plot_dir / rel.with_suffix(PLOT_SUFFIX) if plot_dir is not None else None
        return converter.convert_file(src, dest, options.source, options.target, pitch=options.pitch,
                                      overwrite=True, plot=plot, formant=options.formant).seconds

    return FileWorker(process=process)


def vocode_worker(vocoder: Any, options: VocodeOptions = VocodeOptions()) -> FileWorker:
    """Per-file vocoding (``.npy`` log-mel or audio copy-synthesis) with a loaded vocoder (already
    set to ``options``' runtime and F0 method), the pitch moved by ``options.pitch`` semitones and the
    envelope by ``options.formant``."""
    from voicegen.infer.vocode import vocode_file

    def process(src: Path, dest: Path, rel: PurePosixPath) -> float:
        vocode_file(src, dest, vocoder, overwrite=True, semitones=options.pitch, formant=options.formant)
        return _wav_seconds(dest)

    def probe(src: Path) -> float | None:
        if src.suffix.lower() != MEL_SUFFIX:
            return header_seconds(src)
        try:
            frames = npy_header(src)[0][-1]
        except (VoicegenError, IndexError):
            return None  # the worker's reader reports the real error
        return frames * vocoder.hop_length / vocoder.sample_rate

    return FileWorker(process=process, probe=probe)


def features_worker(options: FeaturesOptions) -> FileWorker:
    """Per-file log-mel ``(n_mels, frames)`` float32 ``.npy`` under ``options.preset``, with
    ``options.f0`` also the F0 rows (default :class:`~voicegen.audio.f0.F0Config`); with
    ``options.plot`` (a folder), also a PNG of the mel there."""
    from voicegen.audio.contract import get_preset
    from voicegen.audio.f0 import F0Config
    from voicegen.audio.logmel import file_mel
    from voicegen.fileutil import atomic_path

    feature_config, plot_dir = get_preset(options.preset), _folder(options.plot)

    def process(src: Path, dest: Path, rel: PurePosixPath) -> float:
        mel, samples = file_mel(src, feature_config, F0Config() if options.f0 else None)
        with atomic_path(dest) as tmp, open(tmp, "wb") as handle:
            np.save(handle, mel)
        if plot_dir is not None:
            from voicegen.audio.plot import plot_mel

            plot_mel(mel[:feature_config.n_mels], feature_config, plot_dir / rel.with_suffix(PLOT_SUFFIX),
                     title=src.name, overwrite=True)
        return samples / feature_config.sample_rate

    return FileWorker(process=process)


def run_file(worker: FileWorker, src: Path, dest: Path, rel: PurePosixPath,
             max_duration: float | None = None) -> dict[str, Any]:
    """Run one file through ``worker`` and describe the outcome as a manifest record body:
    ``status`` (done/failed), ``seconds`` (audio), ``wall_seconds``, ``cpu_seconds`` (this
    process's CPU time), ``rtf`` (wall / audio), ``error`` (one line), ``warnings``. A bad file is a
    ``failed`` record, never an exception; KeyboardInterrupt passes."""
    start, cpu_start = time.perf_counter(), time.process_time()
    record: dict[str, Any] = {"input": str(src), "output": rel.as_posix()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            if max_duration is not None:
                check_duration(src, worker.probe(src), max_duration)
            seconds = float(worker.process(src, dest, rel))
            wall = time.perf_counter() - start
            record.update(status="done", seconds=round(seconds, 4), wall_seconds=round(wall, 4),
                          cpu_seconds=round(time.process_time() - cpu_start, 4),
                          rtf=round(wall / seconds, 4) if seconds > 0 else None)
        except VoicegenError as err:
            record.update(status="failed", error=str(err))
        except Exception as err:  # a bug or a library failure: this file fails, the batch goes on
            text = " ".join(str(err).split()) or "no message"
            record.update(status="failed", error=f"{src}: {type(err).__name__}: {text}",
                          traceback=traceback.format_exc(limit=-8))
    if record["status"] == "failed":
        record["wall_seconds"] = round(time.perf_counter() - start, 4)
    if caught:
        record["warnings"] = [str(w.message) for w in caught]
    return record


def check_duration(src: Path, seconds: float | None, max_duration: float) -> None:
    """AudioError when ``seconds`` (None: unknown, let through) exceeds ``max_duration``."""
    if seconds is not None and seconds > max_duration:
        raise AudioError(f"{src}: {seconds:.1f} s long, beyond --max-duration {max_duration:g} s; "
                         "split the file or raise the limit")


def _wav_seconds(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


def _folder(value: Any) -> Path | None:
    return Path(value) if value is not None else None
