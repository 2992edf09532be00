"""How long one generation window takes, stage by stage, read from the engine's progress reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..engine import FoleyEngine
from ..request import GenerationRequest, ProgressUpdate


@dataclass(frozen=True)
class StageTimes:
    """Seconds one generation spent per stage.

    features: frame sampling and the video tower; diffusion: every denoising step
    (UNet, both adapters, guidance); decode: the VAE decoding the latent to a mel
    (between the last step's report and the vocoder's); vocoder: mel to waveform;
    total: the whole `generate` call, windowing and level limiting included.
    """

    features: float
    diffusion: float
    decode: float
    vocoder: float
    total: float
    steps: int

    def as_dict(self) -> dict[str, float]:
        return {
            "features_s": self.features,
            "diffusion_s": self.diffusion,
            "decode_s": self.decode,
            "vocoder_s": self.vocoder,
            "total_s": self.total,
            "per_step_s": self.diffusion / self.steps,
        }


def _stage_clock(device: torch.device) -> tuple[list[tuple[ProgressUpdate, float]], Callable[[ProgressUpdate], None]]:
    marks: list[tuple[ProgressUpdate, float]] = []

    def on_progress(update: ProgressUpdate) -> None:
        # CUDA runs asynchronously: wait for the queued work so each mark is when its stage really ended.
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        marks.append((update, time.perf_counter()))

    return marks, on_progress


def time_generation(engine: FoleyEngine, request: GenerationRequest) -> StageTimes:
    """Run `request` (one window) once and split its wall time into stages by the progress reports."""
    marks, on_progress = _stage_clock(engine.pipeline.device)
    began = time.perf_counter()
    engine.generate(request, on_progress=on_progress)
    total = time.perf_counter() - began

    def at(stage: str, step: int) -> float:
        return next(clock for update, clock in marks if update.stage == stage and update.step == step)

    steps = max(update.total for update, _ in marks if update.stage == "diffusion")
    return StageTimes(
        features=at("features", 1) - at("features", 0),
        diffusion=at("diffusion", steps) - at("diffusion", 0),
        decode=at("vocoder", 0) - at("diffusion", steps),
        vocoder=at("vocoder", 1) - at("vocoder", 0),
        total=total,
        steps=steps,
    )


@dataclass(frozen=True)
class SpeedReport:
    """The first (cold) run and the mean of the runs after it (the cold run alone if there is one run)."""

    cold: StageTimes
    mean: StageTimes
    runs: int  # runs in the mean
    device: str

    def as_dict(self) -> dict[str, object]:
        return {"device": self.device, "runs": self.runs, "cold": self.cold.as_dict(), "mean": self.mean.as_dict()}


def measure_speed(engine: FoleyEngine, request: GenerationRequest, runs: int) -> SpeedReport:
    """Time `request` `runs` times; the first run pays for warm-up and is kept apart."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    timed = [time_generation(engine, request) for _ in range(runs)]
    warm = timed[1:] or timed

    def mean(field: str) -> float:
        return float(np.mean([getattr(item, field) for item in warm]))

    return SpeedReport(
        cold=timed[0],
        mean=StageTimes(
            features=mean("features"),
            diffusion=mean("diffusion"),
            decode=mean("decode"),
            vocoder=mean("vocoder"),
            total=mean("total"),
            steps=timed[0].steps,
        ),
        runs=len(warm),
        device=str(engine.pipeline.device),
    )
