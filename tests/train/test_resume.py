"""Exact resume: an interrupted-and-resumed run ends bit-for-bit where an uninterrupted one does.

The task uses dropout, torch/numpy/python randomness in its losses, two optimizers (GAN-like,
with clipping, a schedule and a loss weight) and a dataset with seeded random crops; the run
crosses epoch boundaries and is interrupted mid-epoch, after a checkpoint, partway through a step.
"""

from __future__ import annotations

import os
import random
import signal

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from voicegen.checkpoint import list_checkpoints, load_training_checkpoint
from voicegen.errors import TrainingInterrupted
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.trainer import Trainer

MAX_STEPS = 8
CHECKPOINT_EVERY = 4  # dataset 10 items / batch 3 -> 3 batches per epoch: step 4 is mid-epoch
CRASH_AT = 6


class CropDataset(Dataset):
    """Random 8-sample crops of fixed signals; all randomness comes from the item seed."""

    takes_seed = True
    crop = 8

    def __init__(self, items: int = 10, length: int = 24) -> None:
        self.signals = torch.randn(items, length, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.signals)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key
        generator = torch.Generator().manual_seed(seed)
        start = int(torch.randint(0, self.signals.shape[1] - self.crop + 1, (1,), generator=generator))
        x = self.signals[index, start : start + self.crop]
        return {"x": x, "y": torch.roll(x, 1) * 0.5}


class CrashError(RuntimeError):
    pass


class TinyGanTask:
    def __init__(self, crash_at: int | None = None) -> None:
        torch.manual_seed(0)
        self.gen = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.3), nn.Tanh(), nn.Linear(16, 8))
        self.disc = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Linear(16, 1))
        self.crash_at = crash_at

    def modules(self) -> dict[str, nn.Module]:
        return {"gen": self.gen, "disc": self.disc}

    def optimizer_groups(self) -> dict[str, list[str]]:
        return {"disc": ["disc"], "gen": ["gen"]}

    def losses(self, phase: str, batch: dict, step: int) -> dict[str, torch.Tensor]:
        if phase == "disc":
            # Draw from all three global generators so that their resume is tested too.
            scale = 0.1 * float(np.random.rand()) + 0.1 * random.random()
            self.fake = self.gen(batch["x"] + scale * torch.randn_like(batch["x"]))
            real = self.disc(batch["y"])
            fake = self.disc(self.fake.detach())
            return {"real": ((real - 1) ** 2).mean(), "fake": (fake**2).mean()}
        if step == self.crash_at:
            raise CrashError("simulated crash")
        adv = ((self.disc(self.fake) - 1) ** 2).mean()
        return {"adv": adv, "rec": (self.fake - batch["y"]).abs().mean()}


def make_config(num_workers: int) -> TrainerConfig:
    return TrainerConfig(
        max_steps=MAX_STEPS, batch_size=3, num_workers=num_workers, device="cpu", log_every=3,
        checkpoint_every=CHECKPOINT_EVERY, keep_last=5, progress=False, tensorboard=False,
        loss_weights={"rec": 10.0, "gen/adv": 0.5},
        optimizers={
            "disc": OptimizerConfig(lr=1e-2),
            "gen": OptimizerConfig(kind="adamw", lr=1e-2, weight_decay=0.01, grad_clip=0.05,
                                   scheduler="exponential", gamma=0.9),
        },
    )


def assert_same(a, b, where: str = "state") -> None:
    """Recursive bit-for-bit equality of nested state dicts."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def final_state(trainer: Trainer) -> dict:
    return {
        "modules": {n: m.state_dict() for n, m in trainer.modules.items()},
        "optimizers": {n: o.state_dict() for n, o in trainer.optimizers.items()},
        "schedulers": {n: s.state_dict() for n, s in trainer.schedulers.items()},
        "torch_rng": torch.get_rng_state(),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """An uninterrupted run without workers."""
    trainer = Trainer(TinyGanTask(), CropDataset(), make_config(0), tmp_path_factory.mktemp("ref"))
    trainer.fit(resume=False)
    return final_state(trainer)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_interrupted_run_resumes_bit_for_bit(reference, tmp_path, num_workers) -> None:
    run_dir = tmp_path / "run"
    crashed = Trainer(TinyGanTask(crash_at=CRASH_AT), CropDataset(), make_config(num_workers), run_dir)
    with pytest.raises(CrashError):
        crashed.fit(resume="auto")
    assert [p.name for p in list_checkpoints(run_dir)] == ["step_00000004.safetensors"]
    saved = load_training_checkpoint(list_checkpoints(run_dir)[0])
    assert (saved["step"], saved["epoch"], saved["position"]) == (4, 1, 1)
    del crashed

    # A fresh process would rebuild everything: new task (re-initialised weights), new Trainer.
    torch.manual_seed(999)  # whatever the global RNG holds now must not matter
    resumed = Trainer(TinyGanTask(), CropDataset(), make_config(num_workers), run_dir)
    resumed.fit(resume=True)
    assert resumed.step == MAX_STEPS
    assert_same(reference, final_state(resumed))


def test_resume_detects_changed_task(tmp_path) -> None:
    from voicegen.errors import TrainingError

    config = make_config(0)
    config.max_steps = 2
    Trainer(TinyGanTask(), CropDataset(), config, tmp_path).fit(resume=False)

    class WiderTask(TinyGanTask):
        def __init__(self) -> None:
            super().__init__()
            self.gen = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 8))

    with pytest.raises(TrainingError, match=r"does not fit module 'gen': Error\(s\) in loading state_dict"):
        Trainer(WiderTask(), CropDataset(), config, tmp_path).fit(resume=True)


class SignalAtStepTask(TinyGanTask):
    """Sends this process ``signum`` during the generator phase of ``step`` (as Ctrl-C / kill would)."""

    def __init__(self, step: int, signum: int) -> None:
        super().__init__()
        self.signal_step, self.signum = step, signum

    def losses(self, phase: str, batch: dict, step: int) -> dict[str, torch.Tensor]:
        if phase == "gen" and step == self.signal_step:
            os.kill(os.getpid(), self.signum)
        return super().losses(phase, batch, step)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_saves_a_checkpoint_of_the_finished_step_and_resumes_exactly(reference, tmp_path,
                                                                                    signum) -> None:
    run_dir = tmp_path / "run"
    stopped = Trainer(SignalAtStepTask(CRASH_AT, signum), CropDataset(), make_config(0), run_dir)
    # As in a terminal: a test run started in the background may have inherited SIGINT ignored,
    # which the trainer (rightly) leaves alone.
    inherited = signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
    try:
        previous = signal.getsignal(signum)
        with pytest.raises(TrainingInterrupted) as info:
            stopped.fit(resume="auto")
        assert signal.getsignal(signum) is previous  # handlers restored
    finally:
        signal.signal(signum, inherited)
    name = signal.Signals(signum).name
    assert str(info.value) == (f"stopped by {name} at step {CRASH_AT}; checkpoint {run_dir / 'checkpoints' / 'step_00000006.safetensors'}; "
                               "run the same command to resume")
    assert [p.name for p in list_checkpoints(run_dir)] == ["step_00000004.safetensors", "step_00000006.safetensors"]
    resumed = Trainer(TinyGanTask(), CropDataset(), make_config(0), run_dir)
    resumed.fit(resume=True)
    assert_same(reference, final_state(resumed))  # the step in flight was finished, nothing lost or repeated


def test_a_signal_ignored_by_the_parent_stays_ignored() -> None:
    from voicegen.train.stop import StopRequest

    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a job started in the background
    try:
        with StopRequest():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # still handled
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)
