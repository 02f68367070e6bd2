"""Train a MaskCycleGAN-VC voice converter between two speakers and export it as a ``cyclegan`` bundle.

    config = load_config(CycleGANTrainConfig, "recipes/vcc2016/conf/cpu.yaml")
    export_dir = train_cyclegan(config, "runs/sf1_tm1", resume="auto")

The run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl``, ``checkpoints/``,
``samples/`` and ``export/``: the bundle ``voicegen.infer.cyclegan.load_cyclegan_bundle`` reads, with
both generators (``G_ab``, ``G_ba``; float16 by default), ``config = {"generator": ...}``, the mel
contract (``mel`` = ``FeatureConfig.to_dict()``), both speakers' stats and ``speakers = [a, b]``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from voicegen.audio.datasets import split_files
from voicegen.audio.f0 import F0Config
from voicegen.audio.features import FeatureConfig, get_preset
from voicegen.audio.mel_datasets import (
    DEFAULT_MASK_MAX_FRAMES,
    DEFAULT_SEGMENT_FRAMES,
    MelClips,
    UnpairedMelDataset,
)
from voicegen.audio.stats import SpeakerStats, list_audio_files
from voicegen.errors import ConfigError
from voicegen.eval.naturalness import check_framings
from voicegen.formats.cyclegan import KIND as CYCLEGAN_KIND  # noqa: F401  (re-exported)
from voicegen.formats.cyclegan import load_cyclegan_parts, save_cyclegan
from voicegen.models.cyclegan import (
    MIN_FRAMES,
    build_discriminator,
    build_generator,
    discriminator_config,
    generator_config,
)
from voicegen.train.config import OptimizerConfig, TrainerConfig, check_clip_validation
from voicegen.train.cyclegan_task import (
    DISC_PHASE,
    GEN_PHASE,
    TWO_STEP_LOSSES,
    CycleGANTask,
)
from voicegen.train.run import (
    EXPORT_DIR,
    calibrate_max_steps,
    minutes_budget,
    parameter_count,
    run_trainer,
    start_run,
)

# MaskCycleGAN-VC's weights: cycle 10, identity 5 (first steps only), adversarial 1.
DEFAULT_LOSS_WEIGHTS: dict[str, float] = {"adv_g": 1.0, "adv2_g": 1.0, "cycle": 10.0, "identity": 5.0,
                                          "adv_d": 1.0, "adv2_d": 1.0}
# MaskCycleGAN-VC's Adam settings, with the learning rate decaying linearly to 0 by max_steps.
ADAM_BETAS = (0.5, 0.999)
DEFAULT_OPTIMIZERS: dict[str, OptimizerConfig] = {
    GEN_PHASE: OptimizerConfig(lr=2e-4, betas=ADAM_BETAS, scheduler="linear_decay"),
    DISC_PHASE: OptimizerConfig(lr=1e-4, betas=ADAM_BETAS, scheduler="linear_decay"),
}


@dataclass
class CycleGANDataConfig:
    """The two speakers' audio and how it is cut.

    dir_a, dir_b: folders (searched recursively) of speaker A's and B's recordings.
    val_count: A files held out to validate A -> B conversion (hash of the file name, stable when
        files are added); 0 = no validation (then ``trainer.val_every`` must be 0).
    segment_frames: frames of the random training crops (64 = ~1 s at 16 kHz, hop 256).
    mask_max_frames: each crop has a random run of 0..mask_max_frames frames masked (filling in
        frames, MaskCycleGAN-VC); 0 turns masking off; null (default) is MaskCycleGAN-VC's
        25 of 64 frames scaled to ``segment_frames`` (25 for 64).
    repeats: epoch length is ``max(files_a, files_b) * repeats`` crops.
    val_max_frames: validation clips are cut to their first frames (bounds the validation cost).
    val_source, val_target: optional parallel validation sentences: a folder of speaker A's and a
        folder of speaker B's recordings of the same sentences (paired by file name). Validation
        then converts val_source (instead of held-out A files) and, with a vocoder, scores each
        conversion against its val_target recording (MCD, log-F0 RMSE, gross pitch error, DNSMOS).
        Never the sentences you report final scores on.
    val_dnsmos_framings: each validation DNSMOS is the mean over this many framings of the clip
        (``voicegen eval --dnsmos-framings``): 4 keeps a step's score within ~0.01 of itself when
        only the framing changes (one framing, speechmos's own: a few hundredths).
    """

    dir_a: str = ""
    dir_b: str = ""
    val_count: int = 1
    segment_frames: int = DEFAULT_SEGMENT_FRAMES
    mask_max_frames: int | None = None
    repeats: int = 1
    val_max_frames: int = 1000
    val_source: str = ""
    val_target: str = ""
    val_dnsmos_framings: int = 4

    def __post_init__(self) -> None:
        check_framings(self.val_dnsmos_framings, "data.val_dnsmos_framings")
        if bool(self.val_source) != bool(self.val_target):
            raise ConfigError("data.val_source and data.val_target go together (parallel validation folders)")
        if self.val_count < 0:
            raise ConfigError(f"data.val_count must be >= 0, got {self.val_count}")
        if self.segment_frames < MIN_FRAMES:
            raise ConfigError(f"data.segment_frames must be >= {MIN_FRAMES}, got {self.segment_frames}")
        if self.mask_max_frames is None:
            self.mask_max_frames = round(self.segment_frames * DEFAULT_MASK_MAX_FRAMES / DEFAULT_SEGMENT_FRAMES)
        if not 0 <= self.mask_max_frames <= self.segment_frames:
            raise ConfigError(f"data.mask_max_frames must be in [0, segment_frames={self.segment_frames}], "
                              f"got {self.mask_max_frames}")
        for name in ("repeats", "val_max_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(kw_only=True)
class CycleGANTrainConfig:
    """A MaskCycleGAN-VC training run (YAML schema).

    features: mel contract preset (``vc16k``, ``hifigan22k``).
    speaker_a, speaker_b: speaker names stored in the bundle (default: the folder names of
        ``data.dir_a`` / ``data.dir_b``); they must differ.
    data: see :class:`CycleGANDataConfig`.
    generator: ``voicegen.models.cyclegan.CycleGANGeneratorConfig`` fields (``preset: paper|cpu``);
        ``n_mels`` is filled from the mel contract and must agree with it when given.
    discriminator: ``CycleGANDiscriminatorConfig`` fields (``preset: paper|cpu``).
    identity_steps: steps (from the start) trained with the identity loss (MaskCycleGAN-VC: 10^4).
    identity_fraction: instead, the fraction of ``trainer.max_steps`` trained with it (MaskCycleGAN-VC:
        10^4 of 2 * 10^5 = 0.05), so shorter runs keep the paper's shape.
    two_step: also train the two-step adversarial discriminators on cycle-converted mels.
    trainer: the generic Trainer's config; optimizers are ``gen`` and ``disc`` (missing ones get
        Adam lr 2e-4 / 1e-4, betas (0.5, 0.999), linear decay to 0; a given one replaces the default
        entirely); ``loss_weights`` starts from {adv_g 1, adv2_g 1, cycle 10, identity 5, adv_d 1,
        adv2_d 1} (entries given replace those). ``val_batch_size`` must be 1.
    """

    features: str = "vc16k"
    speaker_a: str | None = None
    speaker_b: str | None = None
    data: CycleGANDataConfig = field(default_factory=CycleGANDataConfig)
    generator: dict[str, Any] = field(default_factory=lambda: {"preset": "cpu"})
    discriminator: dict[str, Any] = field(default_factory=lambda: {"preset": "cpu"})
    identity_steps: int = 10000
    identity_fraction: float | None = None
    two_step: bool = True
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        contract = get_preset(self.features)
        n_mels = self.generator.get("n_mels", contract.n_mels)
        if n_mels != contract.n_mels:
            raise ConfigError(f"generator.n_mels is {n_mels!r} but the mel contract (features) has n_mels "
                              f"{contract.n_mels}; remove generator.n_mels or change features")
        self.generator = {**self.generator, "n_mels": contract.n_mels}
        generator_config(self.generator)  # unknown keys, bad values
        disc = discriminator_config(self.discriminator)
        if disc.in_channels != 1:
            raise ConfigError(f"discriminator.in_channels must be 1 for mels, got {disc.in_channels}")
        if self.identity_steps < 0:
            raise ConfigError(f"identity_steps must be >= 0, got {self.identity_steps}")
        if self.identity_fraction is not None and not 0.0 <= self.identity_fraction <= 1.0:
            raise ConfigError(f"identity_fraction must be in [0, 1], got {self.identity_fraction}")
        self.follow_max_steps()
        defaults = dict(DEFAULT_LOSS_WEIGHTS)
        if not self.two_step:
            defaults = {k: v for k, v in defaults.items() if k not in TWO_STEP_LOSSES}
        self.trainer.loss_weights = {**defaults, **self.trainer.loss_weights}
        optimizers = {name: dataclasses.replace(opt) for name, opt in DEFAULT_OPTIMIZERS.items()}
        self.trainer.optimizers = {**optimizers, **self.trainer.optimizers}
        check_clip_validation(self.trainer, self.data.val_count + int(bool(self.data.val_source)), "converter")
        if self.speaker_a is not None and self.speaker_a == self.speaker_b:
            raise ConfigError(f"speaker_a and speaker_b are both {self.speaker_a!r}; name the speakers differently")

    def follow_max_steps(self) -> None:
        """``identity_steps`` from ``identity_fraction`` of the current ``trainer.max_steps`` (if given);
        called again when ``--minutes`` changes ``max_steps``."""
        if self.identity_fraction is not None:
            self.identity_steps = round(self.identity_fraction * self.trainer.max_steps)

    @property
    def feature_config(self) -> FeatureConfig:
        """The mel contract named by ``features``."""
        return get_preset(self.features)

    def speaker_names(self) -> tuple[str, str]:
        """(A, B): the configured names, else the data folders' names; ConfigError when they coincide."""
        name_a = self.speaker_a or Path(self.data.dir_a).expanduser().resolve().name
        name_b = self.speaker_b or Path(self.data.dir_b).expanduser().resolve().name
        if not name_a or not name_b or name_a == name_b:
            raise ConfigError(f"speaker names {name_a!r} and {name_b!r} must be non-empty and differ; "
                              "set speaker_a and speaker_b")
        return name_a, name_b


def build_models(config: CycleGANTrainConfig) -> dict[str, nn.Module]:
    """Fresh G_ab, G_ba, D_a, D_b (and D_a2, D_b2 with ``two_step``), seeded by ``trainer.seed``."""
    torch.manual_seed(config.trainer.seed)
    models = {name: build_generator(config.generator) for name in ("G_ab", "G_ba")}
    names = ("D_a", "D_b", "D_a2", "D_b2") if config.two_step else ("D_a", "D_b")
    models.update({name: build_discriminator(config.discriminator) for name in names})
    return models


def export_cyclegan(G_ab: nn.Module, G_ba: nn.Module, gen_config: dict[str, Any], feature_config: FeatureConfig,
                    stats: dict[str, SpeakerStats], path: str | os.PathLike, *,
                    dtype: torch.dtype | None | str = "float16", overwrite: bool = False) -> Path:
    """Write both generators as a ``cyclegan`` artifact (:func:`voicegen.formats.cyclegan.save_cyclegan`)."""
    return save_cyclegan(G_ab, G_ba, gen_config, feature_config, stats, path, dtype=dtype, overwrite=overwrite)


def speaker_files(config: CycleGANTrainConfig) -> tuple[list[Path], list[Path], list[Path]]:
    """(speaker A training files, A validation files, speaker B files) as training uses them."""
    for key in ("dir_a", "dir_b"):
        if not getattr(config.data, key):
            raise ConfigError(f"data.{key} is empty; set it to a folder of that speaker's audio")
    files_a = list_audio_files(config.data.dir_a)
    files_b = list_audio_files(config.data.dir_b)
    train_a, val_a = split_files(files_a, config.data.val_count) if config.data.val_count else (files_a, [])
    return train_a, val_a, files_b


def validation_pairs(config: CycleGANTrainConfig) -> tuple[list[Path], list[Path]]:
    """(A files, B files) of ``data.val_source`` / ``data.val_target`` paired by name; ConfigError when a
    source sentence has no target recording."""
    if not config.data.val_source:
        return [], []
    sources = list_audio_files(config.data.val_source)
    targets = {path.stem: path for path in list_audio_files(config.data.val_target)}
    missing = [path.name for path in sources if path.stem not in targets]
    if missing:
        raise ConfigError(f"{config.data.val_target}: no recording for validation sentence(s) {', '.join(missing[:3])} "
                          "(pairs are matched by file name)")
    return sources, [targets[path.stem] for path in sources]


def init_generators_from(models: dict[str, nn.Module], config: CycleGANTrainConfig, path: str | os.PathLike) -> None:
    """Start ``G_ab`` and ``G_ba`` from an exported converter (fine-tuning a new pair from a shipped one).

    The generator config and mel contract must equal the run's; ConfigError names what differs.
    The discriminators start fresh.
    """
    parts = load_cyclegan_parts(path)
    theirs, mine = parts.generator_config, generator_config(config.generator)
    if theirs != mine:
        fields = [f.name for f in dataclasses.fields(mine) if getattr(mine, f.name) != getattr(theirs, f.name)]
        raise ConfigError(f"{path}: its generators differ from the config in {', '.join(fields)}; "
                          "use the same generator preset")
    differ = parts.feature_config.diff(config.feature_config)
    if differ:
        raise ConfigError(f"{path}: mel contract differs from features {config.features!r} in {', '.join(differ)}")
    models["G_ab"].load_state_dict(parts.G_ab.state_dict())
    models["G_ba"].load_state_dict(parts.G_ba.state_dict())


def train_cyclegan(
    config: CycleGANTrainConfig,
    run_dir: str | os.PathLike,
    *,
    resume: bool | Literal["auto"] = "auto",
    vocoder_fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None,
    vocoder_f0: F0Config | None = None,
    init_from: str | os.PathLike | None = None,
    minutes: float | None = None,
) -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path.

    ``resume``: ``"auto"`` continues from the latest checkpoint if any, ``True`` requires one,
    ``False`` refuses a run_dir with checkpoints. ``vocoder_fn`` (de-normalised log-mel
    ``(n_mels, F)`` and F0 rows or None -> waveform) adds converted audio to the validation samples;
    ``vocoder_f0``: the F0 settings of a pitch-conditioned vocoder (the validation clips' F0 is then
    tracked and moved to speaker B by the log-Gaussian transform); with a vocoder, validation also
    scores the vocoded conversions (:class:`voicegen.eval.scoring.ConversionScorer`). ``init_from``:
    an exported converter whose generators start a fresh run (ignored when resuming). ``minutes``:
    size ``trainer.max_steps`` (and the schedules given as fractions of it) to that much of this
    machine's time, from a measured step rate (:func:`voicegen.train.run.calibrate_max_steps`); a
    resumed run keeps the budget its first start measured (:func:`voicegen.train.run.minutes_budget`).
    Returns None on data-parallel ranks other than 0.
    """
    run_dir = start_run(run_dir, resume)
    train_a, val_a, files_b = speaker_files(config)
    name_a, name_b = config.speaker_names()
    contract = config.feature_config
    progress = config.trainer.progress
    dataset = UnpairedMelDataset(train_a, files_b, contract, segment_frames=config.data.segment_frames,
                                 mask_max_frames=config.data.mask_max_frames, repeats=config.data.repeats,
                                 progress=progress)
    pair_sources, pair_targets = validation_pairs(config)
    val_files = pair_sources or val_a
    val_dataset = (MelClips(val_files, contract, dataset.stats_a, max_frames=config.data.val_max_frames,
                            f0=vocoder_f0 if vocoder_fn is not None else None,
                            references=pair_targets if pair_sources and vocoder_fn is not None else None)
                   if val_files else None)
    models = build_models(config)
    if init_from is not None:
        init_generators_from(models, config, init_from)
    scorer = None
    if vocoder_fn is not None and val_files:
        from voicegen.eval.scoring import ConversionScorer

        scorer = ConversionScorer(contract.sample_rate, dnsmos_framings=config.data.val_dnsmos_framings)
    task = CycleGANTask(*(models[n] for n in ("G_ab", "G_ba", "D_a", "D_b")), models.get("D_a2"), models.get("D_b2"),
                        identity_steps=config.identity_steps, feature_config=contract, stats_a=dataset.stats_a,
                        stats_b=dataset.stats_b, vocoder_fn=vocoder_fn, scorer=scorer)
    budget = ""
    sized = minutes_budget(run_dir, minutes, lambda: calibrate_max_steps(task, dataset, config.trainer, minutes))
    if sized is not None:
        config.trainer.max_steps, budget = sized
        config.follow_max_steps()
        task.identity_steps = config.identity_steps
    trainer = run_trainer(task, dataset, config, run_dir, resume=resume, val_dataset=val_dataset,
                          command="voicegen train cyclegan",
                          summary=f"cyclegan {name_a} <-> {name_b}: {len(train_a)} + {len(files_b)} training files, "
                                  f"{len(val_files)} validation files, generators "
                                  f"{parameter_count(models['G_ab']):.2f}M parameters each{budget}")
    if not trainer.dist.is_main:
        return None
    return export_cyclegan(models["G_ab"], models["G_ba"], config.generator, contract,
                           {name_a: dataset.stats_a, name_b: dataset.stats_b}, run_dir / EXPORT_DIR, overwrite=True)
