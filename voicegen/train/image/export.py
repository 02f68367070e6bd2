"""Export the artifact of an image training run from any of its checkpoints (also while it trains).

    export_image_run("cgan", "runs/mnist_cgan", step=4000, out="models/cgan_4k")

The run's resolved ``config.yaml`` says how to rebuild the models; the VAE's per-dimension KL is
recomputed on the run's validation images (or its training images when it has none).
"""

from __future__ import annotations

import os
from pathlib import Path

from voicegen.config import load_config
from voicegen.errors import ConfigError
from voicegen.formats.image import (
    save_classifier,
    save_image_cyclegan,
    save_image_gan,
    save_image_vae,
)
from voicegen.train.export import run_checkpoint
from voicegen.train.image.common import class_names, load_checked

IMAGE_RUN_KINDS = ("vae", "gan", "cgan", "cyclegan", "classifier")


def export_image_run(kind: str, run_dir: str | os.PathLike, *, out: str | os.PathLike | None = None,
                     step: int | None = None, overwrite: bool = False) -> Path:
    """Write the ``kind`` artifact of ``run_dir``'s checkpoint at ``step`` (default: the latest).

    ``out`` defaults to ``run_dir/export_step<step>``. ``gan`` and ``cgan`` are the same run kind
    (the run's config says which).
    """
    if kind not in IMAGE_RUN_KINDS:
        raise ConfigError(f"kind must be one of {', '.join(IMAGE_RUN_KINDS)}, got {kind!r}")
    run_dir = Path(run_dir)
    config_path, state = run_checkpoint(run_dir, step, "voicegen image train")
    out = Path(out) if out is not None else run_dir / f"export_step{int(state['step']):08d}"
    modules = state["modules"]
    if kind == "vae":
        from voicegen.train.image.vae import (
            ImageVAETrainConfig,
            build_image_vae,
            latent_kl,
        )

        config = load_config(ImageVAETrainConfig, config_path)
        model = build_image_vae(config)
        model.load_state_dict(modules["vae"])
        scored = load_checked(config.data.val or config.data.train, config.contract, "data")
        return save_image_vae(model, config.contract, out, kl_per_dim=latent_kl(model, scored.images),
                              overwrite=overwrite)
    if kind in ("gan", "cgan"):
        from voicegen.train.image.gan import (
            ImageGANTrainConfig,
            build_gan,
        )

        config = load_config(ImageGANTrainConfig, config_path)
        generator, _ = build_gan(config)
        generator.load_state_dict(modules["generator"])
        classes = None
        if config.conditional:
            classes = class_names(load_checked(config.data.train, config.contract, "data.train"), config.n_classes)
        return save_image_gan(generator, config.contract, out, classes=classes, overwrite=overwrite)
    if kind == "cyclegan":
        from voicegen.train.image.cyclegan import (
            ImageCycleGANTrainConfig,
            build_image_cyclegan,
        )

        config = load_config(ImageCycleGANTrainConfig, config_path)
        models = build_image_cyclegan(config)
        for name in ("G_ab", "G_ba"):
            models[name].load_state_dict(modules[name])
        return save_image_cyclegan(models["G_ab"], models["G_ba"], config.contract,
                                   (config.domain_a, config.domain_b), out, overwrite=overwrite)
    from voicegen.models.classifier import DigitClassifier, classifier_config
    from voicegen.train.image.classifier import ClassifierTrainConfig

    config = load_config(ClassifierTrainConfig, config_path)
    model = DigitClassifier(classifier_config(config.model))
    model.load_state_dict(modules["classifier"])
    classes = class_names(load_checked(config.data.train, config.contract, "data.train"), config.n_classes)
    return save_classifier(model, config.contract, classes, out, overwrite=overwrite)
