"""The one generic Trainer: every model family only supplies a ``TrainTask``.

One step = one batch through every optimizer phase, in ``task.optimizer_groups()`` order.
Per phase: zero all gradients; ``task.losses(phase, batch, step)`` under autocast; weighted sum
by ``loss_weights``; non-finite guard (checkpoint of the last good state, then ``TrainingError``);
backward (GradScaler for float16 AMP); gradient all-reduce across processes; unscale; clip and
measure the gradient norm; optimizer step; scheduler step. Logged as ``<phase>/<name>``,
``grad_norm/<optimizer>``, ``lr/<optimizer>``, ``steps_per_s`` and ``epoch``.

Resume is exact on CPU: checkpoints hold modules, optimizers, schedulers, scaler, data position
and every RNG state, and nothing else in the loop draws randomness (data order and per-item
augmentation seeds are pure functions of ``seed``; see ``voicegen.train.data``). On CUDA,
non-deterministic kernels make it close rather than bit-for-bit.

Data parallel: launch the same script with ``torchrun --nproc_per_node N``; see
``voicegen.train.distributed``. All processes must read the run directory (shared file system).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from voicegen.checkpoint import load_training_checkpoint, save_training_checkpoint
from voicegen.errors import TrainingError, TrainingInterrupted
from voicegen.train import distributed
from voicegen.train.averaging import BestStep, build_ema, export_weights
from voicegen.train.config import TrainerConfig
from voicegen.train.data import (
    ResumableBatchSampler,
    build_loader,
    dataset_length,
    dataset_takes_seed,
    validation_loader,
)
from voicegen.train.device import amp_enabled, autocast, move_to_device, resolve_device
from voicegen.train.logging import Logger, ProgressBar, ScalarMeter
from voicegen.train.optim import build_optimizers
from voicegen.train.rng import capture_rng, restore_rng, seed_everything
from voicegen.train.state import build_state, check_resume, restore_state
from voicegen.train.stop import StopRequest
from voicegen.train.task import TrainTask, check_task
from voicegen.train.weighting import LossWeights, loss_values


class Trainer:
    """Train ``task`` on ``dataset`` as configured, writing everything under ``run_dir``.

    ``dataset`` is a map-style torch Dataset (``takes_seed = True`` for seeded augmentation);
    ``val_dataset`` is used every ``config.val_every`` steps through ``task.validate``.
    """

    def __init__(
        self,
        task: TrainTask,
        dataset: Dataset,
        config: TrainerConfig,
        run_dir: str | Path,
        *,
        val_dataset: Dataset | None = None,
    ) -> None:
        self.task = task
        self.config = config
        self.run_dir = Path(run_dir)
        env = distributed.dist_env()
        self.device = resolve_device(config.device, env.local_rank if env.enabled else None)
        self.dist = distributed.init_distributed(self.device)
        self.logger = Logger(self.run_dir, enabled=self.dist.is_main, tensorboard=config.tensorboard)
        self.amp = amp_enabled(config.amp, self.device)
        if config.amp and not self.amp:
            self.logger.info(f"note: amp is ignored on {self.device.type}; mixed precision runs on CUDA only")

        self.modules, self.groups = check_task(task, config.optimizers)
        for module in self.modules.values():
            module.to(self.device)
        distributed.broadcast_modules(self.modules.values(), self.dist)
        self.trainable = [name for names in self.groups.values() for name in names]
        self.params, self.optimizers, self.schedulers, self.grad_clip = build_optimizers(
            config, self.groups, self.modules)
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.amp and config.amp_dtype == "float16"
        )
        self.weights = LossWeights(config.loss_weights)
        self.ema = build_ema(config.ema_modules, config.ema_decay, self.modules, self.trainable)
        self.best = BestStep(config.best_metric, config.best_mode) if config.best_metric else None

        self.num_items = dataset_length(dataset, "training")
        self.sampler = ResumableBatchSampler(
            self.num_items, config.batch_size, seed=config.seed, rank=self.dist.rank,
            world_size=self.dist.world_size, with_seeds=dataset_takes_seed(dataset),
        )
        pin = self.device.type == "cuda"
        self.loader = build_loader(
            dataset, self.sampler, num_workers=config.num_workers, seed=config.seed, pin_memory=pin
        )
        self.val_loader = validation_loader(config, task, val_dataset, pin_memory=pin)
        self.step = 0
        self.epoch = 0
        self.position = 0
        self.last_checkpoint: Path | None = None
        self._last_saved_step: int | None = None
        self._rng_at_step_start: dict[str, torch.Tensor] | None = None

    # ------------------------------------------------------------------ public
    def fit(self, resume: bool | Literal["auto"] = "auto") -> Path | None:
        """Train until ``config.max_steps``; return the final checkpoint path (``None`` off rank 0).

        ``resume``: ``"auto"`` continues from the latest checkpoint in ``run_dir`` if any;
        ``True`` requires one; ``False`` starts fresh and refuses a run_dir that has checkpoints.
        Ctrl-C / SIGTERM finish the current step, save a checkpoint and raise TrainingInterrupted.
        """
        self._start(resume)
        meter = ScalarMeter()
        bar = ProgressBar(
            self.config.max_steps, self.step, enabled=self.config.progress and self.dist.is_main
        )
        checked_weights = False
        self._declare_loss_names()
        tick = (time.perf_counter(), self.step)
        stop = StopRequest()
        with stop:
            self._loop(meter, bar, tick, checked_weights, stop)
        return self.last_checkpoint

    def _loop(self, meter: ScalarMeter, bar: ProgressBar, tick: tuple[float, int], checked_weights: bool,
              stop: StopRequest) -> None:
        try:
            while self.step < self.config.max_steps:
                self.sampler.set_position(self.epoch, self.position)
                for batch in self.loader:
                    self.position += 1
                    meter.add(self._train_step(batch))
                    bar.update()
                    if not checked_weights:
                        self.weights.check_all_used()
                        checked_weights = True
                    if self.step % self.config.log_every == 0 or self.step == self.config.max_steps:
                        tick = self._log(meter, bar, tick)
                    if self.config.val_every and self.step % self.config.val_every == 0:
                        self._validate()
                    every = self.config.checkpoint_every
                    if every and self.step % every == 0:
                        self._save(self.step)
                    if self._any_rank(stop.requested):
                        if self._last_saved_step != self.step:
                            self._save(self.step)
                        raise TrainingInterrupted(
                            f"stopped by {stop.name or 'a signal on another rank'} at step {self.step}; "
                            f"checkpoint {self.last_checkpoint}; run the same command to resume")
                    if self.step >= self.config.max_steps:
                        break
                if self.position >= self.sampler.batches_per_epoch:
                    self.epoch, self.position = self.epoch + 1, 0
            if self._last_saved_step != self.step:
                self._save(self.step)
        finally:
            bar.close()
            self.logger.close()

    def _declare_loss_names(self) -> None:
        """Mark the names a task declares via an optional ``loss_names()`` as legitimate weights.

        Some losses appear only later (e.g. adversarial terms after a warm-up); without this the
        first-step check would take their configured weights for typos.
        """
        declared = getattr(self.task, "loss_names", None)
        if declared is None:
            return
        for phase, names in declared().items():
            for name in names:
                self.weights.weight(phase, name)

    # ------------------------------------------------------------- one step
    def _train_step(self, batch: Any) -> dict[str, float]:
        """Run every phase on ``batch``; return the logged values of this step."""
        step = self.step + 1
        self._rng_at_step_start = capture_rng(self.device)
        batch = move_to_device(batch, self.device)
        logged: dict[str, float] = {}
        done: list[str] = []
        stepped = False
        for phase, optimizer in self.optimizers.items():
            for module in self.modules.values():  # a loss may reach other phases' modules too
                module.zero_grad(set_to_none=True)
            with autocast(self.device, self.amp, self.config.amp_dtype):
                losses = self.task.losses(phase, batch, step)
            if not isinstance(losses, dict):
                raise TrainingError(
                    f"{type(self.task).__name__}.losses('{phase}') returned "
                    f"{type(losses).__name__}, not a dict"
                )
            total = self.weights.total(phase, losses)
            values = loss_values(losses)
            bad = next((f"{phase}/{n}" for n, v in values.items() if not math.isfinite(v)), None)
            if self._any_rank(bad is not None):
                what = f"non-finite loss '{bad}'" if bad else f"non-finite '{phase}' loss on another rank"
                self._fail(what, step, done)
            logged.update({f"{phase}/{name}": value for name, value in values.items()})
            if total is not None:
                if not total.requires_grad:
                    raise TrainingError(f"the '{phase}' losses do not depend on any trainable parameter")
                self.scaler.scale(total).backward()
                distributed.all_reduce_gradients(self.params[phase], self.dist)
                self.scaler.unscale_(optimizer)
                norm = self._clip(phase)
                if not math.isfinite(norm) and not self.scaler.is_enabled():
                    self._fail(f"non-finite gradient norm of optimizer '{phase}'", step, done)
                logged[f"grad_norm/{phase}"] = norm
                self.scaler.step(optimizer)
                stepped = True
            logged[f"lr/{phase}"] = optimizer.param_groups[0]["lr"]
            with warnings.catch_warnings():
                # Schedules follow the global step, also while a phase is skipped (e.g. a GAN's
                # discriminator during a warm-up), which torch would flag as an ordering mistake.
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
                self.schedulers[phase].step()
            done.append(phase)
        if stepped:
            self.scaler.update()
            if self.ema is not None:
                self.ema.update()
        self.step = step
        return logged

    def _clip(self, phase: str) -> float:
        """Clip the phase's gradient norm if configured; return the norm before clipping."""
        limit = self.grad_clip[phase]
        if limit is not None:
            return float(torch.nn.utils.clip_grad_norm_(self.params[phase], limit))
        grads = [p.grad for p in self.params[phase] if p.grad is not None]
        return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0

    def _any_rank(self, flag: bool) -> bool:
        """True if ``flag`` is set on any process (so all processes stop together)."""
        if not self.dist.enabled:
            return flag
        tensor = torch.tensor([int(flag)], device=self.device)
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MAX)
        return bool(tensor.item())

    def _fail(self, what: str, step: int, done: list[str]) -> None:
        """Save the last good state (as step ``step - 1``) and raise ``TrainingError``."""
        if self._last_saved_step == step - 1:  # an exact checkpoint of that step exists
            path = self.last_checkpoint
        else:
            path = self._save(
                step - 1, rng=self._rng_at_step_start, position=self.position - 1, partial=done
            )
        where = path if path is not None else "(on rank 0)"
        raise TrainingError(
            f"{what} at step {step}; saved checkpoint {where}; "
            "lower the learning rate or enable grad clipping"
        )

    # ------------------------------------------------------- logging, validation
    def _log(self, meter: ScalarMeter, bar: ProgressBar, tick: tuple[float, int]) -> tuple[float, int]:
        now = time.perf_counter()
        values = meter.means()
        steps = self.step - tick[1]
        values["steps_per_s"] = steps / max(now - tick[0], 1e-9)
        if self.dist.enabled:  # losses of the whole global batch: the mean over processes
            names = sorted(values)
            tensor = torch.tensor([values[n] for n in names], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(tensor)
            values = dict(zip(names, (tensor / self.dist.world_size).tolist()))
        values["epoch"] = float(self.epoch)
        self.logger.scalars(self.step, values, echo=True)
        bar.show({k: v for k, v in values.items() if "/" in k and not k.startswith(("lr/", "grad_norm/"))})
        meter.reset()
        return now, self.step

    def _validate(self) -> None:
        """Average ``task.validate`` over the validation set on rank 0 (RNG streams untouched)."""
        if self.val_loader is None or not self.dist.is_main:
            return
        rng = capture_rng(self.device)
        for module in self.modules.values():
            module.eval()
        sums: dict[str, float] = {}
        batches = 0
        averaged = self.ema.swapped_in() if self.ema is not None else contextlib.nullcontext()
        try:
            with torch.no_grad(), autocast(self.device, self.amp, self.config.amp_dtype), averaged:
                for batch in self.val_loader:
                    metrics = self.task.validate(move_to_device(batch, self.device), self.step, self.logger)
                    for name, value in (metrics or {}).items():
                        sums[name] = sums.get(name, 0.0) + float(value)
                    batches += 1
        finally:
            self._set_train_mode()
            restore_rng(rng, self.device)
        means = {k: v / batches for k, v in sums.items()}
        self.logger.scalars(self.step, {f"val/{k}": v for k, v in means.items()}, echo=True)
        if self.best is not None and self.best.offer(self.step, means):
            self.best.save(self.run_dir)
            self.logger.info(f"best {self.best.metric} so far: {self.best.value:.4g} at step {self.step}")
            if self._last_saved_step != self.step:
                self._save(self.step)

    def _set_train_mode(self) -> None:
        for name, module in self.modules.items():
            module.train(name in self.trainable)

    # ------------------------------------------------------ checkpoint, resume
    def _save(
        self,
        step: int,
        *,
        rng: dict[str, torch.Tensor] | None = None,
        position: int | None = None,
        partial: list[str] | None = None,
    ) -> Path | None:
        """Write a training checkpoint on rank 0 (collective: every rank must call it)."""
        epoch, position = self._normalised(self.epoch, self.position if position is None else position)
        local_rng = rng if rng is not None else capture_rng(self.device)
        all_rng = distributed.gather_rng(local_rng, self.dist, self.device)
        self._last_saved_step = step
        if not self.dist.is_main:
            return None
        state = build_state(
            step=step, epoch=epoch, position=position, data=self._data_signature(),
            modules=self.modules, optimizers=self.optimizers, schedulers=self.schedulers,
            scaler=self.scaler, rng=all_rng, config=dataclasses.asdict(self.config),
            partial_step_phases=partial,
        )
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        protect = (self.best.step,) if self.best is not None and self.best.step >= 0 else ()
        self.last_checkpoint = save_training_checkpoint(
            self.run_dir, step, state, keep_last=self.config.keep_last, protect=protect
        )
        return self.last_checkpoint

    def _start(self, resume: bool | Literal["auto"]) -> None:
        """Load the latest checkpoint or seed a fresh run; set train/eval modes."""
        path = check_resume(self.run_dir, resume)
        self._set_train_mode()
        if path is None:
            seed_everything(self.config.seed + self.dist.rank)
            return
        if self.best is not None:
            self.best = BestStep.load(self.run_dir, self.best.metric, self.best.mode)
        state = load_training_checkpoint(path)
        restore_state(
            state, path, modules=self.modules, optimizers=self.optimizers,
            schedulers=self.schedulers, scaler=self.scaler,
        )
        self.step = int(state["step"])
        if self.ema is not None and not self.ema.restore(state.get("ema")):
            self.logger.info(f"note: {path.name} holds no averages of {sorted(self.ema.averages)}; "
                             "starting them from its weights")
        self.epoch, self.position = self._normalised(int(state["epoch"]), int(state["position"]))
        self._last_saved_step, self.last_checkpoint = self.step, path
        if state.get("data") != self._data_signature():
            self.logger.info(
                f"note: data or batch settings changed since {path.name} "
                f"({state.get('data')} -> {self._data_signature()}); continuing at the next epoch"
            )
            self.epoch, self.position = self.epoch + 1, 0
        if state.get("partial_step_phases"):
            self.logger.info(
                f"note: {path.name} was saved mid-step after phases {state['partial_step_phases']}; "
                "this resume is not bit-exact"
            )
        rng = state["rng"]
        if len(rng) == self.dist.world_size:
            restore_rng(rng[self.dist.rank], self.device)
        else:
            self.logger.info(f"note: {path.name} was written by {len(rng)} process(es); reseeding RNGs")
            seed_everything(self.config.seed + self.dist.rank + self.step)
        dropped = self.logger.truncate_metrics(self.step)  # a killed run logged steps this run redoes
        self.logger.info(f"resumed from {path} at step {self.step}" +
                         (f" ({dropped} later metrics.jsonl records dropped)" if dropped else ""))

    def final_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """State dicts of the modules to export: those of the best validated step when
        ``best_metric`` is set (its averages with EMA), else the current ones (averaged with EMA)."""
        return export_weights(self.run_dir, self.modules, self.ema, self.best, self.step)

    def _normalised(self, epoch: int, position: int) -> tuple[int, int]:
        """A position at the end of an epoch is the start of the next one."""
        if position >= self.sampler.batches_per_epoch:
            return epoch + 1, 0
        return epoch, position

    def _data_signature(self) -> dict[str, int]:
        """What the data order depends on (a resume with other values starts the next epoch)."""
        return {"num_items": self.num_items, "batch_size": self.config.batch_size,
                "world_size": self.dist.world_size, "seed": self.config.seed}
