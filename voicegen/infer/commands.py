"""The library entry of each file command: typed options and any input in, a result out.

    options = ConvertOptions(source="SF1", target="TM1", pitch="none")
    result = run_convert("in.wav", "out.wav", options, bundle="models/sf1_tm1")        # ConvertResult
    summary = run_convert("clips/", "converted/", options, bundle="models/sf1_tm1",
                          batch=BatchOptions(jobs=2))                                 # BatchSummary

Each entry loads its model once (so a bad model fails before any file), then decides: a folder,
a glob or a list file (.txt) runs through the batch engine (:func:`voicegen.infer.batch.engine.run_inputs`:
mirrored outputs, manifest, resume, ``batch.jobs`` worker processes or Ray), a single file runs
here. ``batch.max_duration`` and ``batch.dry_run`` apply to a single file too (a dry run prints
what it would write through ``echo`` and returns None). ``echo(line, is_error)`` prints the
per-file lines (default: stdout/stderr). The ``voicegen`` commands only parse, call and print.
Heavy modules are imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voicegen.infer.options import BatchOptions, ConvertOptions, FeaturesOptions, FileOptions, VocodeOptions

Echo = Callable[[str, bool], None]


@dataclass(frozen=True)
class VocodeResult:
    """One vocoded file: ``out`` (the .wav written) at ``sample_rate`` Hz."""

    out: Path
    sample_rate: int


@dataclass(frozen=True)
class FeaturesResult:
    """One log-mel ``.npy`` at ``out``: ``n_mels`` + ``f0_rows`` rows x ``frames``, at ``sample_rate``
    Hz with hop ``hop_length``; ``plot`` the PNG written, if any."""

    out: Path
    n_mels: int
    f0_rows: int
    frames: int
    sample_rate: int
    hop_length: int
    plot: Path | None = None


def run_convert(src: str | os.PathLike, out: str | os.PathLike, options: ConvertOptions, *,
                bundle: str | os.PathLike, device: str = "cpu", batch: BatchOptions = BatchOptions(),
                overwrite: bool = False, echo: Echo | None = None,
                on_loaded: Callable[[Any], None] | None = None) -> Any:
    """Convert ``src`` (a file, folder, glob or list file) into ``out`` with the converter bundle
    ``bundle`` on ``device``. ``on_loaded(converter)`` is called once the models are loaded.
    Returns a :class:`~voicegen.infer.convert.ConvertResult` (a file), a
    :class:`~voicegen.infer.batch.report.BatchSummary` (many) or None (a dry run of a file)."""
    from voicegen.infer.batch.inputs import is_batch_input
    from voicegen.infer.batch.workers import WorkerSpec, convert_worker
    from voicegen.infer.convert import Converter

    converter = Converter(bundle, device, f0_method=options.f0_method, runtime=options.runtime,
                          postfilter=not options.no_postfilter, frame_bank_mix=options.frame_bank_mix)
    converter.pitch_plan(options.source, options.target, options.pitch)  # bad speakers fail before any file
    from voicegen.infer.vocode import check_formant_knob

    # so does a formant shift a mel-only vocoder cannot make (the bundle's own setting included)
    check_formant_knob(converter.vocoder, converter.formant_for(options.target, options.formant))
    if on_loaded is not None:
        on_loaded(converter)
    if is_batch_input(src):
        spec = WorkerSpec(_absolute_plot(options), model=str(Path(bundle).absolute()), device=device)
        worker = convert_worker(converter, spec.options) if batch.inline else None
        del converter  # worker processes load their own
        return _run_many(spec, src, out, batch, overwrite=overwrite, worker=worker, echo=echo)
    if _single_file_stops(src, out, batch, echo):
        return None
    return converter.convert_file(src, out, options.source, options.target, pitch=options.pitch,
                                  overwrite=overwrite, plot=options.plot, formant=options.formant)


def run_vocode(src: str | os.PathLike, out: str | os.PathLike, options: VocodeOptions = VocodeOptions(), *,
               model: str | os.PathLike, device: str = "cpu", batch: BatchOptions = BatchOptions(),
               overwrite: bool = False, echo: Echo | None = None) -> VocodeResult | Any | None:
    """Vocode ``src`` (audio or ``.npy`` log-mels: a file, folder, glob or list file) into ``out``
    with the vocoder artifact ``model``. Returns a :class:`VocodeResult` (a file; ``out`` may be a
    folder, which then takes the input's name), a ``BatchSummary`` (many) or None (a dry run)."""
    from voicegen.infer.batch.inputs import is_batch_input
    from voicegen.infer.batch.workers import WorkerSpec, vocode_worker
    from voicegen.infer.vocode import check_formant_knob, check_pitch_knob, load_vocoder, vocode_to

    vocoder = load_vocoder(model, device, options.runtime).with_f0_method(options.f0_method)
    check_pitch_knob(vocoder, options.pitch)
    check_formant_knob(vocoder, options.formant)
    if is_batch_input(src):
        spec = WorkerSpec(options, model=str(Path(model).absolute()), device=device)
        worker = vocode_worker(vocoder, options) if batch.inline else None
        del vocoder  # worker processes load their own
        return _run_many(spec, src, out, batch, overwrite=overwrite, worker=worker, echo=echo)
    if _single_file_stops(src, out, batch, echo, probe=vocode_worker(vocoder).probe):
        return None
    written = vocode_to(src, out, vocoder, overwrite=overwrite, semitones=options.pitch, formant=options.formant)
    return VocodeResult(out=written, sample_rate=vocoder.sample_rate)


def run_features(src: str | os.PathLike, out: str | os.PathLike, options: FeaturesOptions = FeaturesOptions(), *,
                 batch: BatchOptions = BatchOptions(), overwrite: bool = False,
                 echo: Echo | None = None) -> FeaturesResult | Any | None:
    """Log-mel ``.npy`` of ``src`` (a file, folder, glob or list file) at ``out`` (a ``.npy``, or a
    folder for many inputs). Returns a :class:`FeaturesResult` (a file), a ``BatchSummary`` (many)
    or None (a dry run)."""
    from voicegen.audio.contract import get_preset
    from voicegen.infer.batch.inputs import is_batch_input
    from voicegen.infer.batch.workers import WorkerSpec, features_worker

    config = get_preset(options.preset)  # an unknown preset fails before any file
    if is_batch_input(src):
        spec = WorkerSpec(_absolute_plot(options))
        worker = features_worker(spec.options) if batch.inline else None
        return _run_many(spec, src, out, batch, overwrite=overwrite, worker=worker, echo=echo)
    if _single_file_stops(src, out, batch, echo):
        return None
    import numpy as np

    from voicegen.audio.f0 import F0_ROWS, F0Config
    from voicegen.audio.logmel import file_mel
    from voicegen.fileutil import atomic_path

    src, out = Path(src), Path(out)
    plot = Path(options.plot) if options.plot is not None else None
    for path in (out, plot):
        if path is not None and path.exists() and not overwrite:
            from voicegen.errors import AudioError

            raise AudioError(f"{path}: already exists; pass --overwrite (overwrite=True) to replace it")
    mel, _ = file_mel(src, config, F0Config() if options.f0 else None)
    with atomic_path(out) as tmp, open(tmp, "wb") as handle:
        np.save(handle, mel.astype(np.float32))
    if plot is not None:
        from voicegen.audio.plot import plot_mel

        plot_mel(mel[:config.n_mels], config, plot, title=src.name, overwrite=True)
    return FeaturesResult(out=out, n_mels=config.n_mels, f0_rows=F0_ROWS if options.f0 else 0, frames=mel.shape[1],
                          sample_rate=config.sample_rate, hop_length=config.hop_length, plot=plot)


def _absolute_plot(options: FileOptions) -> Any:
    """``options`` with its plot folder made absolute (workers may run elsewhere)."""
    plot = getattr(options, "plot", None)
    return replace(options, plot=str(Path(plot).absolute())) if plot is not None else options


def _run_many(spec: Any, src: str | os.PathLike, out: str | os.PathLike, batch: BatchOptions, *,
              overwrite: bool, worker: Any, echo: Echo | None) -> Any:
    from voicegen.infer.batch.engine import run_inputs

    return run_inputs(spec, src, out, batch, overwrite=overwrite, worker=worker, echo=echo)


def _single_file_stops(src: str | os.PathLike, out: str | os.PathLike, batch: BatchOptions, echo: Echo | None,
                       probe: Callable[[Path], float | None] | None = None) -> bool:
    """The batch options that apply to one file: ``max_duration`` (AudioError beyond it, read from
    the header with ``probe``) and ``dry_run`` (echo the plan; True: stop here)."""
    from voicegen.infer.batch.inputs import header_seconds
    from voicegen.infer.batch.report import print_echo
    from voicegen.infer.batch.workers import check_duration

    src = Path(src)
    if batch.max_duration is not None:
        check_duration(src, (probe or header_seconds)(src), batch.max_duration)
    if batch.dry_run:
        (echo or print_echo)(f"would write {out} from {src}", False)
        return True
    return False
