"""Image data sources (``.npz`` arrays or folders of files) and the map-style datasets training uses.

A source is described by :class:`ImageSourceConfig` (a YAML section) and loaded once, fully into
memory, by :func:`load_source` into an :class:`ImageSet` (images ``(N, C, H, W)`` float32 in [-1, 1],
optional integer labels). Fixed train/test splits are item ranges (``start``/``stop``), so the
held-out images are the same on every machine.

:class:`ImageDataset` serves items ``{"image": (C, h, w), "label": ()}`` with optional random crops
and flips drawn from the per-item seed (``takes_seed``; see ``voicegen.train.data``);
:class:`UnpairedImageDataset` pairs two of them for CycleGAN batches ``{"a": ..., "b": ...}``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from voicegen.image.io import ImageError, list_image_files, load_image, load_npz
from voicegen.image.transforms import (
    pad,
    random_crop,
    random_flip,
    random_shift,
    resize,
    to_channels,
)

NPZ_SUFFIX = ".npz"


@dataclass
class ImageSourceConfig:
    """Where images come from and how they are prepared when loaded.

    path: an ``.npz`` file (images under ``images_key``, labels under ``labels_key``) or a folder
        of PNG/JPEG/BMP files (searched recursively, sorted by path).
    images_key, labels_key: array names inside an ``.npz`` (``labels_key: null``: no labels).
    class_folders: folders only; the label of a file is the index of its first sub-folder name
        among the sorted sub-folder names (``digits/3/a.png`` -> class "3").
    start, stop: keep items ``[start, stop)`` (``stop: null``: to the end), e.g. a fixed split.
    value_max: ``.npz`` only; the stored value of white (null: 255 for integer arrays, 1 for floats;
        16 for the UCI 8x8 digits).
    channels: 1 (grey) or 3 (RGB).
    size: resize every image to ``size`` x ``size`` (null keeps the size; then all must agree).
    pad: black border added after resizing (MNIST digits sit in a 20 px box with a 4 px border).
    """

    path: str = ""
    images_key: str = "x"
    labels_key: str | None = "y"
    class_folders: bool = False
    start: int = 0
    stop: int | None = None
    value_max: float | None = None
    channels: int = 1
    size: int | None = None
    pad: int = 0

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels!r}")
        if self.start < 0 or (self.stop is not None and self.stop <= self.start):
            raise ValueError(f"need 0 <= start < stop, got start={self.start}, stop={self.stop}")
        if (self.size is not None and self.size < 1) or self.pad < 0:
            raise ValueError(f"size must be >= 1 (or null) and pad >= 0, got size={self.size}, pad={self.pad}")

    @property
    def image_size(self) -> int | None:
        """The side of the prepared images (``size + 2 * pad``), or None when ``size`` is not fixed."""
        return None if self.size is None else self.size + 2 * self.pad


@dataclass
class ImageSet:
    """Loaded images ``(N, C, H, W)`` float32 in [-1, 1], labels ``(N,)`` int64 (or None), class names."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    classes: list[str] | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_source(config: ImageSourceConfig) -> ImageSet:
    """Load and prepare the images ``config`` describes (see :class:`ImageSourceConfig`)."""
    if not config.path:
        raise ImageError("image source path is empty; set it to an .npz file or a folder of images")
    path = Path(config.path).expanduser()
    classes = None
    if path.suffix.lower() == NPZ_SUFFIX:
        array, labels = load_npz(path, images_key=config.images_key, labels_key=config.labels_key,
                                 value_max=config.value_max)
        stop = len(array) if config.stop is None else config.stop
        if stop > len(array):
            raise ImageError(f"{path}: holds {len(array)} images, fewer than stop={stop}")
        images = [torch.from_numpy(array[config.start:stop].copy())]
        labels = None if labels is None else labels[config.start:stop]
        images = [to_channels(images[0], config.channels)]
    else:
        files = list_image_files(path)
        stop = len(files) if config.stop is None else config.stop
        files = files[config.start:stop]
        labels = None
        if config.class_folders:
            names = [f.relative_to(path).parts[0] if len(f.relative_to(path).parts) > 1 else "" for f in files]
            if "" in names:
                raise ImageError(f"{path}: class_folders is set but some images are not in a class sub-folder")
            classes = sorted(set(names))
            labels = np.array([classes.index(n) for n in names], dtype=np.int64)
        images = [torch.from_numpy(load_image(f, config.channels))[None] for f in files]
    if config.size is not None:
        images = [resize(x, config.size) for x in images]
    sizes = {tuple(x.shape[-2:]) for x in images}
    if len(sizes) != 1:
        raise ImageError(f"{path}: images have different sizes {sorted(sizes)[:3]}...; set size to resize them")
    stacked = pad(torch.cat(images), config.pad)
    return ImageSet(stacked.float().contiguous(), None if labels is None else torch.from_numpy(labels), classes)


class ImageDataset(Dataset):
    """Items ``{"image": (C, h, w)}`` (+ ``"label"`` when labelled) from an :class:`ImageSet`.

    ``crop``: random ``crop`` x ``crop`` windows (textures); ``shift``: random translation by up to
    ``shift`` pixels (black fills in); ``flip``: random left-right mirroring; ``repeats``: the epoch
    visits every image ``repeats`` times (with new crops). Randomness comes only from the per-item seed.
    """

    takes_seed = True

    def __init__(self, images: ImageSet, *, crop: int | None = None, shift: int = 0, flip: bool = False,
                 repeats: int = 1) -> None:
        if len(images) < 1 or repeats < 1:
            raise ImageError(f"ImageDataset: need at least one image and repeats >= 1, got {len(images)}, {repeats}")
        if crop is not None and crop > min(images.images.shape[-2:]):
            raise ImageError(f"crop {crop} is larger than the images {tuple(images.images.shape[-2:])}")
        self.set, self.crop, self.shift, self.flip, self.repeats = images, crop, shift, flip, repeats

    def __len__(self) -> int:
        return len(self.set) * self.repeats

    def __getitem__(self, item: tuple[int, int] | int) -> dict[str, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        index %= len(self.set)
        image = self.set.images[index]
        if self.crop is not None or self.shift or self.flip:
            generator = torch.Generator().manual_seed(int(seed))
            if self.crop is not None:
                image = random_crop(image, self.crop, generator)
            image = random_shift(image, self.shift, generator)
            if self.flip:
                image = random_flip(image, generator)
        out = {"image": image}
        if self.set.labels is not None:
            out["label"] = self.set.labels[index]
        return out


class UnpairedImageDataset(Dataset):
    """Unpaired CycleGAN items ``{"a": (C, h, w), "b": (C, h, w)}``: A in order, B drawn at random.

    The epoch has ``max(len(a), len(b))`` items; item ``i`` is A's ``i % len(a)`` and a B image
    chosen by the item's seed, so each epoch pairs them differently. Labelled sources add
    ``label_a`` / ``label_b`` (used only to score translations, never to train).
    """

    takes_seed = True

    def __init__(self, a: ImageDataset, b: ImageDataset) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, item: tuple[int, int] | int) -> dict[str, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        rng = np.random.default_rng(int(seed))
        other = int(rng.integers(len(self.b)))
        seeds = rng.integers(2**62, size=2)
        item_a = self.a[(index % len(self.a), int(seeds[0]))]
        item_b = self.b[(other, int(seeds[1]))]
        out = {"a": item_a["image"], "b": item_b["image"]}
        for key, item in (("label_a", item_a), ("label_b", item_b)):
            if "label" in item:
                out[key] = item["label"]
        return out


def source_description(config: ImageSourceConfig) -> str:
    """A short human description, e.g. ``mnist_t10k_dev.npz[0:7000]``."""
    stop = "" if config.stop is None else str(config.stop)
    return f"{Path(os.fspath(config.path)).name}[{config.start}:{stop}]"
