"""Voice conversion of files with a converter bundle (see :mod:`voicegen.infer.bundles`).

    converter = Converter("~/.local/share/voicegen/models/sf1_tm1")
    result = converter.convert_file("in.wav", "out.wav", "SF1", "TM1", plot="out.png")

A folder, glob or list of files goes through the batch engine: :func:`voicegen.infer.commands.run_convert`
takes :class:`~voicegen.infer.options.ConvertOptions` and any input.

Per file, streamed block by block: load (any format, mono, the bundle's rate) -> log-mel and F0
rows -> the converter maps the mel (source stats in, target stats out; chunked beyond 1024
frames; then the bundle's post-filter, if any) while the F0 is converted explicitly -> the pitch-conditioned vocoder (chunked) ->
trim/pad to the input length -> clip guard -> atomic save -> optional PNG.

Pitch (``--pitch``), with a pitch-conditioned vocoder (the shipped default):

* ``auto`` (default): the log-Gaussian transform from the bundle's speaker statistics,
  ``lf0' = (lf0 - mu_source) / sigma_source * sigma_target + mu_target`` on every frame (log-F0 is
  continuous; voicing comes from the source);
* ``none``: the source's F0 unchanged (singing, or same-gender pairs);
* a number: the transform plus that many semitones.

No phase vocoder anywhere on this path. A bundle whose vocoder is mel-only (older voicegen)
keeps the previous behaviour: ``auto`` and numbers pre-shift the input waveform with
``librosa.effects.pitch_shift`` (phase vocoder) by the log-F0 mean difference or the number.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicegen.audio.f0 import F0_ROWS, affine_lf0, log_gaussian
from voicegen.audio.io import AudioReader
from voicegen.audio.logmel import MelStream
from voicegen.audio.logmel import log_mel as compute_mel
from voicegen.errors import AudioError, ConfigError
from voicegen.infer.bundles import load_converter, read_bundle_info, vocoder_path
from voicegen.infer.formant import describe_formant
from voicegen.infer.options import (  # noqa: F401 (parse_pitch: re-exported)
    PITCH_AUTO,
    PITCH_NONE,
    check_frame_bank_mix,
    parse_pitch,
)
from voicegen.infer.stream import (
    Chain,
    Fork,
    Map,
    Record,
    Stage,
    rows,
    run_whole,
    stream_to_file,
)
from voicegen.infer.vocode import check_formant_knob, formant_stage, load_vocoder

SEMITONES_PER_OCTAVE = 12
# Below 0.1 semitone (10 cents, about the pitch JND) an auto shift is skipped, since the phase
# vocoder costs quality for nothing audible.
MIN_PITCH_SHIFT_SEMITONES = 0.1


@dataclass(frozen=True)
class ConvertResult:
    """One converted file: ``seconds`` of audio, ``rtf`` = wall time / audio time, ``pitch_shift``
    the pre-shift applied in semitones (0.0 when none), ``sample_rate`` of the output (Hz)."""

    out: Path
    seconds: float
    rtf: float
    pitch_shift: float
    plot: Path | None = None
    sample_rate: int | None = None


def shift_pitch(wav: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """``(T,)`` float32 waveform shifted by ``semitones`` at the same length and rate."""
    import librosa.effects  # ~5 s on first import (numba); only needed when shifting

    shifted = librosa.effects.pitch_shift(np.asarray(wav, dtype=np.float32), sr=sample_rate, n_steps=semitones)
    return np.asarray(shifted, dtype=np.float32)


class Converter:
    """A converter bundle loaded once (a CycleGAN pair or a speaker-conditioned VAE) and its vocoder, on ``device``.

    ``device``: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``; ``f0_method``: the F0
    tracker of a pitch-conditioned vocoder (None: its own; see ``Vocoder.with_f0_method``);
    ``postfilter``: apply the bundle's post-filter and frame bank, if it has them (:mod:`voicegen.infer.postfilter`,
    :mod:`voicegen.infer.framebank`); ``frame_bank_mix``: the share of each frame the frame bank re-draws instead of
    the bundle's own (0 leaves the bank out; None: the bundle's). Raises ArtifactError for an unusable bundle,
    ConfigError when the vocoder's mel contract differs from the converter's (naming the fields) or when
    ``frame_bank_mix`` is given for a bundle without a frame bank.
    """

    def __init__(self, bundle_path: str | os.PathLike, device: str = "cpu", *, f0_method: str | None = None,
                 runtime: str = "auto", postfilter: bool = True, frame_bank_mix: float | None = None) -> None:
        self.path = Path(bundle_path)
        self.vocoder = load_vocoder(vocoder_path(self.path), device, runtime).with_f0_method(f0_method)
        self.bundle = load_converter(self.path, device=self.vocoder.device if self.vocoder.runtime == "torch" else device,
                                     runtime=runtime, postfilter=postfilter)
        self.vocoder.check_contract(self.bundle.feature_config)
        self.feature_config = self.bundle.feature_config
        self.formant_settings: dict[str, float] = read_bundle_info(self.path).formant or {}
        """The bundle's formant shift per target speaker (``extra.formant``, :mod:`voicegen.formats.formant`)."""
        self._bank = getattr(self.bundle, "frame_bank", None)
        self._bundle_mix = self._bank.mix if self._bank is not None else None
        if frame_bank_mix is not None:
            self.set_frame_bank_mix(frame_bank_mix)

    def set_frame_bank_mix(self, mix: float | None) -> None:
        """Re-draw ``mix`` (0-1) of each converted frame from the bundle's frame bank from now on: 0 leaves the
        bank out, None restores the bundle's own share. ConfigError (one line) for a share other than None
        when the bundle has no frame bank (or it was left out with ``postfilter=False``)."""
        if self._bank is None:
            if mix is None:
                return
            raise ConfigError(f"{self.path}: this model has no frame bank for --frame-bank-mix to set (`voicegen "
                              "models` shows which do; `voicegen bundle --frame-bank` adds one)")
        mix = self._bundle_mix if mix is None else check_frame_bank_mix(mix)
        if mix == 0:
            self.bundle.frame_bank = None
        else:
            self._bank.set_mix(mix)
            self.bundle.frame_bank = self._bank

    def formant_for(self, target: str, formant: float | None = None) -> float:
        """Semitones the formants of a conversion into ``target`` move: ``formant``, or when None the bundle's
        setting for ``target`` (``extra.formant``; 0 when it has none)."""
        return self.formant_settings.get(target, 0.0) if formant is None else formant

    def formant_plan(self, target: str, formant: float | None = None) -> str | None:
        """What :meth:`formant_for` does, one line (None when nothing moves), e.g. ``"formants: moved +0.75 semitones
        (x1.044 in frequency), the model's setting for SF1 (--formant 0 leaves it out)"``."""
        shift = self.formant_for(target, formant)
        if not shift:
            return None
        own = f", the model's setting for {target} (--formant 0 leaves it out)" if formant is None else ""
        return describe_formant(shift) + own

    @property
    def runtime(self) -> str:
        """``onnx`` when ONNX Runtime runs both networks (torch-free), ``torch`` when PyTorch runs both,
        ``mixed`` otherwise (only one model carries up-to-date graphs)."""
        runtimes = {self.vocoder.runtime, getattr(self.bundle, "runtime", "torch")}
        if self.postfilter is not None:
            runtimes.add(self.postfilter.runtime)
        return runtimes.pop() if len(runtimes) == 1 else "mixed"

    @property
    def postfilter(self):
        """The bundle's loaded post-filter (:class:`voicegen.infer.postfilter.PostFilter`), or None."""
        return getattr(self.bundle, "postfilter", None)

    @property
    def speakers(self) -> tuple[str, str]:
        return self.bundle.speakers

    def postprocessing(self, target: str) -> list[str]:
        """What runs on the converter's output mel for ``target`` before the vocoder, one line each:
        ``["frame bank: 4351 frames of TM1, each frame 0.7 x the mean of its 8 nearest",
        "post-filter: vae16k (decodes as TM1)"]``; empty when the bundle has neither (or they were left out)."""
        steps = []
        bank = getattr(self.bundle, "frame_bank", None)
        if bank is not None and target in bank.targets:
            steps.append(f"frame bank: {bank.size(target)} frames of {target}, each frame {bank.mix:g} x the mean of "
                         f"its {bank.k} nearest")
        postfilter = self.postfilter
        if postfilter is not None and postfilter.for_target(target) is not None:
            steps.append(f"post-filter: {postfilter.name} (decodes as {postfilter.speakers[target]})")
        return steps

    @property
    def sample_rate(self) -> int:
        return self.feature_config.sample_rate

    def pitch_plan(self, source: str, target: str, pitch: str | float = PITCH_AUTO) -> tuple[float, str]:
        """``(semitones, description)`` of what ``pitch`` does for ``source -> target``.

        With a pitch-conditioned vocoder ``semitones`` is the shift of the mean log-F0 (the transform
        plus any extra), e.g. ``(-10.4, "F0 transformed SF1 -> TM1 (log-Gaussian: mean -10.4
        semitones, spread x0.93)")``; with a mel-only vocoder it is the waveform pre-shift.
        """
        self.bundle.generator(source, target)  # validates the names
        pitch = parse_pitch(pitch)
        if self.vocoder.needs_f0:
            return self._f0_plan(source, target, pitch)[1:]
        if pitch == PITCH_NONE:
            return 0.0, "not shifted (--pitch none)"
        if pitch != PITCH_AUTO:
            if pitch == 0.0:
                return 0.0, "not shifted (--pitch 0)"
            return float(pitch), f"shifted {pitch:+.1f} semitones (--pitch {pitch:g})"
        means = {name: self.bundle.stats[name].log_f0_mean for name in (source, target)}
        missing = [name for name, mean in means.items() if mean is None]
        if missing:
            return 0.0, f"not shifted (no log-F0 statistics for {', '.join(missing)} in the model)"
        semitones = SEMITONES_PER_OCTAVE * (means[target] - means[source]) / math.log(2)
        if abs(semitones) < MIN_PITCH_SHIFT_SEMITONES:
            return 0.0, f"not shifted ({source} and {target} log-F0 means are {semitones:+.2f} semitones apart)"
        return semitones, f"shifted {semitones:+.1f} semitones ({source} -> {target} log-F0 means)"

    def _f0_plan(self, source: str, target: str, pitch: str | float) -> tuple[tuple[float, float], float, str]:
        """``((scale, offset), mean shift in semitones, description)`` of the explicit F0 path:
        ``lf0' = scale * lf0 + offset`` (natural log)."""
        extra = 0.0 if pitch in (PITCH_AUTO, PITCH_NONE) else float(pitch)
        per_semitone = math.log(2) / SEMITONES_PER_OCTAVE
        if pitch == PITCH_NONE:
            return (1.0, 0.0), 0.0, "source F0 kept (--pitch none)"
        src, trg = self.bundle.stats[source], self.bundle.stats[target]
        if None in (src.log_f0_mean, src.log_f0_std, trg.log_f0_mean, trg.log_f0_std) or not src.log_f0_std:
            how = f"moved {extra:+.1f} semitones" if extra else "kept"
            return (1.0, extra * per_semitone), extra, f"source F0 {how} (no log-F0 statistics in the model)"
        scale, offset = log_gaussian(src.log_f0_mean, src.log_f0_std, trg.log_f0_mean, trg.log_f0_std, extra)
        shift = (trg.log_f0_mean - src.log_f0_mean) / per_semitone + extra
        more = f" {extra:+g} semitones" if extra else ""
        return (scale, offset), shift, (f"F0 transformed {source} -> {target} (log-Gaussian: mean {shift:+.1f} "
                                        f"semitones, spread x{scale:.2f}){more}")

    def f0_transform(self, source: str, target: str, pitch: str | float = PITCH_AUTO) -> tuple[float, float]:
        """``(scale, offset)`` of the explicit F0 path: ``lf0' = scale * lf0 + offset`` (natural log of Hz)."""
        self.bundle.generator(source, target)  # validates the names
        return self._f0_plan(source, target, parse_pitch(pitch))[0]

    def _f0_map(self, source: str, target: str, pitch: str | float) -> Map:
        scale, offset = self.f0_transform(source, target, pitch)

        return Map(lambda f0_rows: affine_lf0(f0_rows, scale, offset), F0_ROWS)

    def stages(self, source: str, target: str, *, record: bool = False, pitch: str | float = PITCH_AUTO,
               mel_hat: Stage | None = None, f0: Stage | None = None,
               voice: Stage | None = None, f0_beside: bool = False,
               formant: float | None = None) -> tuple[Chain, Record | None, Record | None]:
        """The streaming conversion (:mod:`voicegen.infer.stream`): samples -> log-mel (and F0 rows) ->
        converted log-mel (and converted F0) -> samples; with ``record``, also the two mel stages,
        which then keep what went through them (for plots: memory then grows with the input).
        ``mel_hat``, ``f0`` and ``voice`` replace the offline converter, F0 tracker and vocoder stages
        (live conversion, :mod:`voicegen.infer.live`). ``f0_beside``: F0 tracking and its mapping run
        beside mel -> converter as one branch (samples -> F0 -> converted F0) instead of F0 beside the
        mel and then its mapping beside the converter, so that a delay of the F0 tracker overlaps the
        converter's instead of adding to it (the same frames come out). ``formant``: semitones the
        converted mel's envelope moves before the vocoder (:mod:`voicegen.infer.formant`; None: the bundle's
        setting for ``target``, :meth:`formant_for`)."""
        mel: Stage = MelStream(self.feature_config)
        if mel_hat is None:
            mel_hat = self.bundle.mel_stream(source, target)
        formant = self.formant_for(target, formant)
        check_formant_knob(self.vocoder, formant)
        if voice is None:
            voice = self.vocoder.stream()
        recorded: tuple[Record | None, Record | None] = (None, None)
        if record:
            mel, mel_hat = Record(mel), Record(mel_hat)
            recorded = (mel, mel_hat)
        if not self.vocoder.needs_f0:
            return Chain([mel, mel_hat, voice]), *recorded
        n_mels = self.feature_config.n_mels
        f0 = self.vocoder.f0_stream() if f0 is None else f0
        # the formant shift splits each converted frame by its converted F0, so it runs on mel + F0 rows
        # (recorded for plots in place of the converter's mel: what the vocoder is given)
        shifted: list[Stage] = []
        if formant:
            shifted = [formant_stage(self.feature_config, formant)]
            if record:
                shifted = [Record(shifted[0])]
                recorded = (recorded[0], shifted[0])
        if f0_beside:
            both = Fork([(None, Chain([mel, mel_hat])), (None, Chain([f0, self._f0_map(source, target, pitch)]))])
            return Chain([both, *shifted, voice]), *recorded
        analysis = Fork([(None, mel), (None, f0)])
        mapping = Fork([(rows(0, n_mels), mel_hat), (rows(n_mels, n_mels + F0_ROWS), self._f0_map(source, target, pitch))])
        return Chain([analysis, mapping, *shifted, voice]), *recorded

    def convert_wav(self, wav: np.ndarray, source: str, target: str, *, pitch: str | float = PITCH_AUTO,
                    formant: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(T,)`` waveform at the bundle's rate -> ``(wav_hat (T,), mel, mel_hat)``.

        ``mel`` is the input's log-mel (before any pitch pre-shift), ``mel_hat`` the converted one;
        ``wav_hat`` is the vocoded ``mel_hat`` trimmed/zero-padded to ``T`` (not clip-guarded).
        """
        semitones, _ = self.pitch_plan(source, target, pitch)
        pre_shift = 0.0 if self.vocoder.needs_f0 else semitones
        shifted = shift_pitch(wav, self.sample_rate, pre_shift) if pre_shift else wav
        chain, mel_in, mel_hat = self.stages(source, target, record=True, pitch=pitch, formant=formant)
        assert mel_in is not None and mel_hat is not None
        wav_hat = run_whole(chain, shifted)
        mel = compute_mel(wav, self.feature_config) if pre_shift else mel_in.array()
        converted = mel_hat.array()[:self.feature_config.n_mels]  # a formant shift records mel + F0 rows
        if len(wav_hat) >= len(wav):
            wav_hat = wav_hat[:len(wav)]
        else:
            wav_hat = np.pad(wav_hat, (0, len(wav) - len(wav_hat)))
        return wav_hat.astype(np.float32), mel, converted

    def convert_file(self, src: str | os.PathLike, out: str | os.PathLike, source: str, target: str, *,
                     pitch: str | float = PITCH_AUTO, overwrite: bool = False,
                     plot: str | os.PathLike | None = None, formant: float | None = None) -> ConvertResult:
        """Convert one audio file ``src`` (``source``'s voice) into ``out`` in ``target``'s voice.

        ``plot`` also saves a PNG with the source and converted spectrograms side by side.
        Existing outputs are refused before any work unless ``overwrite`` (AudioError). ``formant`` moves the
        converted mel's envelope by that many semitones (a pitch-conditioned vocoder only; ConfigError otherwise;
        None: the bundle's setting for ``target``).
        The file goes through the models block by block (:meth:`stages`), so memory does not grow
        with its length; a pitch pre-shift needs the whole waveform, and a plot the whole mels.
        """
        start = time.perf_counter()
        src, out = Path(src), Path(out)
        plot = Path(plot) if plot is not None else None
        semitones, _ = self.pitch_plan(source, target, pitch)
        pre_shift = 0.0 if self.vocoder.needs_f0 else semitones
        formant = self.formant_for(target, formant)
        check_formant_knob(self.vocoder, formant)
        for path in (out, plot):
            if path is not None and path.exists() and not overwrite:
                raise AudioError(f"{path}: already exists; pass --overwrite (overwrite=True) to replace it")
        if plot is not None:  # matplotlib, only for plots: imported before any output is written
            from voicegen.audio.plot import plot_mels_side_by_side
        fc = self.feature_config
        reader = AudioReader(src, fc.sample_rate, min_samples=fc.min_samples)
        blocks: Iterable[np.ndarray] = reader
        wav = None
        if pre_shift:
            wav = np.concatenate(list(reader))
            blocks = [shift_pitch(wav, fc.sample_rate, pre_shift)]
        chain, mel_in, mel_hat = self.stages(source, target, record=plot is not None, pitch=pitch, formant=formant)
        stream_to_file(blocks, chain, out, fc.sample_rate, overwrite=overwrite, guard=str(src),
                       length=lambda: reader.samples)
        if plot is not None:
            assert mel_in is not None and mel_hat is not None
            mel = compute_mel(wav, fc) if wav is not None else mel_in.array()
            plot_mels_side_by_side([mel, mel_hat.array()[:fc.n_mels]], [f"{src.name} ({source})", f"converted to {target}"],
                                   fc, plot, overwrite=overwrite)
        seconds = reader.samples / fc.sample_rate
        return ConvertResult(out=out, seconds=seconds, rtf=(time.perf_counter() - start) / seconds,
                             pitch_shift=semitones, plot=plot, sample_rate=fc.sample_rate)
