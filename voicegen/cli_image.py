"""``voicegen image ...``: train, export, sample, translate, traverse and evaluate the image models.

Registered on the main group in ``voicegen/cli.py``. Only click is imported at module level; torch
and the models are imported inside the commands, so ``voicegen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from voicegen.cli_common import (
    already_finished,
    device_option,
    load_run,
    refuse_existing,
    resolve_device,
    run_options,
)

GRID_SCALE = 4
"""Default enlargement of saved grids (28 px digits become 112 px)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def image() -> None:
    """Image models from the same blocks, losses and trainer: VAE, DCGAN / conditional GAN, CycleGAN.

    \b
    Examples (the shipped MNIST models work out of the box; `voicegen models` lists them):
      voicegen image sample --class 7 --out seven.png
      voicegen image traverse --out traversal.png
      voicegen image sample --class 3 -n 1 --scale 1 --out digit.png
      voicegen image translate digit.png digit_uci.png --direction a2b
      voicegen image train --help
    """


@image.group("train")
def image_train() -> None:
    """Train an image model from a YAML config (run folder: checkpoints, logs, samples, export).

    One command per family: vae, gan (DCGAN), cgan (class-conditional GAN), cyclegan (between two
    image sets) and classifier (scores the others). The MNIST configs read the digits that
    recipes/mnist/run.sh prepares (stage 0 downloads them, stage 1 writes
    runs/mnist/data/mnist_t10k_dev.npz); the commands then point the config at that file:

    \b
    Examples:
      bash recipes/mnist/run.sh --stop-stage 1   # network: downloads MNIST's test set (stage 0)
      voicegen image train vae --config recipes/mnist/conf/vae.yaml \\
          --set data.train.path=runs/mnist/data/mnist_t10k_dev.npz \\
          --set data.val.path=runs/mnist/data/mnist_t10k_dev.npz   # network: after stage 0 above
      bash recipes/mnist/run.sh --models "vae cgan"   # network: every stage, from download to evaluation
    """


def _train(module: str, schema: str, function: str, what: str, family: str, options: dict, check=None) -> None:
    """Load the run config (``--config``, ``--set``, ``--device``) into ``module.schema``, optionally
    ``check`` it, train with ``module.function`` and print where the export went."""
    import importlib

    library = importlib.import_module(module)
    config, run_dir, mode = load_run(getattr(library, schema), family, options["config_path"],
                                      options["overrides"], options["device"], options["run_dir"], options["resume"])
    if check is not None:
        check(config, options["config_path"])
    if already_finished(run_dir, config.trainer.max_steps, mode):
        return
    export = getattr(library, function)(config, run_dir, resume=mode)
    if export is not None:
        click.echo(f"exported {what} to {export}")


@image_train.command("vae")
@run_options("mnist", "beta=4", "image-vae")
def train_vae_command(**options) -> None:
    """Train an image VAE / beta-VAE (one latent vector per image, Bernoulli decoder).

    \b
    Example (MNIST from `bash recipes/mnist/run.sh --stop-stage 1`, which downloads it):
      voicegen image train vae --config recipes/mnist/conf/vae.yaml --set beta=4 --run-dir runs/mnist_bvae \\
          --set data.train.path=runs/mnist/data/mnist_t10k_dev.npz \\
          --set data.val.path=runs/mnist/data/mnist_t10k_dev.npz  # network: after the download
    """
    _train("voicegen.train.image.vae", "ImageVAETrainConfig", "train_image_vae", "image vae", "image-vae", options)


def _conditional(expected: bool):
    """A check that the GAN config's ``conditional`` matches the command (gan / cgan)."""
    def check(config, config_path: Path) -> None:
        from voicegen.errors import ConfigError

        if config.conditional != expected:
            other = "cgan" if config.conditional else "gan"
            raise ConfigError(f"{config_path} sets conditional: {str(config.conditional).lower()}; use "
                              f"`voicegen image train {other}` or --set conditional={str(expected).lower()}")
    return check


@image_train.command("gan")
@run_options("mnist", "trainer.max_steps=100", "image-gan")
def train_gan_command(**options) -> None:
    """Train an unconditional DCGAN (the config must have conditional: false).

    \b
    Example (MNIST from `bash recipes/mnist/run.sh --stop-stage 1`, which downloads it):
      voicegen image train gan --config recipes/mnist/conf/gan.yaml --run-dir runs/mnist_gan \\
          --set data.train.path=runs/mnist/data/mnist_t10k_dev.npz \\
          --set data.val.path=runs/mnist/data/mnist_t10k_dev.npz  # network: after the download
    """
    _train("voicegen.train.image.gan", "ImageGANTrainConfig", "train_image_gan", "GAN", "image-gan", options,
           _conditional(False))


@image_train.command("cgan")
@run_options("mnist", "trainer.max_steps=100", "image-cgan")
def train_cgan_command(**options) -> None:
    """Train a class-conditional GAN on labelled images (the config must have conditional: true).

    \b
    Example (MNIST from `bash recipes/mnist/run.sh --stop-stage 1`, which downloads it):
      voicegen image train cgan --config recipes/mnist/conf/cgan.yaml --run-dir runs/mnist_cgan \\
          --set data.train.path=runs/mnist/data/mnist_t10k_dev.npz \\
          --set data.val.path=runs/mnist/data/mnist_t10k_dev.npz  # network: after the download
    """
    _train("voicegen.train.image.gan", "ImageGANTrainConfig", "train_image_gan", "conditional GAN", "image-cgan",
           options, _conditional(True))


@image_train.command("cyclegan")
@run_options("digits_cyclegan", "data.b.path=DIR", "image-cyclegan")
def train_cyclegan_command(**options) -> None:
    """Train an image CycleGAN between two unpaired image sets (the voice converter's step).

    \b
    Example (stages 0-1 download MNIST and the UCI digits; stage 3 runs this command on them):
      bash recipes/digits_cyclegan/run.sh --stop-stage 3  # network: downloads the digits (stage 0)
    """
    _train("voicegen.train.image.cyclegan", "ImageCycleGANTrainConfig", "train_image_cyclegan", "image cyclegan",
           "image-cyclegan", options)


@image_train.command("classifier")
@run_options("mnist", "trainer.max_steps=100", "image-classifier")
def train_classifier_command(**options) -> None:
    """Train the digit classifier that scores the GANs and the CycleGAN.

    \b
    Example (MNIST from `bash recipes/mnist/run.sh --stop-stage 1`, which downloads it):
      voicegen image train classifier --config recipes/mnist/conf/classifier.yaml --run-dir runs/mnist_classifier \\
          --set data.train.path=runs/mnist/data/mnist_t10k_dev.npz \\
          --set data.val.path=runs/mnist/data/mnist_t10k_dev.npz  # network: after the download
    """
    _train("voicegen.train.image.classifier", "ClassifierTrainConfig", "train_classifier", "classifier",
           "image-classifier", options)


@image.command("export")
@click.argument("kind", type=click.Choice(["vae", "gan", "cgan", "cyclegan", "classifier"]))
@click.option("--run-dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Run folder written by `voicegen image train KIND`.")
@click.option("--step", type=int, default=None, help="Checkpoint step to export [default: the latest].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Artifact folder to write [default: RUN_DIR/export_step<the step in 8 digits>, e.g. "
                   "RUN_DIR/export_step00000393 for step 393].")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact folder.")
def export_command(kind: str, run_dir: Path, step: int | None, out: Path | None, overwrite: bool) -> None:
    """Export an image model (fp16 safetensors + JSON) from a training run's checkpoint.

    \b
    Example (after the `voicegen image train cgan --help` example):
      voicegen image export cgan --run-dir runs/mnist_cgan --step 4000 --out models/cgan_4k  # network: needs the run
    """
    from voicegen.pathcheck import check_writable
    from voicegen.train.image.export import export_image_run

    check_writable(out if out is not None else run_dir, what="export")
    click.echo(f"exported {kind} to {export_image_run(kind, run_dir, out=out, step=step, overwrite=overwrite)}")


_model_option = click.option("--model", default=None,
                             help="Model folder or shipped model name [default: the shipped MNIST model].")
_device_option = device_option("the model")


def _grid_options(what: str):
    """The options of the commands that save a grid: --out, --scale, --overwrite, --device."""
    options = [
        click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
                     help=f"PNG (or JPEG) of the {what} grid."),
        click.option("--scale", type=click.IntRange(1, 16), default=GRID_SCALE, show_default=True,
                     help="Enlarge the saved grid this many times (nearest neighbour)."),
        click.option("--overwrite", is_flag=True, help="Replace an existing output file."),
        _device_option,
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@image.command("sample")
@_model_option
@click.option("--class", "class_name", default=None, help="Class to draw (e.g. 7) [default: one row per class].")
@click.option("-n", "--n", "n", type=click.IntRange(1, 1024), default=None,
              help="How many samples [default: 64, or one row per class].")
@click.option("--columns", type=click.IntRange(1, 64), default=8, show_default=True, help="Images per grid row.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latents.")
@_grid_options("sample")
def sample_command(model: str | None, class_name: str | None, n: int | None, columns: int, seed: int, out: Path,
                   scale: int, overwrite: bool, device: str) -> None:
    """Draw a grid of samples from an image GAN (default: the shipped MNIST conditional GAN).

    \b
    Examples:
      voicegen image sample --class 7 --out seven.png
      voicegen image sample --out all_digits.png --seed 3
    """
    from voicegen.infer.image_models import resolve_image_model
    from voicegen.pathcheck import check_writable

    refuse_existing(out, overwrite)
    check_writable(out)
    path = resolve_image_model(model, "gan")
    from voicegen.formats.image import load_image_gan
    from voicegen.image.grid import save_grid
    from voicegen.infer.image import sample_images

    gan = load_image_gan(path, device=resolve_device(device))
    images, nrow = sample_images(gan, class_name=class_name, n=n, columns=columns, seed=seed)
    save_grid(out, images, nrow, scale=scale, overwrite=overwrite)
    what = f"class {class_name}" if class_name is not None else ("every class" if gan.conditional else "samples")
    click.echo(f"wrote {out}: {images.shape[0]} samples ({what}) from {gan.path}")


@image.command("translate")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@_model_option
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="a2b translates domain A into B (shipped model: mnist -> uci), b2a the reverse.")
@click.option("--keep-size", is_flag=True, help="Translate at the input's size instead of the model's.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@_device_option
def translate_command(source: Path, output: Path, model: str | None, direction: str, keep_size: bool,
                      overwrite: bool, device: str) -> None:
    """Translate SOURCE (an image or a folder of them) with an image CycleGAN into OUTPUT.

    A folder gives a mirrored folder of PNGs. Inputs are converted to the model's channels and
    resized to its size unless --keep-size.

    \b
    Examples:
      voicegen image sample --class 3 -n 1 --scale 1 --out digit.png
      voicegen image translate digit.png digit_uci.png --direction a2b
      voicegen image sample --out digits.png --scale 1
      voicegen image translate digits.png digits_uci.png --keep-size
    """
    from voicegen.infer.image_models import resolve_image_model
    from voicegen.pathcheck import check_writable

    if not source.exists():
        raise click.ClickException(f"{source}: not found; pass an image file or a folder of images")
    check_writable(output)
    path = resolve_image_model(model, "cyclegan")
    from voicegen.formats.image import load_image_cyclegan
    from voicegen.infer.image import translate_path

    cyclegan = load_image_cyclegan(path, device=resolve_device(device))
    written = translate_path(source, output, cyclegan, direction=direction, overwrite=overwrite,
                             resize_input=not keep_size)
    a, b = cyclegan.domains
    arrow = f"{a} -> {b}" if direction == "a2b" else f"{b} -> {a}"
    click.echo(f"wrote {written[0] if len(written) == 1 else f'{len(written)} images under {output}'} ({arrow})")


@image.command("traverse")
@_model_option
@click.option("--image", "image_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Start from this image's latent [default: the prior mean].")
@click.option("--dims", default=None, help="Comma-separated latent dims, one row each [default: the most informative].")
@click.option("--n-dims", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Rows when --dims is not given.")
@click.option("--steps", type=click.IntRange(2, 64), default=9, show_default=True, help="Images per row.")
@click.option("--span", type=float, default=3.0, show_default=True, help="Each row runs from -SPAN to +SPAN.")
@_grid_options("traversal")
def traverse_command(model: str | None, image_path: Path | None, dims: str | None, n_dims: int, steps: int,
                     span: float, out: Path, scale: int, overwrite: bool, device: str) -> None:
    """Draw a latent traversal of an image VAE: one row per latent dimension.

    \b
    Example:
      voicegen image traverse --out traversal.png --n-dims 6
    """
    from voicegen.infer.image_models import resolve_image_model
    from voicegen.pathcheck import check_writable

    refuse_existing(out, overwrite)
    check_writable(out)
    path = resolve_image_model(model, "vae")
    from voicegen.formats.image import load_image_vae
    from voicegen.image.grid import save_grid
    from voicegen.infer.image import load_for_contract, traverse

    vae = load_image_vae(path, device=resolve_device(device))
    try:
        dim_list = [int(d) for d in dims.split(",")] if dims else None
    except ValueError:
        raise click.BadParameter(f"{dims!r}: give integers separated by commas, e.g. 0,3,5", param_hint="--dims")
    start = load_for_contract(image_path, vae.contract) if image_path is not None else None
    images, nrow = traverse(vae, image=start, dims=dim_list, n_dims=n_dims, steps=steps, span=span)
    save_grid(out, images, nrow, scale=scale, overwrite=overwrite)
    click.echo(f"wrote {out}: {images.shape[0] // nrow} latent dims x {nrow} steps from {vae.path}")


@image.command("eval")
@click.argument("kind", type=click.Choice(["vae", "gan", "cyclegan"]))
@click.option("--config", "config_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Evaluation data (see recipes/mnist/conf/eval.yaml, recipes/digits_cyclegan/conf/eval.yaml).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config entry; repeatable.")
@_model_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the figures as JSON here.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def eval_command(kind: str, config_path: Path, overrides: tuple[str, ...], model: str | None, out: Path | None,
                 overwrite: bool) -> None:
    """Objective figures of an image model on held-out images.

    \b
    vae: test ELBO (nats per image), reconstruction cross-entropy, KL and pixel error.
    gan: classifier accuracy of conditional samples, Fréchet distance of classifier features.
    cyclegan: classifier accuracy on translated images (is the digit kept?) and Fréchet distances.

    \b
    Example (MNIST from `bash recipes/mnist/run.sh --stop-stage 1`, which downloads it):
      voicegen image eval gan --config recipes/mnist/conf/eval.yaml --out cgan_eval.json \\
          --set test.path=runs/mnist/data/mnist_t10k_dev.npz --set reference.path=runs/mnist/data/mnist_t10k_dev.npz \\
          --set seen.path=runs/mnist/data/mnist_t10k_dev.npz  # network: after the download
    """
    from voicegen.config import load_config
    from voicegen.eval.image_eval import (
        ImageEvalConfig,
        evaluate_image_model,
        format_report,
        save_report,
    )

    if out is not None:
        from voicegen.pathcheck import check_writable

        refuse_existing(out, overwrite)
        check_writable(out)
    config = load_config(ImageEvalConfig, config_path, overrides)
    report = evaluate_image_model(kind, model, config)
    click.echo(format_report(report))
    if out is not None:
        save_report(report, out)
        click.echo(f"wrote {out}")
