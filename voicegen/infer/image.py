"""Image pipelines over exported image models: sample (GANs), translate (CycleGAN), traverse (VAE).

    gan = load_image_gan(resolve_image_model(None, "gan"))        # the shipped MNIST conditional GAN
    images, nrow = sample_images(gan, class_name="7", n=16)        # (16, 1, 28, 28) in [-1, 1]
    translate_path("digits/", "out/", load_image_cyclegan(path), direction="a2b")
    grid, nrow = traverse(load_image_vae(path), steps=9)

Models are found by :func:`resolve_image_model`: a folder path, or the name of a model shipped in
``voicegen/assets/models/image/``; None picks the shipped default of the role. They are loaded by
``load_image_gan`` / ``load_image_cyclegan`` / ``load_image_vae`` of :mod:`voicegen.formats.image`,
which check the artifact's kind and image contract and give the model in eval mode in float32.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from voicegen.errors import ConfigError
from voicegen.formats.image import ImageCycleGAN, ImageGAN, ImageVAE
from voicegen.image.contract import ImageContract
from voicegen.image.io import ImageError, list_image_files, load_image, save_image
from voicegen.image.transforms import from_logits, resize, to_channels
from voicegen.infer.image_models import (  # noqa: F401 (re-exported: the models' names live there)
    DEFAULT_MODELS,
    PACKAGE_IMAGE_MODELS,
    resolve_image_model,
)
from voicegen.pathcheck import check_not_input

DEFAULT_SAMPLES = 64
DEFAULT_COLUMNS = 8
DEFAULT_TRAVERSE_DIMS = 8
DEFAULT_TRAVERSE_STEPS = 9
DEFAULT_TRAVERSE_SPAN = 3.0
OUTPUT_SUFFIX = ".png"
MAX_KEEP_SIZE_PIXELS = 1024 * 1024
"""Largest image translated at its own size (--keep-size): the generator's memory and time grow
with the pixels, and its receptive field is tuned to the model's own size anyway."""


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


@torch.no_grad()
def sample_images(gan: ImageGAN, *, class_name: str | int | None = None, n: int | None = None,
                  columns: int = DEFAULT_COLUMNS, seed: int = 0) -> tuple[torch.Tensor, int]:
    """``(images (N, C, H, W) in [-1, 1], columns per grid row)`` drawn from ``gan``.

    A class gives ``n`` (default 64) samples of it; a conditional GAN without a class gives one row
    of ``columns`` samples per class (the same latent down each column); an unconditional GAN gives
    ``n`` samples. ``seed`` fixes the latents.
    """
    if columns < 1 or (n is not None and n < 1):
        raise ConfigError(f"need n >= 1 and columns >= 1, got n={n}, columns={columns}")
    generator = torch.Generator().manual_seed(seed)
    latent_dim = gan.generator.config.latent_dim
    labels = None
    if class_name is not None:
        count = n or DEFAULT_SAMPLES
        labels = torch.full((count,), gan.class_id(class_name), dtype=torch.long)
    elif gan.conditional:
        count = gan.generator.config.n_classes * columns
        labels = torch.arange(gan.generator.config.n_classes).repeat_interleave(columns)
        z = torch.randn(columns, latent_dim, generator=generator).repeat(gan.generator.config.n_classes, 1)
        return gan.generator(z.to(_device(gan.generator)), labels.to(_device(gan.generator))).float().cpu(), columns
    else:
        count = n or DEFAULT_SAMPLES
    z = torch.randn(count, latent_dim, generator=generator).to(_device(gan.generator))
    labels = None if labels is None else labels.to(z.device)
    return gan.generator(z, labels).float().cpu(), min(columns, count)


def load_for_contract(path: str | os.PathLike, contract: ImageContract, *, resize_input: bool = True) -> torch.Tensor:
    """The image at ``path`` as ``(1, C, H, W)`` with the contract's channels (and size, unless not
    ``resize_input``: then at most MAX_KEEP_SIZE_PIXELS, since the model runs at that size)."""
    if resize_input:
        return resize(torch.from_numpy(load_image(path, contract.channels))[None], contract.size)
    return torch.from_numpy(load_image(path, contract.channels, max_pixels=MAX_KEEP_SIZE_PIXELS,
                                       limit_hint="drop --keep-size (the model's size) or resize it"))[None]


@torch.no_grad()
def translate_images(cyclegan: ImageCycleGAN, images: torch.Tensor, direction: str) -> torch.Tensor:
    """Translate ``images`` ``(N, C, H, W)`` in [-1, 1] with the ``direction`` generator (same shape out)."""
    generator = cyclegan.generator(direction)
    images = to_channels(images, cyclegan.contract.channels)
    return generator(images.to(_device(generator)).float()).float().cpu()


def translate_path(src: str | os.PathLike, out: str | os.PathLike, cyclegan: ImageCycleGAN, *, direction: str,
                   overwrite: bool = False, resize_input: bool = True) -> list[Path]:
    """Translate an image file, or every image under a folder into a mirrored folder of ``.png``.

    Inputs are converted to the model's channels and (``resize_input``) size. Existing outputs are
    refused before any work unless ``overwrite``. Returns the written paths.
    """
    src, out = Path(src), Path(out)
    cyclegan.generator(direction)  # a bad direction fails before any file
    if not src.exists():
        raise ImageError(f"{src}: not found; pass an image file or a folder of images")
    if src.is_dir():
        if out.exists() and not out.is_dir():
            raise ImageError(f"{out}: is a file; give a folder as the output of a folder input")
        jobs = [(p, out / p.relative_to(src).with_suffix(OUTPUT_SUFFIX)) for p in list_image_files(src)]
        targets = [dst for _, dst in jobs]
        if len(set(targets)) != len(targets):
            clash = next(t for t in targets if targets.count(t) > 1)
            raise ImageError(f"{clash}: two inputs would write this file (e.g. x.png and x.jpg); rename one")
    else:
        jobs = [(src, out)]
    existing = [dst for _, dst in jobs if dst.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ImageError(f"{existing[0]}: already exists{more}; pass --overwrite (overwrite=True) to replace it")
    for path, dst in jobs:
        check_not_input(dst, path)
    written = []
    for path, dst in jobs:
        image = load_for_contract(path, cyclegan.contract, resize_input=resize_input)
        written.append(save_image(dst, translate_images(cyclegan, image, direction)[0], overwrite=overwrite))
    return written


@torch.no_grad()
def traverse(vae: ImageVAE, *, image: torch.Tensor | None = None, dims: list[int] | None = None,
             n_dims: int = DEFAULT_TRAVERSE_DIMS, steps: int = DEFAULT_TRAVERSE_STEPS,
             span: float = DEFAULT_TRAVERSE_SPAN) -> tuple[torch.Tensor, int]:
    """A latent traversal: ``(images (len(dims) * steps, C, H, W), steps)``.

    Row ``r`` decodes the base latent with dimension ``dims[r]`` set to ``steps`` values evenly
    spaced in ``[-span, span]`` (prior standard deviations). The base is the posterior mean of
    ``image`` ``(1, C, H, W)`` (None: the prior mean, zero). ``dims`` defaults to the ``n_dims``
    dimensions with the largest KL on held-out images (the informative ones).
    """
    model = vae.model
    latent = model.config.latent_channels
    if steps < 2 or not span > 0:
        raise ConfigError(f"traverse: need steps >= 2 and span > 0, got steps={steps}, span={span}")
    if dims is None:
        order = sorted(range(latent), key=lambda d: -vae.latent_kl[d]) if len(vae.latent_kl) == latent else \
            list(range(latent))
        dims = order[:max(1, min(n_dims, latent))]
    bad = [d for d in dims if not 0 <= d < latent]
    if bad or not dims:
        raise ConfigError(f"traverse: latent dims must be in [0, {latent}), got {dims}")
    device = _device(model)
    if image is None:
        base = torch.zeros(1, latent, device=device)
    else:
        vae.contract.check(image, "traverse input")
        base = model.encode(image.to(device).float()).mean
    values = torch.linspace(-span, span, steps, device=device)
    z = base.repeat(len(dims) * steps, 1)
    for row, dim in enumerate(dims):
        z[row * steps:(row + 1) * steps, dim] = values
    return from_logits(model.decode(z)).float().cpu(), steps


@torch.no_grad()
def reconstruct(vae: ImageVAE, images: torch.Tensor) -> torch.Tensor:
    """Posterior-mean reconstructions (the decoder's mean image in [-1, 1]) of ``images`` ``(N, C, H, W)``."""
    vae.contract.check(images, "reconstruct input")
    return from_logits(vae.model(images.to(_device(vae.model)).float(), sample=False).mel_hat).float().cpu()
