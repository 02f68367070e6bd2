"""Moving averages of weights and the best validated step: what validation sees, what ships, resume."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from voicegen.checkpoint import list_checkpoints, load_training_checkpoint
from voicegen.errors import ConfigError
from voicegen.train.averaging import ModuleEMA
from voicegen.train.config import TrainerConfig
from voicegen.train.run import run_trainer
from voicegen.train.trainer import Trainer


def pairs(items: int = 8) -> TensorDataset:
    x = torch.randn(items, 4, generator=torch.Generator().manual_seed(1))
    return TensorDataset(x, 0.5 * x)


class Regression:
    """One linear module; validate() reports the squared weight distance to a planted per-step score."""

    def __init__(self, scores: dict[int, float] | None = None) -> None:
        torch.manual_seed(0)
        self.net = nn.Linear(4, 4)
        self.scores = scores or {}
        self.seen: dict[int, torch.Tensor] = {}  # step -> weights validation saw

    def modules(self):
        return {"net": self.net}

    def optimizer_groups(self):
        return {"opt": ["net"]}

    def losses(self, phase, batch, step):
        x, y = batch
        return {"mse": (self.net(x) - y).square().mean()}

    def validate(self, batch, step, logger):
        self.seen[step] = self.net.weight.detach().clone()
        return {"score": self.scores.get(step, 10.0), "mse": float((self.net(batch[0]) - batch[1]).square().mean())}


def cfg(**overrides) -> TrainerConfig:
    base = dict(max_steps=12, batch_size=2, device="cpu", log_every=4, checkpoint_every=4, keep_last=1,
                progress=False, tensorboard=False, val_every=4)
    return TrainerConfig(**{**base, **overrides})


@dataclass
class RunConfig:
    """The smallest run config run_trainer accepts: a ``trainer`` section (saved as config.yaml)."""

    trainer: TrainerConfig


def Run(task, **overrides) -> RunConfig:  # noqa: N802  (reads like the run configs it stands for)
    return RunConfig(cfg(**overrides))


def test_the_average_moves_slower_than_the_weights_and_is_what_validation_sees_and_ships(tmp_path) -> None:
    task = Regression()
    run = Run(task, ema_decay=0.9, ema_modules=["net"])
    trainer = run_trainer(task, pairs(), run, tmp_path / "run", resume=False, val_dataset=pairs(2),
                          command="test", summary="test")
    state = load_training_checkpoint(list_checkpoints(tmp_path / "run")[-1])
    raw, averaged = state["modules"]["net"]["weight"], state["ema"]["modules"]["net"]["weight"]
    assert not torch.allclose(raw, averaged)  # the average lags the weights
    assert torch.equal(task.seen[12], averaged)  # validation ran on the averages
    assert torch.equal(task.net.weight.detach(), averaged)  # and they are what run_trainer leaves to export
    assert trainer.ema is not None and trainer.ema.updates == 12


def test_ema_update_rule() -> None:
    live = nn.Linear(2, 1)
    ema = ModuleEMA({"m": live}, decay=0.5)
    start = live.weight.detach().clone()
    with torch.no_grad():
        live.weight.add_(1.0)
    ema.update()  # first update: d = min(0.5, 1 / 10) = 0.1
    assert torch.allclose(ema.averages["m"].weight, 0.1 * start + 0.9 * live.weight)
    with pytest.raises(ConfigError, match=r"ema_decay must be in \(0, 1\)"):
        ModuleEMA({"m": live}, decay=1.0)


def test_the_best_step_by_the_logged_metric_is_kept_and_exported(tmp_path) -> None:
    task = Regression(scores={4: 3.0, 8: 1.0, 12: 2.0})  # step 8 is best
    run = Run(task, best_metric="score", best_mode="min")
    run_trainer(task, pairs(), run, tmp_path / "run", resume=False, val_dataset=pairs(2), command="t", summary="t")
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert (best["step"], best["value"], best["metric"]) == (8, 1.0, "score")
    steps = sorted(int(p.stem.split("_")[1]) for p in list_checkpoints(tmp_path / "run"))
    assert steps == [8, 12]  # keep_last 1 rotates step 4 away but never the best step
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["val/score"] for r in logged if "val/score" in r] == [3.0, 1.0, 2.0]
    assert torch.equal(task.net.weight.detach(), task.seen[8])  # the weights validated at step 8 ship


def test_best_and_ema_survive_resume_exactly(tmp_path) -> None:
    scores = {4: 3.0, 8: 1.0, 12: 2.0}
    whole = Regression(scores)
    run_trainer(whole, pairs(), Run(whole, ema_decay=0.9, ema_modules=["net"], best_metric="score"),
                tmp_path / "a", resume=False, val_dataset=pairs(2), command="t", summary="t")
    first = Regression(scores)
    Trainer(first, pairs(), cfg(max_steps=6, ema_decay=0.9, ema_modules=["net"], best_metric="score",
                                checkpoint_every=2, keep_last=5), tmp_path / "b", val_dataset=pairs(2)).fit()
    second = Regression(scores)
    run_trainer(second, pairs(), Run(second, ema_decay=0.9, ema_modules=["net"], best_metric="score",
                                     checkpoint_every=2, keep_last=5),
                tmp_path / "b", resume=True, val_dataset=pairs(2), command="t", summary="t")
    assert torch.equal(second.net.weight, whole.net.weight)
    assert json.loads((tmp_path / "b" / "best.json").read_text())["step"] == 8


def test_config_mistakes_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="ema_decay and trainer.ema_modules go together"):
        cfg(ema_decay=0.99)
    with pytest.raises(ConfigError, match="best_metric needs validation"):
        cfg(best_metric="score", val_every=0)
    with pytest.raises(ConfigError, match=r"ema_modules \['gen'\] are not trained modules of the task"):
        Trainer(Regression(), pairs(), cfg(ema_decay=0.9, ema_modules=["gen"]), tmp_path / "x", val_dataset=pairs(2))
    with pytest.raises(ConfigError, match="best_metric 'mcd' is not a validation metric; choose one of mse, score"):
        Trainer(Regression(), pairs(), cfg(best_metric="mcd"), tmp_path / "y", val_dataset=pairs(2)).fit()


def test_a_time_budget_becomes_max_steps_from_a_measured_rate(tmp_path) -> None:
    import time

    from voicegen.train.run import calibrate_max_steps

    class Slow(Regression):
        def losses(self, phase, batch, step):
            time.sleep(0.02)  # a step that costs 20 ms, far above the trainer's own overhead
            return super().losses(phase, batch, step)

    task = Slow()
    before = task.net.weight.detach().clone()
    steps = calibrate_max_steps(task, pairs(), cfg(), minutes=0.05)  # 3 s, 90 % of it for training
    assert 0.6 * 135 < steps < 1.1 * 135
    assert torch.equal(task.net.weight, before)  # the probe trains a copy
    with pytest.raises(ConfigError, match="--minutes must be > 0"):
        calibrate_max_steps(task, pairs(), cfg(), minutes=0)
