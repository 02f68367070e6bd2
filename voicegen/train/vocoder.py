"""Train a mel (+ F0) -> waveform vocoder GAN and export it as a ``vocoder`` artifact.

    config = load_config(VocoderTrainConfig, "recipes/vocoder16k/conf/cpu.yaml")
    export_dir = train_vocoder(config, "runs/vocoder16k", resume="auto")

The run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl``, ``checkpoints/``,
``samples/`` and ``export/`` (the artifact ``voicegen vocode --model`` loads; its format is
:mod:`voicegen.formats.vocoder`). A ``source_filter`` generator also gets F0 rows: they are tracked
once per training clip at load (``f0`` settings, stored in the artifact) and cropped with the audio.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.utils.data import Dataset

from voicegen.audio.datasets import (
    AudioSegmentDataset,
    check_speed_factors,
    input_mel_files,
    load_input_mels,
    split_files,
)
from voicegen.audio.f0 import F0Config, f0_rows
from voicegen.audio.features import FeatureConfig, get_preset
from voicegen.audio.io import is_audio_file, load_audio
from voicegen.audio.stats import list_audio_files
from voicegen.errors import AudioError, ConfigError
from voicegen.eval.naturalness import check_framings
from voicegen.formats.vocoder import (
    F0_KINDS,
    GENERATOR_MODULE,
    load_vocoder_artifact,
    save_vocoder,
)
from voicegen.losses.adversarial import ADVERSARIAL_KINDS
from voicegen.losses.spectral import DEFAULT_RESOLUTIONS, check_resolutions
from voicegen.models.vocoder import (
    build_discriminator,
    build_generator,
    generator_config,
)
from voicegen.train.config import TrainerConfig, check_clip_validation
from voicegen.train.run import (
    EXPORT_DIR,
    calibrate_max_steps,
    minutes_budget,
    parameter_count,
    run_trainer,
    start_run,
)
from voicegen.train.vocoder_task import (
    DEFAULT_MEL_RESOLUTIONS,
    GEN_PHASE,
    HARMONIC_PHASE_LOSS,
    MEL_MULTI_LOSS,
    STFT_LOSS,
    VocoderTask,
    mel_resolution_contracts,
)

# Weights ``trainer.loss_weights`` starts from (HiFi-GAN's 45 x mel, 2 x feature matching).
DEFAULT_LOSS_WEIGHTS: dict[str, float] = {"mel": 45.0, "fm": 2.0, "adv_g": 1.0, "adv_d": 1.0}
# A source-filter generator may grow the added-phase layer when fine-tuned from one without it.
PHASE_TERMS = "phase_terms"
PHASE_LAYER = "phase_proj."
# Generator fields taken from the mel contract when the config leaves them out.
ISTFT_CONTRACT_FIELDS = {"n_fft": "n_fft", "hop_length": "hop_length", "win_length": "win_length",
                         "window": "window"}
CONTRACT_FIELDS: dict[str, dict[str, str]] = {
    "hifigan": {},
    "istft": ISTFT_CONTRACT_FIELDS,
    "source_filter": {**ISTFT_CONTRACT_FIELDS, "sample_rate": "sample_rate"},
}


@dataclass
class VocoderDataConfig:
    """Where the training audio is and how it is cut.

    train: folders (searched recursively) and/or audio files; paths relative to the working folder.
    val_count: files held out for validation (chosen by a hash of the file name, stable when
        files are added); 0 = no validation (then ``trainer.val_every`` must be 0).
    segment_samples: length of the random training crops, a multiple of the hop length (8192 =
        0.51 s at 16 kHz = 32 frames of hop 256).
    repeats: times each training clip is visited per epoch.
    val_seconds: validation clips are cut to their first ``val_seconds`` seconds.
    speed_factors: the training clips are also used played this many times faster (resampled:
        pitch and formants scale together, like a smaller or larger speaker), e.g. [1.0, 1.15, 1.3]
        adds two higher voices per speaker; validation clips are never changed. [1.0] = as recorded.
    mel_smoothing: share of training examples whose input mel is blurred in time (a random blend
        with a 5-frame binomial average) while the target stays the recording, so the generator
        also renders the smoother mels a converter or a VAE outputs; 0 = never.
    input_mels: audio folder -> list of folders of model-made input mels (``.npy`` log-mels, one per
        recording under the audio folder, same relative path): e.g. what converters output for their
        own training recordings (``recipes/utils/converter_mels.py``), so that the
        generator learns to render those converters' outputs as the real recording (fine-tuning on
        model outputs); needs a pitch-conditioned generator. {} = none.
    input_mel_share: share of the crops of those recordings whose input is a model-made mel (one
        of theirs at random; the other crops use the recording's own mel).
    val_dnsmos_framings: each validation DNSMOS is the mean over this many framings of the clip
        (``voicegen eval --dnsmos-framings``; 4 steadies it from a few hundredths to ~0.01).
    """

    train: list[str] = field(default_factory=list)
    val_count: int = 4
    segment_samples: int = 8192
    repeats: int = 1
    val_seconds: float = 4.0
    speed_factors: list[float] = field(default_factory=lambda: [1.0])
    mel_smoothing: float = 0.0
    input_mels: dict[str, list[str]] = field(default_factory=dict)
    input_mel_share: float = 0.5
    val_dnsmos_framings: int = 4

    def __post_init__(self) -> None:
        check_framings(self.val_dnsmos_framings, "data.val_dnsmos_framings")
        self.speed_factors = check_speed_factors(self.speed_factors)
        for name in ("input_mel_share", "mel_smoothing"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"data.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.val_count < 0:
            raise ConfigError(f"data.val_count must be >= 0, got {self.val_count}")
        for name in ("segment_samples", "repeats"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        if not self.val_seconds > 0:
            raise ConfigError(f"data.val_seconds must be > 0, got {self.val_seconds}")


@dataclass(kw_only=True)
class VocoderTrainConfig:
    """A vocoder training run (YAML schema; see ``recipes/vocoder16k/conf/*.yaml``).

    features: mel contract preset (``vc16k``, ``hifigan22k``); the generator's input.
    generator_kind: ``hifigan`` (transposed-conv upsampling), ``istft`` (frame-rate ConvNeXt +
        inverse STFT, fast on a CPU) or ``source_filter`` (the same stack shaping a harmonic source
        at the given F0: pitch-true; needs F0 rows).
    generator: arguments of that generator (``voicegen.models.vocoder``; ``preset: v1|v2|v3|v1_istft``
        for hifigan). ``n_mels`` (and for istft/source_filter ``n_fft``, ``hop_length``,
        ``win_length``, ``window``, for source_filter ``sample_rate``) are filled from the mel
        contract when absent and must agree with it when given.
    f0: :class:`~voicegen.audio.f0.F0Config` fields (``method``, ``f0_min``, ``f0_max``,
        ``fill_frames``, ``default_hz``, ``voicing_threshold``, ``dio_speed``, ``dio_subframes``) for a
        ``source_filter`` generator; must stay empty otherwise.
    discriminator: ``voicegen.models.vocoder.DiscriminatorConfig`` fields (``preset: paper|cpu``).
    adversarial_loss: ``lsgan``, ``hinge`` or ``bce``.
    adversarial_start: steps of spectral-loss-only warm-up before the discriminator trains.
    data: see :class:`VocoderDataConfig`.
    trainer: the generic Trainer's config; optimizers are ``disc`` and ``gen``; ``loss_weights``
        starts from ``{"mel": 45, "fm": 2, "adv_g": 1, "adv_d": 1}`` (entries given replace those),
        and ``stft: <weight > 0>`` adds a multi-resolution STFT loss. ``val_batch_size`` must be 1.
    stft_resolutions: that loss's ``[n_fft, hop_length, win_length]`` triples (default Parallel
        WaveGAN's 512/1024/2048-sample windows; shorter ones weigh fast envelope change more).
    mel_resolutions: ``[n_fft, hop_length, win_length, n_mels]`` of the multi-resolution mel loss that
        ``loss_weights`` ``mel_multi: <weight > 0>`` adds (default 2-128 ms windows with 5-320 bands).
        ``harmonic_phase: <weight > 0>`` adds a loss on the harmonics' relative phases below 2 kHz
        (:func:`voicegen.losses.phase.harmonic_phase_loss`; ``source_filter`` only).
    """

    features: str = "vc16k"
    generator_kind: Literal["hifigan", "istft", "source_filter"]
    generator: dict[str, Any] = field(default_factory=dict)
    f0: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)
    adversarial_loss: Literal["lsgan", "hinge", "bce"] = "lsgan"
    adversarial_start: int = 0
    stft_resolutions: list[list[int]] = field(default_factory=lambda: [list(r) for r in DEFAULT_RESOLUTIONS])
    mel_resolutions: list[list[int]] = field(default_factory=lambda: [list(r) for r in DEFAULT_MEL_RESOLUTIONS])
    data: VocoderDataConfig = field(default_factory=VocoderDataConfig)
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        contract = get_preset(self.features)
        if self.adversarial_loss not in ADVERSARIAL_KINDS:
            raise ConfigError(f"adversarial_loss must be one of {', '.join(ADVERSARIAL_KINDS)}, "
                              f"got {self.adversarial_loss!r}")
        if self.adversarial_start < 0:
            raise ConfigError(f"adversarial_start must be >= 0, got {self.adversarial_start}")
        self.stft_resolutions = check_stft_resolutions(self.stft_resolutions, self.data.segment_samples)
        self.mel_resolutions = check_mel_resolutions(self.mel_resolutions, contract, self.data.segment_samples)
        self.generator = fill_generator_contract(self.generator_kind, self.generator, contract)
        generator_config(self.generator_kind, self.generator, source="generator")  # unknown keys, types
        if self.f0 and self.generator_kind not in F0_KINDS:
            raise ConfigError(f"f0 settings are for a {' or '.join(F0_KINDS)} generator, not {self.generator_kind!r}; "
                              "remove the f0 section")
        F0Config.from_dict(self.f0)  # unknown keys, ranges
        if self.data.input_mels and self.generator_kind not in F0_KINDS:
            raise ConfigError(f"data.input_mels needs a {' or '.join(F0_KINDS)} generator (it crops the mels "
                              f"with the F0 rows), not {self.generator_kind!r}")
        self.trainer.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **self.trainer.loss_weights}
        if self.harmonic_phase_loss and self.generator_kind not in F0_KINDS:
            raise ConfigError(f"trainer.loss_weights.{HARMONIC_PHASE_LOSS} needs a {' or '.join(F0_KINDS)} generator "
                              f"(it reads the F0 rows), not {self.generator_kind!r}; set its weight to 0")
        check_clip_validation(self.trainer, self.data.val_count, "vocoder")
        if self.data.segment_samples % contract.hop_length or self.data.segment_samples < contract.n_fft:
            raise ConfigError(f"data.segment_samples must be a multiple of the hop length {contract.hop_length} "
                              f"and >= n_fft {contract.n_fft}, got {self.data.segment_samples}")

    @property
    def feature_config(self) -> FeatureConfig:
        """The mel contract named by ``features``."""
        return get_preset(self.features)

    @property
    def f0_config(self) -> F0Config | None:
        """The F0 settings of a pitch-conditioned generator (None for mel-only generators)."""
        return F0Config.from_dict(self.f0) if self.generator_kind in F0_KINDS else None

    def _weighted(self, name: str) -> bool:
        weights = self.trainer.loss_weights
        return weights.get(f"{GEN_PHASE}/{name}", weights.get(name, 0.0)) > 0

    @property
    def stft_loss(self) -> bool:
        """Whether a positive ``stft`` weight asks for the multi-resolution STFT loss."""
        return self._weighted(STFT_LOSS)

    @property
    def mel_multi_loss(self) -> bool:
        """Whether a positive ``mel_multi`` weight asks for the multi-resolution mel loss."""
        return self._weighted(MEL_MULTI_LOSS)

    @property
    def harmonic_phase_loss(self) -> bool:
        """Whether a positive ``harmonic_phase`` weight asks for the relative-harmonic-phase loss."""
        return self._weighted(HARMONIC_PHASE_LOSS)


def check_stft_resolutions(resolutions: list[list[int]], segment_samples: int) -> list[list[int]]:
    """``stft_resolutions`` checked as the loss checks them (:func:`voicegen.losses.spectral.check_resolutions`;
    the config loader has checked the types) and against the training crops; ConfigError (one line) when unusable."""
    try:
        checked = check_resolutions(resolutions)
    except ValueError as error:
        raise ConfigError(f"stft_resolutions: {error}") from None
    check_fits_crop("stft_resolutions", [n_fft for n_fft, _, _ in checked], segment_samples)
    return [list(res) for res in checked]


def check_mel_resolutions(resolutions: list[list[int]], contract: FeatureConfig,
                          segment_samples: int) -> list[list[int]]:
    """``mel_resolutions`` checked as the loss builds them (:func:`voicegen.train.vocoder_task.mel_resolution_contracts`)
    and against the training crops; ConfigError (one line) when unusable."""
    try:
        variants = mel_resolution_contracts(contract, resolutions)
    except ValueError as error:
        raise ConfigError(f"mel_resolutions: {error}") from None
    check_fits_crop("mel_resolutions", [variant.n_fft for variant in variants], segment_samples)
    return [[variant.n_fft, variant.hop_length, variant.win_length, variant.n_mels] for variant in variants]


def check_fits_crop(name: str, n_ffts: list[int], segment_samples: int) -> None:
    """ConfigError (one line) naming the first of a loss's resolutions (``name``) whose FFT is longer than a crop."""
    for i, n_fft in enumerate(n_ffts):
        if n_fft > segment_samples:
            raise ConfigError(f"{name}: resolution {i} has n_fft {n_fft} > data.segment_samples {segment_samples}; "
                              "use a shorter window or longer segments")


def fill_generator_contract(kind: str, generator: dict[str, Any], contract: FeatureConfig) -> dict[str, Any]:
    """A copy of ``generator`` with the mel contract's fields filled in; ConfigError on a disagreement."""
    wanted = {"n_mels": contract.n_mels}
    wanted.update({key: getattr(contract, attr) for key, attr in CONTRACT_FIELDS.get(kind, {}).items()})
    filled = dict(generator)
    for key, value in wanted.items():
        if key not in filled:
            filled[key] = value
        elif filled[key] != value:
            raise ConfigError(f"generator.{key} is {filled[key]!r} but the mel contract (features) has "
                              f"{key} {value!r}; remove generator.{key} or change features")
    return filled


class ValidationClips(Dataset):
    """Whole held-out clips, cut to their first ``max_samples`` (a multiple of ``hop_length``).

    ``dataset[i] -> {"wav": (T,) float32, "index": i}`` (and ``"f0": (2, T // hop)`` with ``f0``
    settings); use batch size 1 (lengths differ).
    """

    def __init__(self, files: list[Path], sample_rate: int, max_samples: int, hop_length: int,
                 min_samples: int, f0: F0Config | None = None) -> None:
        self.files = list(files)
        self.clips = []
        self.rows = []
        for path in self.files:
            wav = load_audio(path, sample_rate, min_samples=min_samples)[:max_samples]
            whole_frames = len(wav) - len(wav) % hop_length  # the generator returns frames * hop samples
            clip = np.ascontiguousarray(wav[: max(whole_frames, min_samples)])
            self.clips.append(clip)
            self.rows.append(f0_rows(clip, sample_rate, hop_length, f0) if f0 is not None else None)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = {"wav": torch.from_numpy(self.clips[index]), "index": index}
        if self.rows[index] is not None:
            item["f0"] = torch.from_numpy(self.rows[index])
        return item


def audio_files(sources: list[str]) -> list[Path]:
    """The audio files named by ``data.train``: files as given, folders searched recursively."""
    if not sources:
        raise ConfigError("data.train is empty; list folders or audio files, e.g. --set data.train=[data/wavs]")
    files: list[Path] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            files.extend(list_audio_files(path))
        elif path.is_file() and is_audio_file(path):
            files.append(path)
        else:
            raise AudioError(f"{path}: data.train entry is neither a folder nor an audio file; check the path")
    return sorted(set(files))


def build_models(config: VocoderTrainConfig) -> tuple[nn.Module, nn.Module]:
    """Fresh generator and discriminator (seeded by ``trainer.seed``); ConfigError on a hop mismatch."""
    torch.manual_seed(config.trainer.seed)
    generator = build_generator(config.generator_kind, config.generator, source="generator")
    try:
        generator.validate_hop(config.feature_config.hop_length)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    discriminator = build_discriminator(config.discriminator, source="discriminator")
    return generator, discriminator


def export_vocoder(generator: nn.Module, config: VocoderTrainConfig, path: str | os.PathLike, *,
                   dtype: torch.dtype | None | str = "float16", overwrite: bool = False) -> Path:
    """Write the run's ``generator`` as a ``vocoder`` artifact (:func:`voicegen.formats.vocoder.save_vocoder`)."""
    return save_vocoder(generator, config.generator_kind, config.generator, config.feature_config, path,
                        f0=config.f0_config, dtype=dtype, overwrite=overwrite)


def init_generator_from(generator: nn.Module, config: VocoderTrainConfig, path: str | os.PathLike) -> None:
    """Load an exported vocoder's weights into the (weight-normed) training ``generator`` in place.

    The artifact's generator kind, generator config and mel contract must equal the run's;
    otherwise ConfigError names what differs. One exception: a source-filter run with ``phase_terms``
    may start from an artifact without them (``phase_terms`` 0); the added-phase layer starts at 0.
    """
    artifact, meta = load_vocoder_artifact(path)
    kind = meta.generator_kind
    if kind != config.generator_kind:
        raise ConfigError(f"{path}: is a {kind!r} vocoder but generator_kind is {config.generator_kind!r}; "
                          "fine-tune with the same generator")
    theirs = generator_config(kind, meta.generator, source=f"{path}: generator")
    mine = generator_config(kind, config.generator, source="generator")
    fields = [f.name for f in dataclasses.fields(mine) if getattr(mine, f.name) != getattr(theirs, f.name)]
    grown = fields == [PHASE_TERMS] and getattr(theirs, PHASE_TERMS) == 0  # a phase layer added: starts at 0
    if fields and not grown:
        raise ConfigError(f"{path}: generator differs from the config in {', '.join(fields)}; "
                          "copy the artifact's generator settings into the config")
    differ = meta.feature_config.diff(config.feature_config)
    if differ:
        raise ConfigError(f"{path}: mel contract differs from features {config.features!r} in "
                          f"{', '.join(differ)}; use the artifact's features")
    state = dict(artifact.weights.get(GENERATOR_MODULE, {}))
    with torch.no_grad():
        for name, module in generator.named_modules():
            if not parametrize.is_parametrized(module):
                continue
            for tensor_name in list(module.parametrizations.keys()):
                key = f"{name}.{tensor_name}" if name else tensor_name
                if key in state:  # assigning goes through right_inverse (weight norm: sets g and v)
                    setattr(module, tensor_name, state.pop(key).to(getattr(module, tensor_name).dtype))
    result = generator.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys
               if ".parametrizations." not in k and not (grown and k.startswith(PHASE_LAYER))]
    if missing or result.unexpected_keys:
        raise ConfigError(f"{path}: weights do not fit the generator (missing {missing[:3]}, "
                          f"unexpected {result.unexpected_keys[:3]}); re-export the vocoder")


def speeds_note(factors: list[float]) -> str:
    """`` with speeds 1, 1.15`` for the run summary, or nothing for the recordings as they are."""
    return "" if factors == [1.0] else " with speeds " + ", ".join(f"{f:g}" for f in factors)


def input_mels_note(mels: list[list[np.ndarray]] | None) -> str:
    """``, 40 with input mels`` (files that have any) for the run summary, or nothing."""
    return "" if mels is None else f", {sum(bool(group) for group in mels)} with input mels"


def budget_steps(task: VocoderTask, dataset: Dataset, trainer_config: TrainerConfig, minutes: float) -> int:
    """Steps that fit ``minutes``: generator-only steps until ``task.adversarial_start``, adversarial ones
    (discriminator too, several times dearer) after it, each rate measured on this machine
    (:func:`voicegen.train.run.calibrate_max_steps`): ``A + n_adv * (1 - A / n_gen)`` where ``n_gen`` and
    ``n_adv`` are the steps the budget holds at either rate alone."""
    start = task.adversarial_start
    if start == 0:
        return calibrate_max_steps(task, dataset, trainer_config, minutes)
    spectral = calibrate_max_steps(task, dataset, trainer_config, minutes)
    if spectral <= start:
        return spectral
    adversarial = copy.deepcopy(task)
    adversarial.adversarial_start = 0
    n_adv = calibrate_max_steps(adversarial, dataset, trainer_config, minutes)
    return max(1, int(start + n_adv * (1 - start / spectral)))


def train_vocoder(
    config: VocoderTrainConfig,
    run_dir: str | os.PathLike,
    *,
    resume: bool | Literal["auto"] = "auto",
    init_from: str | os.PathLike | None = None,
    minutes: float | None = None,
) -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path.

    ``resume``: ``"auto"`` continues from the latest checkpoint if any, ``True`` requires one,
    ``False`` refuses a run_dir with checkpoints. ``init_from``: an exported vocoder whose
    generator weights start a fresh run (fine-tuning; ignored when resuming from a checkpoint,
    whose weights win). ``minutes``: a fresh run's ``trainer.max_steps`` becomes what fits that
    many minutes of this machine (:func:`budget_steps`); a resumed run keeps the budget its first start
    measured (:func:`voicegen.train.run.minutes_budget`). Returns None on data-parallel ranks other than 0.
    """
    run_dir = start_run(run_dir, resume)
    contract = config.feature_config
    generator, discriminator = build_models(config)
    if init_from is not None:
        init_generator_from(generator, config, init_from)
    task = VocoderTask(generator, discriminator, contract, adversarial_loss=config.adversarial_loss,
                       adversarial_start=config.adversarial_start, stft_loss=config.stft_loss,
                       stft_resolutions=config.stft_resolutions,
                       mel_multi_loss=config.mel_multi_loss, mel_resolutions=config.mel_resolutions,
                       harmonic_phase_loss=config.harmonic_phase_loss,
                       dnsmos_framings=config.data.val_dnsmos_framings,
                       mel_smoothing=config.data.mel_smoothing)
    files = audio_files(config.data.train)
    if config.data.val_count:
        train_files, val_files = split_files(files, config.data.val_count)
    else:
        train_files, val_files = files, []
    progress = config.trainer.progress
    f0 = config.f0_config
    input_mels = None
    if config.data.input_mels:
        input_mels = load_input_mels(input_mel_files(train_files, config.data.input_mels), contract.n_mels)
    dataset = AudioSegmentDataset(train_files, contract.sample_rate, config.data.segment_samples,
                                  repeats=config.data.repeats, min_samples=contract.min_samples,
                                  progress=progress, f0=f0, hop_length=contract.hop_length,
                                  speed_factors=config.data.speed_factors, input_mels=input_mels,
                                  input_mel_share=config.data.input_mel_share)
    val_dataset = None
    if val_files:
        max_samples = int(config.data.val_seconds * contract.sample_rate)
        val_dataset = ValidationClips(val_files, contract.sample_rate, max_samples, contract.hop_length,
                                      contract.min_samples, f0=f0)
    budget = ""
    sized = minutes_budget(run_dir, minutes, lambda: budget_steps(task, dataset, config.trainer, minutes),
                           rate="step rates")
    if sized is not None:
        config.trainer.max_steps, budget = sized
    trainer = run_trainer(task, dataset, config, run_dir, resume=resume, val_dataset=val_dataset,
                          command="voicegen train vocoder",
                          summary=f"vocoder: {len(train_files)} training files ({dataset.total_seconds:.1f} s"
                                  f"{speeds_note(config.data.speed_factors)}{input_mels_note(input_mels)}), "
                                  f"{len(val_files)} validation files, generator {config.generator_kind} "
                                  f"({parameter_count(generator):.2f}M parameters){budget}")
    if not trainer.dist.is_main:
        return None
    return export_vocoder(generator, config, run_dir / EXPORT_DIR, overwrite=True)
