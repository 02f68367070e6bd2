"""Data parallel on CPU: 2 processes (Gloo, torchrun's environment) == one process on the full batch.

The workers are forked from the test process (torch is already imported there, so they start
in milliseconds) and given exactly the environment torchrun sets: RANK, LOCAL_RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import traceback
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import TensorDataset

from voicegen.errors import TrainingError
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.distributed import DistInfo, all_reduce_gradients, dist_env, shutdown_distributed
from voicegen.train.trainer import Trainer

STEPS = 3
PER_RANK_BATCH = 2
WORLD_SIZE = 2
WORKER_TIMEOUT_S = 60


def make_dataset() -> TensorDataset:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(12, 5, generator=generator)
    return TensorDataset(x, x @ torch.randn(5, 2, generator=generator))


class TwoPhaseTask:
    """Two optimizers, one mean-reduced loss each."""

    def __init__(self, rank: int) -> None:
        torch.manual_seed(rank)  # different on each rank: the Trainer must broadcast rank 0's
        self.encoder = nn.Linear(5, 3)
        self.head = nn.Linear(3, 2)

    def modules(self):
        return {"encoder": self.encoder, "head": self.head}

    def optimizer_groups(self):
        return {"head": ["head"], "encoder": ["encoder"]}

    def losses(self, phase, batch, step):
        x, y = batch
        return {"mse": ((self.head(torch.tanh(self.encoder(x))) - y) ** 2).mean()}


def make_config(batch_size: int) -> TrainerConfig:
    return TrainerConfig(
        max_steps=STEPS, batch_size=batch_size, device="cpu", log_every=1, checkpoint_every=0,
        progress=False, tensorboard=False,
        optimizers={"head": OptimizerConfig(lr=0.05), "encoder": OptimizerConfig(lr=0.05)},
    )


def flat_params(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {f"{name}.{key}": value.detach().clone()
            for name, module in trainer.modules.items() for key, value in module.state_dict().items()}


def _worker(rank: int, port: int, out_dir: str) -> None:
    try:
        os.environ.update({
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(WORLD_SIZE),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
        })
        torch.set_num_threads(1)
        run_dir = Path(out_dir) / "run"
        trainer = Trainer(TwoPhaseTask(rank), make_dataset(), make_config(PER_RANK_BATCH), run_dir)
        trainer.fit(resume=False)
        save_file(flat_params(trainer), str(Path(out_dir) / f"rank{rank}.safetensors"))
        shutdown_distributed()
    except BaseException:
        (Path(out_dir) / f"rank{rank}.error").write_text(traceback.format_exc())
        os._exit(1)
    os._exit(0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_cpu_processes_match_one_process_on_the_full_batch(tmp_path) -> None:
    # The reference first: it also pays torch's one-off optimizer imports before the fork.
    initial = {f"{n}.{k}": v.detach().clone() for n, m in TwoPhaseTask(0).modules().items()
               for k, v in m.state_dict().items()}
    full_batch = make_config(PER_RANK_BATCH * WORLD_SIZE)
    single = Trainer(TwoPhaseTask(0), make_dataset(), full_batch, tmp_path / "single")
    single.fit(resume=False)
    reference = flat_params(single)

    context = multiprocessing.get_context("fork")
    port = free_port()
    workers = [context.Process(target=_worker, args=(rank, port, str(tmp_path)))
               for rank in range(WORLD_SIZE)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WORKER_TIMEOUT_S)
    for rank, worker in enumerate(workers):
        if worker.is_alive():
            worker.kill()
        error = tmp_path / f"rank{rank}.error"
        detail = error.read_text() if error.exists() else f"rank {rank}: exit code {worker.exitcode}"
        assert worker.exitcode == 0, detail

    rank0 = load_file(tmp_path / "rank0.safetensors")
    rank1 = load_file(tmp_path / "rank1.safetensors")
    assert set(rank0) == set(reference)
    for name, value in reference.items():
        assert torch.equal(rank0[name], rank1[name]), name
        assert torch.allclose(rank0[name], value, atol=1e-6, rtol=0), name
        assert not torch.allclose(value, initial[name], atol=1e-3), name  # training moved it
    # Only rank 0 logs and checkpoints; it logged the same (global-batch) losses as one process.
    run_dir = tmp_path / "run"
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    single_rows = [json.loads(line) for line in (tmp_path / "single/metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    for row, single_row in zip(rows, single_rows):
        for key in ("head/mse", "encoder/mse", "grad_norm/head", "grad_norm/encoder"):
            assert row[key] == pytest.approx(single_row[key], rel=1e-5), key
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == [f"step_{STEPS:08d}.safetensors"]


def test_single_process_helpers_are_no_ops(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = dist_env()
    assert info == DistInfo() and not info.enabled and info.is_main
    param = torch.nn.Parameter(torch.ones(2))
    param.grad = torch.full((2,), 3.0)
    all_reduce_gradients([param], info)
    assert torch.equal(param.grad, torch.full((2,), 3.0))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(TrainingError, match="RANK=2 is outside WORLD_SIZE=2; launch with torchrun"):
        dist_env()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.delenv("MASTER_PORT", raising=False)
    from voicegen.train.distributed import init_distributed

    with pytest.raises(TrainingError, match="WORLD_SIZE=2 but MASTER_PORT is not set; launch with torchrun"):
        init_distributed(torch.device("cpu"))
