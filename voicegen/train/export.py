"""Export the inference artifact of a training run from any of its checkpoints.

Training exports ``run_dir/export`` when it finishes; this makes the same artifact from a
checkpoint while a run is still going (or stopped early), e.g. to listen to step 20 000:

    export_run("vocoder", "runs/vocoder16k", out="runs/vocoder16k/export_20k", step=20000)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from voicegen.audio.stats import compute_stats
from voicegen.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_training_checkpoint,
)
from voicegen.config import load_config
from voicegen.errors import ArtifactError
from voicegen.train.run import CONFIG_FILE

RunKind = Literal["vocoder", "cyclegan", "vae"]
RUN_KINDS: tuple[str, ...] = ("vocoder", "cyclegan", "vae")


def run_checkpoint(run_dir: Path, step: int | None, command: str = "voicegen train") -> tuple[Path, dict]:
    """(the run's resolved ``config.yaml``, its training checkpoint at ``step`` or the latest); one-line
    ArtifactError naming ``run_dir`` when either is missing. ``command`` names what writes such runs."""
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise ArtifactError(f"{run_dir}: no {CONFIG_FILE}; pass the folder a `{command}` run wrote")
    ckpt = checkpoint_path(run_dir, step) if step is not None else latest_checkpoint(run_dir)
    if ckpt is None or not ckpt.is_file():
        which = f"step {step}" if step is not None else "any step"
        raise ArtifactError(f"{run_dir}: no training checkpoint for {which}; see {run_dir}/checkpoints/")
    return config_path, load_training_checkpoint(ckpt)


def export_run(kind: RunKind, run_dir: str | os.PathLike, *, out: str | os.PathLike | None = None,
               step: int | None = None, overwrite: bool = False, progress: bool = False) -> Path:
    """Write the ``kind`` artifact of ``run_dir``'s checkpoint at ``step`` (default: the latest).

    ``out`` defaults to ``run_dir/export_step<step>``. A run that kept moving averages of its
    weights (``trainer.ema_decay``) exports the averages. The run's resolved ``config.yaml`` says how
    to rebuild the models; a CycleGAN's or VAE's speaker statistics are recomputed from its data folders
    exactly as training computed them.
    """
    run_dir = Path(run_dir)
    config_path, state = run_checkpoint(run_dir, step)
    step = int(state["step"])
    out = Path(out) if out is not None else run_dir / f"export_step{step:08d}"
    modules = dict(state["modules"])
    modules.update(state.get("ema", {}).get("modules", {}))  # the moving averages, when the run kept them
    if kind == "vocoder":
        from voicegen.train.vocoder import (
            VocoderTrainConfig,
            build_models,
            export_vocoder,
        )

        config = load_config(VocoderTrainConfig, config_path)
        generator, _ = build_models(config)
        generator.load_state_dict(modules["generator"])
        return export_vocoder(generator, config, out, overwrite=overwrite)
    if kind == "cyclegan":
        from voicegen.train.cyclegan import (
            CycleGANTrainConfig,
            build_models,
            export_cyclegan,
            speaker_files,
        )

        config = load_config(CycleGANTrainConfig, config_path)
        models = build_models(config)
        for name in ("G_ab", "G_ba"):
            models[name].load_state_dict(modules[name])
        train_a, _, files_b = speaker_files(config)
        name_a, name_b = config.speaker_names()
        contract = config.feature_config
        stats = {name_a: compute_stats(train_a, contract, progress=progress),
                 name_b: compute_stats(files_b, contract, progress=progress)}
        return export_cyclegan(models["G_ab"], models["G_ba"], config.generator, contract, stats, out,
                               overwrite=overwrite)
    if kind == "vae":
        from voicegen.audio.vae_datasets import pool_stats
        from voicegen.train.vae import VAETrainConfig, build_model, export_vae
        from voicegen.train.vae import speaker_files as vae_speaker_files

        config = load_config(VAETrainConfig, config_path)
        model = build_model(config)
        model.load_state_dict(modules["vae"])
        train_files, _ = vae_speaker_files(config)
        contract = config.feature_config
        stats = {name: compute_stats(files, contract, progress=progress) for name, files in train_files.items()}
        return export_vae(model, contract, stats, pool_stats(list(stats.values())), out, overwrite=overwrite)
    raise ValueError(f"kind must be one of {RUN_KINDS}, got {kind!r}")
