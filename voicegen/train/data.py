"""Resumable, seeded, rank-sharded batches, and per-item seeds for deterministic augmentation.

Data order
    Each epoch uses one permutation of the dataset drawn from ``(seed, epoch)``. The permutation
    is cut into global batches of ``batch_size * world_size`` items; rank ``r`` takes slice ``r``
    of each global batch (``drop_last``: every rank sees the same number of equal batches, and
    one process with ``world_size * batch_size`` sees exactly the union of what the ranks see).
    The sampler starts at any ``(epoch, batch)`` position directly, so a resumed run continues at
    the exact next batch without reading the skipped ones through the dataset.

Per-item seeds (deterministic random augmentation)
    Random crops, gains, noise... must not use the process-global RNGs: with ``num_workers > 0``
    those live in worker processes whose state a checkpoint cannot capture. Instead, a dataset
    that sets the class attribute ``takes_seed = True`` receives ``dataset[(index, item_seed)]``
    where ``item_seed`` (an int in [0, 2**63)) is derived from ``(seed, epoch, position in the
    epoch's permutation)``; it should draw all randomness from it, e.g.
    ``torch.Generator().manual_seed(item_seed)`` or ``numpy.random.default_rng(item_seed)``.
    The same item then gets the same augmentation with or without workers, on any rank count,
    and after a resume. Datasets without ``takes_seed`` receive a plain ``index``.
    Validation items get seeds from ``(seed, index)`` so validation crops are fixed across steps.

Collation
    A dataset may define ``collate(items) -> batch``; otherwise ``default_collate`` is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from voicegen.errors import ConfigError, TrainingError
from voicegen.train.config import TrainerConfig

# Distinct salts keep the permutation, training-item and validation-item seed streams apart.
_PERMUTATION_SALT = 0x5EED_0001
_ITEM_SALT = 0x5EED_0002
_VALIDATION_SALT = 0x5EED_0003
_SEED_BITS = 63  # torch.manual_seed and numpy both accept seeds in [0, 2**63)

BatchIndices = list[int] | list[tuple[int, int]]


def mix_seed(*values: int) -> int:
    """A well-mixed seed in [0, 2**63) from non-negative ints (numpy ``SeedSequence`` hashing)."""
    words = np.random.SeedSequence([int(v) for v in values]).generate_state(2, dtype=np.uint32)
    return ((int(words[0]) << 32) | int(words[1])) >> (64 - _SEED_BITS)


def item_seed(seed: int, epoch: int, position: int) -> int:
    """Seed of the item at ``position`` in epoch ``epoch``'s permutation (rank-independent)."""
    return mix_seed(_ITEM_SALT, seed, epoch, position)


def validation_seed(seed: int, index: int) -> int:
    """Seed of validation item ``index`` (the same at every validation)."""
    return mix_seed(_VALIDATION_SALT, seed, index)


def epoch_permutation(num_items: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of epoch ``epoch``: a permutation of ``range(num_items)`` (int64, CPU)."""
    generator = torch.Generator().manual_seed(mix_seed(_PERMUTATION_SALT, seed, epoch))
    return torch.randperm(num_items, generator=generator)


def dataset_takes_seed(dataset: Dataset) -> bool:
    """True when the dataset declares ``takes_seed = True`` (see the module docstring)."""
    return getattr(dataset, "takes_seed", False) is True


class ResumableBatchSampler(Sampler):
    """Yields this rank's batches of one epoch, starting at a chosen batch position.

    Each batch is a list of dataset indices, or of ``(index, item_seed)`` pairs when
    ``with_seeds``. Call ``set_position(epoch, batch)`` before iterating; iteration runs to the
    end of that epoch. The sampler holds no RNG state: everything follows from ``seed``.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        with_seeds: bool = False,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world_size {world_size}")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.with_seeds = with_seeds
        self.global_batch_size = batch_size * world_size
        if self.batches_per_epoch < 1:
            raise TrainingError(
                f"the training dataset has {num_items} items, fewer than one batch of "
                f"{batch_size} x {world_size} process(es); add data or lower trainer.batch_size"
            )
        self.epoch = 0
        self.start_batch = 0

    @property
    def batches_per_epoch(self) -> int:
        """Full batches per epoch (the incomplete tail of the permutation is dropped)."""
        return self.num_items // self.global_batch_size

    def set_position(self, epoch: int, batch: int) -> None:
        """Make the next iteration start at batch ``batch`` (0-based) of epoch ``epoch``."""
        if not 0 <= batch <= self.batches_per_epoch:
            raise TrainingError(
                f"data position {batch} is outside the {self.batches_per_epoch} batches per epoch; "
                "the dataset or batch size changed since the checkpoint"
            )
        self.epoch = epoch
        self.start_batch = batch

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch

    def __iter__(self) -> Iterator[BatchIndices]:
        order = epoch_permutation(self.num_items, self.seed, self.epoch).tolist()
        for batch in range(self.start_batch, self.batches_per_epoch):
            first = batch * self.global_batch_size + self.rank * self.batch_size
            positions = range(first, first + self.batch_size)
            if self.with_seeds:
                yield [(order[p], item_seed(self.seed, self.epoch, p)) for p in positions]
            else:
                yield [order[p] for p in positions]


class ValidationBatchSampler(Sampler):
    """All validation items in order, in batches of ``batch_size`` (the last may be smaller)."""

    def __init__(self, num_items: int, batch_size: int, *, seed: int, with_seeds: bool) -> None:
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.with_seeds = with_seeds

    def __len__(self) -> int:
        return -(-self.num_items // self.batch_size)

    def __iter__(self) -> Iterator[BatchIndices]:
        for first in range(0, self.num_items, self.batch_size):
            indices = range(first, min(first + self.batch_size, self.num_items))
            if self.with_seeds:
                yield [(i, validation_seed(self.seed, i)) for i in indices]
            else:
                yield list(indices)


def build_loader(
    dataset: Dataset,
    batch_sampler: Sampler,
    *,
    num_workers: int,
    seed: int,
    pin_memory: bool,
    persistent: bool = True,
) -> DataLoader:
    """A DataLoader over ``batch_sampler`` that never draws from the global torch RNG.

    The loader's own generator seeds the workers, so creating iterators (one per epoch, or one
    at a resume) leaves the training RNG stream untouched. With ``persistent`` the workers
    live across epochs.
    """
    collate = getattr(dataset, "collate", None)
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        num_workers=num_workers,
        collate_fn=collate if callable(collate) else default_collate,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(mix_seed(seed)),
        persistent_workers=persistent and num_workers > 0,
    )


def dataset_length(dataset: Any, role: str) -> int:
    """``len(dataset)``, or a ``TrainingError`` saying the dataset must be map-style and non-empty."""
    try:
        length = len(dataset)
    except TypeError:
        raise TrainingError(
            f"the {role} dataset {type(dataset).__name__} has no len(); the Trainer needs a "
            "map-style torch Dataset"
        ) from None
    if length < 1:
        raise TrainingError(f"the {role} dataset {type(dataset).__name__} is empty")
    return length


def validation_loader(config: TrainerConfig, task: Any, val_dataset: Dataset | None, *,
                      pin_memory: bool) -> DataLoader | None:
    """The loader of ``val_dataset`` (in order, seeded items) when ``config.val_every`` schedules
    validation, else None; ConfigError when it is scheduled without a dataset or ``task.validate``."""
    if config.val_every <= 0:
        return None
    if val_dataset is None or not callable(getattr(task, "validate", None)):
        missing = (
            "no val_dataset was given" if val_dataset is None
            else f"{type(task).__name__} has no validate()"
        )
        raise ConfigError(
            f"trainer.val_every is {config.val_every} but {missing}; set val_every: 0 or provide both"
        )
    val_sampler = ValidationBatchSampler(
        dataset_length(val_dataset, "validation"), config.val_batch_size,
        seed=config.seed, with_seeds=dataset_takes_seed(val_dataset),
    )
    return build_loader(
        val_dataset, val_sampler, num_workers=config.num_workers, seed=config.seed,
        pin_memory=pin_memory, persistent=False,
    )
