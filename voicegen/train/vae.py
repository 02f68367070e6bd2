"""Train a (speaker-conditioned) spectrogram VAE on several speakers and export it as a ``vae`` artifact.

    config = load_config(VAETrainConfig, "recipes/vae16k/conf/cpu.yaml")
    export_dir = train_vae(config, "runs/vae16k", resume="auto")

The run directory holds ``config.yaml``, ``metrics.jsonl``, ``checkpoints/``, ``samples/`` and
``export/``: weights of the ``vae`` module, ``config = {"model": VAEConfig}``, the mel contract,
``stats`` (each speaker's own statistics, by name), ``speakers`` (names in speaker-id order) and
``extra.normalization``: the statistics pooled over all speakers' training files, with which
every mel was normalised for training (and must be for inference).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from voicegen.audio.datasets import input_mel_files, load_input_mels, split_files
from voicegen.audio.features import FeatureConfig, get_preset
from voicegen.audio.mel_datasets import DEFAULT_SEGMENT_FRAMES
from voicegen.audio.stats import SpeakerStats, compute_stats, list_audio_files
from voicegen.audio.vae_datasets import (
    MultiSpeakerMelClips,
    MultiSpeakerMelDataset,
    pool_stats,
)
from voicegen.errors import ConfigError
from voicegen.formats.vae import KIND as VAE_KIND  # noqa: F401  (re-exported)
from voicegen.formats.vae import save_vae
from voicegen.models.vae import SpectrogramVAE, build_vae, vae_config
from voicegen.train.config import OptimizerConfig, TrainerConfig, check_clip_validation
from voicegen.train.run import EXPORT_DIR, calibrate_max_steps, minutes_budget, parameter_count, run_trainer, start_run
from voicegen.train.vae_task import PHASE, VAETask

DEFAULT_OPTIMIZERS: dict[str, OptimizerConfig] = {PHASE: OptimizerConfig(lr=1e-3, betas=(0.9, 0.999))}


@dataclass
class VAEDataConfig:
    """The speakers' audio and how it is cut.

    speakers: speaker name -> folder of that speaker's recordings (searched recursively); the
        order gives the speaker ids.
    val_count: files held out per speaker for validation (stable hash split); 0 = none.
    segment_frames: frames of the random training crops (64 = ~1 s at 16 kHz, hop 256).
    repeats: epoch length is ``training files * repeats`` crops.
    val_max_frames: validation clips are cut to their first frames.
    input_mels: audio folder -> list of folders of model-made input mels (``.npy`` log-mels, one per
        recording under the audio folder, same relative path, same frames), e.g. a converter's round
        trips of its training recordings (``recipes/utils/converter_mels.py``): the VAE then learns
        to encode those and decode the recording (a post-filter fine-tuned on its converter's
        errors; ``voicegen bundle --postfilter``). {} = none.
    input_mel_share: share of the crops of those recordings whose input is a model-made mel (one of
        theirs at random; the other crops reconstruct the recording itself).
    """

    speakers: dict[str, str] = field(default_factory=dict)
    val_count: int = 1
    segment_frames: int = DEFAULT_SEGMENT_FRAMES
    repeats: int = 1
    val_max_frames: int = 1000
    input_mels: dict[str, list[str]] = field(default_factory=dict)
    input_mel_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.input_mel_share <= 1.0:
            raise ConfigError(f"data.input_mel_share must be in [0, 1], got {self.input_mel_share}")
        if self.val_count < 0:
            raise ConfigError(f"data.val_count must be >= 0, got {self.val_count}")
        for name in ("segment_frames", "repeats", "val_max_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(kw_only=True)
class KLSettings:
    """The KL term of a VAE run; shared by the spectrogram and the image VAE run configs.

    beta: weight of the KL term (beta-VAE); used when ``capacity_max`` is 0.
    capacity_max: > 0 turns on capacity control (Burgess et al. 2018): the KL term becomes
        ``gamma * |KL - C(step)|``.
    capacity_steps: steps over which C ramps linearly from 0 to ``capacity_max``.
    capacity_fraction: instead, that ramp as a fraction of ``trainer.max_steps`` (so a run sized by
        ``--minutes`` keeps the schedule's shape).
    capacity_gamma: gamma, the weight of ``|KL - C|``.
    """

    beta: float = 1.0
    capacity_max: float = 0.0
    capacity_steps: int = 10000
    capacity_fraction: float | None = None
    capacity_gamma: float = 100.0

    def follow_max_steps(self) -> None:
        """``capacity_steps`` from ``capacity_fraction`` of the current ``trainer.max_steps`` (if given);
        called again when ``--minutes`` changes ``max_steps``."""
        if self.capacity_fraction is not None:
            self.capacity_steps = round(self.capacity_fraction * getattr(self, "trainer").max_steps)

    def set_vae_trainer(self) -> None:
        """Check the fields above (ConfigError naming the field) and fill ``self.trainer``: loss weights
        {rec 1, kl beta (or capacity_gamma), kl_nats 0} and the default ``vae`` optimizer."""
        for name in ("beta", "capacity_max", "capacity_gamma"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.capacity_steps < 0:
            raise ConfigError(f"capacity_steps must be >= 0, got {self.capacity_steps}")
        trainer = getattr(self, "trainer")
        if self.capacity_fraction is not None and not 0.0 <= self.capacity_fraction <= 1.0:
            raise ConfigError(f"capacity_fraction must be in [0, 1], got {self.capacity_fraction}")
        self.follow_max_steps()
        kl_weight = self.capacity_gamma if self.capacity_max else self.beta
        if trainer.loss_weights.get("kl", kl_weight) != kl_weight:
            raise ConfigError(f"trainer.loss_weights.kl is {trainer.loss_weights['kl']} but beta / "
                              f"capacity_gamma gives {kl_weight}; set beta (or capacity_gamma) instead")
        trainer.loss_weights = {"rec": 1.0, **trainer.loss_weights, "kl": kl_weight, "kl_nats": 0.0}
        defaults = {name: dataclasses.replace(opt) for name, opt in DEFAULT_OPTIMIZERS.items()}
        trainer.optimizers = {**defaults, **trainer.optimizers}


@dataclass(kw_only=True)
class VAETrainConfig(KLSettings):
    """A spectrogram-VAE training run (YAML schema).

    features: mel contract preset (``vc16k``, ``hifigan22k``).
    data: see :class:`VAEDataConfig`.
    model: ``voicegen.models.vae.VAEConfig`` fields (``preset: cpu|large``); ``n_mels`` and
        ``n_speakers`` are filled from the contract and ``data.speakers`` (and must agree when given;
        ``n_speakers: 0`` is allowed for an unconditional model).
    beta: weight of the KL term (beta-VAE); used when ``capacity_max`` is 0.
    capacity_max: > 0 turns on capacity control (Burgess et al. 2018): the KL term becomes
        ``gamma * |KL - C(step)|``; C in nats per latent frame (all latent channels together).
    capacity_steps: steps over which C ramps linearly from 0 to ``capacity_max``.
    capacity_fraction: instead, the ramp as a fraction of ``trainer.max_steps``.
    capacity_gamma: gamma, the weight of ``|KL - C|``.
    trainer: the generic Trainer's config; the optimizer is ``vae`` (default Adam lr 1e-3);
        ``loss_weights`` are set to {rec 1, kl beta (or gamma), kl_nats 0}; set beta/capacity_gamma
        rather than ``loss_weights.kl``. ``val_batch_size`` must be 1.
    """

    features: str = "vc16k"
    data: VAEDataConfig = field(default_factory=VAEDataConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"preset": "cpu"})
    trainer: TrainerConfig

    def __post_init__(self) -> None:
        contract = get_preset(self.features)
        for key, expected in (("n_mels", contract.n_mels),):
            if self.model.get(key, expected) != expected:
                raise ConfigError(f"model.{key} is {self.model[key]!r} but the mel contract (features) has "
                                  f"{expected}; remove model.{key} or change features")
        n_speakers = len(self.data.speakers)
        given = self.model.get("n_speakers", n_speakers)
        if given not in (0, n_speakers):
            raise ConfigError(f"model.n_speakers is {given!r} but data.speakers names {n_speakers}; "
                              "remove model.n_speakers (or set 0 for an unconditional model)")
        self.model = {**self.model, "n_mels": contract.n_mels, "n_speakers": given}
        vae_config(self.model)  # unknown keys, bad values
        self.set_vae_trainer()
        check_clip_validation(self.trainer, self.data.val_count, "VAE")

    @property
    def feature_config(self) -> FeatureConfig:
        """The mel contract named by ``features``."""
        return get_preset(self.features)


def build_model(config: VAETrainConfig) -> SpectrogramVAE:
    """A fresh VAE seeded by ``trainer.seed``."""
    torch.manual_seed(config.trainer.seed)
    return build_vae(config.model)


def speaker_files(config: VAETrainConfig) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """(training files, validation files) per speaker name, as training uses them."""
    if not config.data.speakers:
        raise ConfigError("data.speakers is empty; map each speaker name to a folder of its audio")
    train, val = {}, {}
    for name, folder in config.data.speakers.items():
        if not folder:
            raise ConfigError(f"data.speakers.{name} is empty; set it to a folder of that speaker's audio")
        files = list_audio_files(folder)
        train[name], val[name] = split_files(files, config.data.val_count) if config.data.val_count else (files, [])
    return train, val


def export_vae(model: SpectrogramVAE, feature_config: FeatureConfig, stats: dict[str, SpeakerStats],
               normalization: SpeakerStats, path: str | os.PathLike, *, dtype: torch.dtype | None | str = "float16",
               overwrite: bool = False) -> Path:
    """Write a ``vae`` artifact (:func:`voicegen.formats.vae.save_vae`)."""
    return save_vae(model, feature_config, stats, normalization, path, dtype=dtype, overwrite=overwrite)


def init_vae_from(model: SpectrogramVAE, config: VAETrainConfig, path: str | os.PathLike) -> SpeakerStats:
    """Load an exported VAE's weights into ``model`` in place and return its normalisation statistics
    (the weights expect mels normalised with them). Its model config, mel contract and speakers (names
    and order) must equal the run's; ConfigError names what differs."""
    from voicegen.formats.vae import load_vae_parts

    parts = load_vae_parts(path)
    if parts.model.config != model.config:
        fields = [f.name for f in dataclasses.fields(model.config)
                  if getattr(model.config, f.name) != getattr(parts.model.config, f.name)]
        raise ConfigError(f"{path}: VAE model differs from the config in {', '.join(fields)}; "
                          "copy the artifact's model settings into the config")
    differ = parts.feature_config.diff(config.feature_config)
    if differ:
        raise ConfigError(f"{path}: mel contract differs from features {config.features!r} in {', '.join(differ)}")
    if list(parts.speakers) != list(config.data.speakers):
        raise ConfigError(f"{path}: speakers {', '.join(parts.speakers)} but data.speakers names "
                          f"{', '.join(config.data.speakers)}; name the same speakers in the same order")
    model.load_state_dict(parts.model.state_dict())
    return parts.normalization


def train_vae(config: VAETrainConfig, run_dir: str | os.PathLike, *,
              resume: bool | Literal["auto"] = "auto", init_from: str | os.PathLike | None = None,
              minutes: float | None = None) -> Path | None:
    """Train as configured under ``run_dir`` and export ``run_dir/export``; return that path.

    ``resume``: ``"auto"`` continues from the latest checkpoint if any, ``True`` requires one,
    ``False`` refuses a run_dir with checkpoints. ``init_from``: an exported VAE to fine-tune (its
    weights, and its normalisation statistics for the mels). ``minutes``: size ``trainer.max_steps``
    (and ``capacity_fraction``'s ramp) to that much of this machine's time from a measured step rate;
    a resumed run keeps the budget its first start measured (:func:`voicegen.train.run.minutes_budget`).
    Returns None on data-parallel ranks other than 0.
    """
    run_dir = start_run(run_dir, resume)
    train_files, val_files = speaker_files(config)
    contract = config.feature_config
    progress = config.trainer.progress
    model = build_model(config)
    stats = {name: compute_stats(files, contract, progress=progress) for name, files in train_files.items()}
    pooled = init_vae_from(model, config, init_from) if init_from is not None else pool_stats(list(stats.values()))
    input_mels = ({name: load_input_mels(input_mel_files(files, config.data.input_mels), contract.n_mels)
                   for name, files in train_files.items()} if config.data.input_mels else None)
    dataset = MultiSpeakerMelDataset(train_files, contract, pooled, segment_frames=config.data.segment_frames,
                                     repeats=config.data.repeats, progress=progress, input_mels=input_mels,
                                     input_mel_share=config.data.input_mel_share)
    clips = [(path, index) for index, name in enumerate(val_files) for path in val_files[name]]
    val_dataset = (MultiSpeakerMelClips(clips, contract, pooled, max_frames=config.data.val_max_frames)
                   if clips else None)
    task = VAETask(model, capacity_max=config.capacity_max, capacity_steps=config.capacity_steps,
                   feature_config=contract, stats=pooled)
    budget = ""
    sized = minutes_budget(run_dir, minutes, lambda: calibrate_max_steps(task, dataset, config.trainer, minutes))
    if sized is not None:
        config.trainer.max_steps, budget = sized
        config.follow_max_steps()
        task.capacity_steps = config.capacity_steps
    trainer = run_trainer(task, dataset, config, run_dir, resume=resume, val_dataset=val_dataset,
                          command="voicegen train vae",
                          summary=f"vae on {', '.join(train_files)}: {sum(map(len, train_files.values()))} training "
                                  f"files, {len(clips)} validation files, {parameter_count(model):.2f}M "
                                  f"parameters{budget}")
    if not trainer.dist.is_main:
        return None
    return export_vae(model, contract, stats, pooled, run_dir / EXPORT_DIR, overwrite=True)
