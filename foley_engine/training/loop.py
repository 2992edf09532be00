"""The training loop every stage shares.

A `Stage` says what is trained (its modules), what a batch's loss is, how to
validate and what to export; `train` does the rest the same way for all of
them: AdamW with warmup and cosine decay, gradient clipping, an optional EMA,
a tqdm bar showing the loss, `loss.jsonl`, validation and checkpoints at
intervals, resuming, and the final `save_pretrained` export.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from tqdm import tqdm

from ..errors import FoleyError
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import Schedule
from .ema import EMA

LOSS_LOG = "loss.jsonl"
STAGE_FILE = "stage.json"


class TrainingError(FoleyError):
    """Training cannot start or cannot go on (missing inputs, a diverged loss, a clash of outputs)."""


class Stage(ABC):
    """One trainable stage of the model, driven by `train`."""

    name: ClassVar[str]

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    @property
    @abstractmethod
    def train_size(self) -> int:
        """How many training examples batches are drawn from."""

    @abstractmethod
    def trainable(self) -> dict[str, nn.Module]:
        """The modules the optimiser trains (their parameters that require grad) and the checkpoint holds."""

    @abstractmethod
    def loss(self, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of the training examples at `indices`, and named parts of it to log."""

    @abstractmethod
    def validate(self) -> dict[str, float]:
        """Figures on the validation clips (the EMA weights are in place when there is an EMA)."""

    @abstractmethod
    def export(self, out: Path) -> None:
        """Write the trained component(s) to `out` with `save_pretrained`."""

    def describe(self) -> dict[str, Any]:
        """Facts about the run worth one line in the log (clip counts, parameter counts, ...)."""
        return {}

    def parameters(self) -> list[nn.Parameter]:
        """The parameters the optimiser updates."""
        return [p for module in self.trainable().values() for p in module.parameters() if p.requires_grad]

    def set_training(self, training: bool) -> None:
        """Put the trainable modules in training or evaluation mode."""
        for module in self.trainable().values():
            module.train(training)


class BatchSampler:
    """Random batches of example indices, epoch by epoch: every example once per epoch."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if size < 1:
            raise TrainingError("there are no training examples")
        self.size = size
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.randperm(size, generator=self.generator)
        self.position = 0

    def next(self) -> torch.Tensor:
        """The next batch's indices (a batch may straddle two epochs)."""
        parts = []
        wanted = self.batch_size
        while wanted:
            if self.position == self.size:
                self.order = torch.randperm(self.size, generator=self.generator)
                self.position = 0
            taken = self.order[self.position : self.position + wanted]
            self.position += len(taken)
            wanted -= len(taken)
            parts.append(taken)
        return torch.cat(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "order": self.order, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["order"]) != self.size:
            raise TrainingError(
                f"the checkpoint was made with {len(state['order'])} training examples, now {self.size}"
            )
        self.generator.set_state(state["generator"])
        self.order = state["order"]
        self.position = state["position"]


class LossLog:
    """`loss.jsonl`: one JSON object per line, flushed as written.

    Resuming from step N drops the lines written after step N by the run that
    was interrupted, so the log reads as one uninterrupted run.
    """

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        if resume_step is None:
            path.write_text("")
        elif path.exists():
            lines = [line for line in path.read_text().splitlines() if line]
            kept = [line for line in lines if json.loads(line).get("step", 0) <= resume_step]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def read_loss_log(out: Path) -> list[dict[str, Any]]:
    """The records of a stage's `loss.jsonl`."""
    return [json.loads(line) for line in (out / LOSS_LOG).read_text().splitlines() if line]


def learning_rate(schedule: Schedule, step: int) -> float:
    """The learning rate for step `step` (0-based): linear warmup, then a cosine to the floor."""
    if step < schedule.warmup_steps:
        return schedule.learning_rate * (step + 1) / schedule.warmup_steps
    progress = (step - schedule.warmup_steps) / max(1, schedule.steps - schedule.warmup_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return schedule.learning_rate * (schedule.min_lr_ratio + (1.0 - schedule.min_lr_ratio) * cosine)


@dataclass(frozen=True)
class TrainResult:
    """What a finished `train` call reports."""

    out: Path
    steps: int
    seconds_per_step: float  # mean time of a training step (validation and checkpoints excluded)
    validation: dict[str, float]


def _format(figures: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())


def train(
    stage: Stage, out: Path, seed: int, resume: bool = False, manifest: dict[str, Any] | None = None
) -> TrainResult:
    """Train `stage` into `out` for `stage.schedule.steps` steps and export it.

    With `resume`, a checkpoint in `out` is continued from its step (and a run
    that had finished only exports again); without it, an existing checkpoint
    is an error rather than silently overwritten. `manifest` is added to
    `out/stage.json`, the run's summary.
    """
    out.mkdir(parents=True, exist_ok=True)
    schedule = stage.schedule
    parameters = stage.parameters()
    optimizer = torch.optim.AdamW(parameters, lr=schedule.learning_rate, weight_decay=schedule.weight_decay)
    ema = EMA(parameters, schedule.ema_decay) if schedule.ema_decay > 0 else None
    sampler = BatchSampler(stage.train_size, schedule.batch_size, seed)
    step = 0
    busy = 0.0
    validation: dict[str, float] = {}

    state = load_checkpoint(out)
    if state is not None and not resume:
        raise TrainingError(
            f"{out} holds a checkpoint at step {state['step']}; pass --resume to continue it or choose another --out"
        )
    if state is not None:
        if state["stage"] != stage.name:
            raise TrainingError(f"{out} holds a {state['stage']} checkpoint, not {stage.name}")
        for name, module in stage.trainable().items():
            module.load_state_dict(state["modules"][name])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        step = state["step"]
        validation = state["validation"]
        busy = state["busy_seconds"]
        print(f"{stage.name}: resuming {out} at step {step}")
    log = LossLog(out / LOSS_LOG, step if state is not None else None)
    if step == 0:
        facts = stage.describe()
        log.write({"phase": "setup", "step": 0, **facts})
        print(f"{stage.name}: {_format(facts)}")

    def checkpoint() -> None:
        save_checkpoint(
            out,
            {
                "stage": stage.name,
                "step": step,
                "modules": {name: module.state_dict() for name, module in stage.trainable().items()},
                "optimizer": optimizer.state_dict(),
                "ema": None if ema is None else ema.state_dict(),
                "sampler": sampler.state_dict(),
                "rng": rng_state(),
                "validation": validation,
                "busy_seconds": busy,
            },
        )

    def run_validation() -> dict[str, float]:
        stage.set_training(False)
        with torch.no_grad(), (ema.applied() if ema is not None else nullcontext()):
            return stage.validate()

    interval: dict[str, list[float]] = {}
    interval_seconds = 0.0
    smoothed: float | None = None
    bar = tqdm(total=schedule.steps, initial=step, desc=stage.name, dynamic_ncols=True, mininterval=1.0)
    while step < schedule.steps:
        lr = learning_rate(schedule, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        stage.set_training(True)
        began = time.perf_counter()
        loss, parts = stage.loss(sampler.next())
        if not torch.isfinite(loss):
            raise TrainingError(f"{stage.name}: the loss is {loss.item()} at step {step + 1}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if schedule.grad_clip > 0:
            nn.utils.clip_grad_norm_(parameters, schedule.grad_clip)
        optimizer.step()
        if ema is not None:
            ema.update()
        step += 1
        elapsed = time.perf_counter() - began
        busy += elapsed
        interval_seconds += elapsed
        value = loss.item()
        for key, part in {"loss": value, **parts}.items():
            interval.setdefault(key, []).append(part)
        smoothed = value if smoothed is None else 0.9 * smoothed + 0.1 * value
        bar.set_postfix(loss=f"{smoothed:.4f}", refresh=False)
        bar.update(1)

        if step % schedule.log_every == 0 or step == schedule.steps:
            count = len(interval["loss"])
            record = {key: sum(values) / count for key, values in interval.items()}
            log.write({"phase": "train", "step": step, **record, "lr": lr, "s_per_step": interval_seconds / count})
            interval, interval_seconds = {}, 0.0
        if step % schedule.val_every == 0 or step == schedule.steps:
            validation = run_validation()
            log.write({"phase": "val", "step": step, **validation})
            bar.write(f"{stage.name} step {step} val: {_format(validation)}")
        if step % schedule.checkpoint_every == 0 or step == schedule.steps:
            checkpoint()
    bar.close()

    stage.set_training(False)
    with ema.applied() if ema is not None else nullcontext():
        stage.export(out)
    result = TrainResult(out=out, steps=step, seconds_per_step=busy / max(step, 1), validation=validation)
    summary = {
        "stage": stage.name,
        "steps": step,
        "seconds_per_step": result.seconds_per_step,
        "validation": validation,
        **(manifest or {}),
    }
    (out / STAGE_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"{stage.name}: {step} steps done; exported to {out}")
    return result


