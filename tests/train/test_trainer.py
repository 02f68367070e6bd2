"""The generic Trainer: phases, loss weights, NaN guard, logging, checkpoints, data order, devices."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from voicegen.checkpoint import list_checkpoints, load_training_checkpoint
from voicegen.errors import ConfigError, TrainingError
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.data import ResumableBatchSampler, item_seed
from voicegen.train.device import resolve_device
from voicegen.train.logging import Logger
from voicegen.train.optim import lr_factor
from voicegen.train.trainer import Trainer

SAMPLE_RATE = 8000


def pairs(items: int = 8, dim: int = 4) -> TensorDataset:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(items, dim, generator=generator)
    return TensorDataset(x, 0.5 * x)


def config(**overrides) -> TrainerConfig:
    base = dict(max_steps=6, batch_size=2, device="cpu", log_every=1, checkpoint_every=0,
                progress=False, tensorboard=False)
    return TrainerConfig(**{**base, **overrides})


class GanTask:
    """Generator + discriminator, two phases; validate() logs audio and a figure."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.gen = nn.Linear(4, 4)
        self.disc = nn.Linear(4, 1)

    def modules(self):
        return {"gen": self.gen, "disc": self.disc}

    def optimizer_groups(self):
        return {"disc": ["disc"], "gen": ["gen"]}

    def losses(self, phase, batch, step):
        x, y = batch
        if phase == "disc":
            self.fake = self.gen(x)
            real = ((self.disc(y) - 1) ** 2).mean()
            return {"real": real, "fake": (self.disc(self.fake.detach()) ** 2).mean()}
        return {"adv": ((self.disc(self.fake) - 1) ** 2).mean(), "rec": (self.fake - y).abs().mean()}

    def validate(self, batch, step, logger):
        import matplotlib.figure

        x, y = batch
        wav = torch.tanh(self.gen(x)).reshape(-1).repeat(100)
        logger.audio("val/wav", wav, SAMPLE_RATE, step)
        fig = matplotlib.figure.Figure(figsize=(2, 2))
        fig.add_subplot().plot(wav.numpy())
        logger.figure("val/plot", fig, step)
        return {"rec": float((self.gen(x) - y).abs().mean())}


def read_metrics(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_gan_task_trains_logs_and_prunes_checkpoints(tmp_path) -> None:
    task = GanTask()
    before = {name: m.weight.detach().clone() for name, m in task.modules().items()}
    cfg = config(checkpoint_every=2, keep_last=2, tensorboard=True, val_every=3, log_every=2,
                 optimizers={"gen": OptimizerConfig(lr=1e-2), "disc": OptimizerConfig(lr=1e-2)})
    trainer = Trainer(task, pairs(), cfg, tmp_path, val_dataset=pairs(items=2))
    final = trainer.fit(resume=False)

    for name, module in task.modules().items():  # both optimizers stepped, 6 times each
        assert not torch.equal(module.weight, before[name]), name
        state = trainer.optimizers[name].state_dict()["state"]
        assert all(float(s["step"]) == 6 for s in state.values())
    rows = read_metrics(tmp_path)
    train_rows = [r for r in rows if "gen/adv" in r]
    assert [r["step"] for r in train_rows] == [2, 4, 6]
    for key in ("disc/real", "disc/fake", "gen/adv", "gen/rec", "grad_norm/gen", "grad_norm/disc",
                "lr/gen", "lr/disc", "steps_per_s", "epoch"):
        assert key in train_rows[0], key
    assert train_rows[0]["lr/gen"] == pytest.approx(1e-2)
    val_rows = [r for r in rows if "val/rec" in r]
    assert [r["step"] for r in val_rows] == [3, 6]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "samples/step_00000006/val_wav.wav").stat().st_size > 44
    assert (tmp_path / "samples/step_00000006/val_plot.png").read_bytes()[:4] == b"\x89PNG"
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["step_00000004.safetensors", "step_00000006.safetensors"]
    assert final == list_checkpoints(tmp_path)[-1]
    state = load_training_checkpoint(final)
    assert state["step"] == 6 and (state["epoch"], state["position"]) == (1, 2)  # 4 batches per epoch
    assert torch.equal(state["modules"]["gen"]["weight"], task.gen.weight.detach())


class LinearLossTask:
    """Losses a = 2*sum(w), b = sum(w): d(a)/dw = 2 per element, d(b)/dw = 1 (w has 4 elements)."""

    def __init__(self) -> None:
        self.net = nn.Linear(4, 1, bias=False)

    def modules(self):
        return {"net": self.net}

    def optimizer_groups(self):
        return {"main": ["net"]}

    def losses(self, phase, batch, step):
        return {"a": 2 * self.net.weight.sum(), "b": self.net.weight.sum()}


@pytest.mark.parametrize(
    ("weights", "expected_norm"),
    [({}, 3 * 2.0), ({"a": 3.0, "b": 0.0}, 6 * 2.0), ({"main/b": 2.0, "b": 5.0}, 4 * 2.0)],
)
def test_loss_weights_scale_gradients(tmp_path, weights, expected_norm) -> None:
    trainer = Trainer(LinearLossTask(), pairs(), config(max_steps=1, loss_weights=weights), tmp_path)
    trainer.fit(resume=False)
    (row,) = read_metrics(tmp_path)
    # per-element gradient g over 4 elements: norm = 2 * g; losses stay logged even at weight 0
    assert row["grad_norm/main"] == pytest.approx(expected_norm)
    assert row["main/a"] == pytest.approx(row["main/b"] * 2)


def test_misspelled_loss_weight_is_an_error(tmp_path) -> None:
    cfg = config(loss_weights={"a": 1.0, "main/bb": 2.0})
    with pytest.raises(TrainingError, match=re.escape(
        "trainer.loss_weights has 'main/bb' but no phase produced such a loss (produced: main/a, main/b)"
    )):
        Trainer(LinearLossTask(), pairs(), cfg, tmp_path).fit(resume=False)


class LateLossTask(LinearLossTask):
    """Loss ``late`` appears only from step 3 on; ``loss_names()`` declares it up front."""

    def losses(self, phase, batch, step):
        losses = super().losses(phase, batch, step)
        if step >= 3:
            losses["late"] = 10 * self.net.weight.sum()
        return losses

    def loss_names(self):
        return {"main": ["a", "b", "late"]}


def test_declared_late_loss_weight_is_accepted_and_applied(tmp_path) -> None:
    trainer = Trainer(LateLossTask(), pairs(), config(max_steps=4, loss_weights={"late": 0.5}), tmp_path)
    trainer.fit(resume=False)
    rows = read_metrics(tmp_path)
    assert [("main/late" in row) for row in rows] == [False, False, True, True]
    # gradient per element: 2 + 1 (+ 0.5 * 10 from step 3), over 4 elements
    assert [row["grad_norm/main"] for row in rows] == pytest.approx([6.0, 6.0, 16.0, 16.0])


class NanAtStepTask(GanTask):
    def __init__(self, phase: str, name: str) -> None:
        super().__init__()
        self.nan_phase, self.nan_name = phase, name

    def losses(self, phase, batch, step):
        out = super().losses(phase, batch, step)
        if phase == self.nan_phase and step == 5:
            out[self.nan_name] = out[self.nan_name] * math.inf * 0.0
        return out


@pytest.mark.parametrize(("phase", "name", "applied"), [("disc", "fake", []), ("gen", "rec", ["disc"])])
def test_nan_loss_saves_last_good_state_and_stops(tmp_path, phase, name, applied) -> None:
    task = NanAtStepTask(phase, name)
    trainer = Trainer(task, pairs(), config(max_steps=10, checkpoint_every=3, amp=True), tmp_path)
    with pytest.raises(TrainingError) as caught:
        trainer.fit(resume=False)
    message = str(caught.value)
    match = re.fullmatch(
        rf"non-finite loss '{phase}/{name}' at step 5; saved checkpoint (\S+); "
        r"lower the learning rate or enable grad clipping", message)
    assert match, message
    assert match.group(1).endswith("step_00000004.safetensors")
    state = load_training_checkpoint(match.group(1))
    assert state["step"] == 4 and state["partial_step_phases"] == applied
    assert (state["epoch"], state["position"]) == (1, 0)  # 4 batches per epoch: batch 5 not consumed
    for module_name, module in task.modules().items():  # the checkpoint is the state the run stopped in
        assert torch.equal(state["modules"][module_name]["weight"], module.weight.detach()), module_name
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4]


def test_amp_on_cpu_is_ignored_with_a_note(tmp_path, capsys) -> None:
    Trainer(LinearLossTask(), pairs(), config(max_steps=1, amp=True), tmp_path).fit(resume=False)
    assert "note: amp is ignored on cpu; mixed precision runs on CUDA only" in capsys.readouterr().out


def test_fresh_start_and_resume_flags(tmp_path) -> None:
    with pytest.raises(TrainingError, match="has no training checkpoint"):
        Trainer(LinearLossTask(), pairs(), config(max_steps=2), tmp_path).fit(resume=True)
    Trainer(LinearLossTask(), pairs(), config(max_steps=2), tmp_path).fit(resume=False)
    with pytest.raises(TrainingError, match="already has training checkpoints"):
        Trainer(LinearLossTask(), pairs(), config(max_steps=4), tmp_path).fit(resume=False)
    trainer = Trainer(LinearLossTask(), pairs(), config(max_steps=4), tmp_path)
    trainer.fit(resume="auto")
    assert trainer.step == 4 and [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4]


def test_task_and_config_mistakes_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="trainer.optimizers has 'generator' but the task's optimizers are main"):
        Trainer(LinearLossTask(), pairs(), config(optimizers={"generator": OptimizerConfig()}), tmp_path)
    with pytest.raises(ConfigError, match="trainer.val_every is 2 but no val_dataset was given"):
        Trainer(LinearLossTask(), pairs(), config(val_every=2), tmp_path)
    with pytest.raises(TrainingError, match="fewer than one batch of 16 x 1 process"):
        Trainer(LinearLossTask(), pairs(), config(batch_size=16), tmp_path)
    with pytest.raises(ConfigError, match=r"trainer.optimizers.g.lr must be > 0, got -1"):
        TrainerConfig(max_steps=1, batch_size=1, optimizers={"g": OptimizerConfig(lr=-1.0)})
    with pytest.raises(ConfigError, match=r"trainer.optimizers.g.betas must be two numbers in \[0, 1\)"):
        TrainerConfig(max_steps=1, batch_size=1, optimizers={"g": OptimizerConfig(betas=(0.9, 1.0))})
    with pytest.raises(ConfigError, match="trainer.loss_weights.mel must be a finite number >= 0, got -1"):
        TrainerConfig(max_steps=1, batch_size=1, loss_weights={"mel": -1.0})
    assert OptimizerConfig(betas=[0.5, 0.9]).betas == (0.5, 0.9)


def test_sampler_shards_resumes_and_seeds_by_position() -> None:
    full = ResumableBatchSampler(20, 4, seed=7, with_seeds=True)
    ranks = [ResumableBatchSampler(20, 2, seed=7, rank=r, world_size=2, with_seeds=True) for r in range(2)]
    for epoch in (0, 1):
        for sampler in (full, *ranks):
            sampler.set_position(epoch, 0)
        joined = [a + b for a, b in zip(*(list(s) for s in ranks))]
        assert joined == list(full)  # the two ranks see exactly the single-process batches
    full.set_position(1, 0)
    everything = list(full)
    full.set_position(1, 3)
    assert list(full) == everything[3:] and len(full) == 2
    assert sorted(i for batch in everything for i, _ in batch) == sorted(range(20))
    assert everything[0][1] == (everything[0][1][0], item_seed(7, 1, 1))
    full.set_position(0, 0)
    assert [i for i, _ in next(iter(full))] != [i for i, _ in everything[0]]  # epochs differ


def test_resolve_device(monkeypatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"device 'cuda:1' requested but CUDA is not available .*; use device: cpu"):
        resolve_device("cuda:1")
    with pytest.raises(ConfigError, match="device must be auto, cpu, cuda, cuda:<index> or mps; got 'gpu0'"):
        resolve_device("gpu0")


def test_schedules() -> None:
    assert lr_factor(OptimizerConfig(scheduler="exponential", gamma=0.5), 10)(3) == 0.125
    linear = lr_factor(OptimizerConfig(scheduler="linear_decay", decay_start=2), 10)
    assert [linear(s) for s in (0, 2, 6, 10, 12)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ConfigError, match="linear_decay starts at step 10 but max_steps is 10"):
        lr_factor(OptimizerConfig(scheduler="linear_decay", decay_start=10), 10)


def test_logger_files(tmp_path) -> None:
    logger = Logger(tmp_path, tensorboard=False)
    logger.scalars(3, {"loss": 1.5, "bad": math.nan})
    (row,) = read_metrics(tmp_path)
    assert row["step"] == 3 and row["loss"] == 1.5 and row["bad"] is None
    wav = np.sin(np.linspace(0, 100, 800)).astype(np.float32)
    path = logger.audio("a/b c", wav[None], SAMPLE_RATE, 12)
    assert path == tmp_path / "samples/step_00000012/a_b_c.wav"
    import soundfile

    back, rate = soundfile.read(path)
    assert rate == SAMPLE_RATE and np.abs(back - wav).max() < 1e-4
    assert logger.text("notes", "hello", 12).read_text() == "hello"
    assert Logger(tmp_path / "off", enabled=False).audio("x", wav, SAMPLE_RATE, 1) is None
    assert not (tmp_path / "off").exists()
