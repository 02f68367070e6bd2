"""Data-parallel training across processes started by ``torchrun``.

Each process runs the same Trainer on its own shard of every global batch. After each phase's
backward the Trainer averages that phase's gradients across processes with one all-reduce per
bucket, so any number of optimizers / GAN phases works without DDP wrappers, and every process
applies the identical update. Initial parameters are broadcast from rank 0; only rank 0 writes
checkpoints and logs. Backend: NCCL when training on CUDA, Gloo on CPU.

Launch: ``torchrun --nproc_per_node N your_script.py`` (sets RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT). Without those variables everything here is a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from voicegen.errors import TrainingError
from voicegen.train.rng import RngState

# Gradients are all-reduced in flat buckets of at most this many elements (bounds extra memory).
_BUCKET_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job: ``rank`` of ``world_size``, GPU ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and samples."""
        return self.rank == 0


def dist_env() -> DistInfo:
    """Read RANK / WORLD_SIZE / LOCAL_RANK set by torchrun (single process when absent)."""
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistInfo()
    rank = _env_int("RANK", None)
    local_rank = _env_int("LOCAL_RANK", rank)
    if not 0 <= rank < world_size:
        raise TrainingError(f"RANK={rank} is outside WORLD_SIZE={world_size}; launch with torchrun")
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def init_distributed(device: torch.device | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment; a no-op for one process.

    ``device`` picks the backend (NCCL for CUDA, else Gloo) and, on CUDA, becomes the current
    device. An already initialised process group is reused.
    """
    info = dist_env()
    if not info.enabled:
        return info
    if dist.is_initialized():
        if dist.get_world_size() != info.world_size or dist.get_rank() != info.rank:
            raise TrainingError(
                f"a process group with rank {dist.get_rank()} of {dist.get_world_size()} exists, "
                f"but the environment says rank {info.rank} of {info.world_size}"
            )
        return info
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise TrainingError(
            f"WORLD_SIZE={info.world_size} but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set; launch with torchrun"
        )
    use_cuda = device is not None and device.type == "cuda"
    if use_cuda:
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend="nccl" if use_cuda else "gloo", rank=info.rank, world_size=info.world_size
    )
    return info


def shutdown_distributed() -> None:
    """Leave the process group (call once at the end of a data-parallel script)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op for one process)."""
    if info.enabled:
        dist.barrier()


def broadcast_modules(modules: Iterable[nn.Module], info: DistInfo) -> None:
    """Overwrite every parameter and buffer with rank 0's values."""
    if not info.enabled:
        return
    with torch.no_grad():
        for module in modules:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)


def all_reduce_gradients(params: Sequence[nn.Parameter], info: DistInfo) -> None:
    """Average ``.grad`` of ``params`` over all processes, in place.

    A parameter without a gradient on every process keeps ``grad=None`` (the optimizer skips
    it, as in one process); one with a gradient on some processes only gets zeros elsewhere.
    """
    if not info.enabled or not params:
        return
    device = params[0].device
    has_grad = torch.tensor([p.grad is not None for p in params], dtype=torch.uint8, device=device)
    dist.all_reduce(has_grad, op=dist.ReduceOp.MAX)
    grads = []
    for param, present in zip(params, has_grad.tolist()):
        if present and param.grad is None:
            param.grad = torch.zeros_like(param)
        if present:
            grads.append(param.grad)
    for bucket in _buckets(grads):
        flat = torch.cat([g.reshape(-1) for g in bucket])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(info.world_size)
        offset = 0
        for grad in bucket:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()


def gather_rng(state: RngState, info: DistInfo, device: torch.device) -> list[RngState]:
    """Every rank's RNG state, in rank order (collective: all ranks must call it)."""
    if not info.enabled:
        return [state]
    gathered: list[RngState] = [{} for _ in range(info.world_size)]
    for key in sorted(state):
        local = state[key].to(device)
        parts = [torch.empty_like(local) for _ in range(info.world_size)]
        dist.all_gather(parts, local)
        for rank, part in enumerate(parts):
            gathered[rank][key] = part.cpu()
    return gathered


def _buckets(grads: list[torch.Tensor]) -> Iterable[list[torch.Tensor]]:
    """Group gradients of one dtype into buckets of at most ``_BUCKET_ELEMENTS`` elements."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for grad in grads:
        by_dtype.setdefault(grad.dtype, []).append(grad)
    for same_dtype in by_dtype.values():
        bucket: list[torch.Tensor] = []
        size = 0
        for grad in same_dtype:
            if bucket and size + grad.numel() > _BUCKET_ELEMENTS:
                yield bucket
                bucket, size = [], 0
            bucket.append(grad)
            size += grad.numel()
        if bucket:
            yield bucket


def _env_int(name: str, default: int | None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        if default is None:
            raise TrainingError(f"{name} is not set; launch data-parallel training with torchrun")
        return default
    try:
        return int(raw)
    except ValueError:
        raise TrainingError(f"environment variable {name}={raw!r} is not an integer") from None
