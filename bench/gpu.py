"""Time the Diff-Foley-sized pipeline per 8.192 s window and stage (features, diffusion, decode, vocoder).

Random weights at Diff-Foley's shapes (UNet 320/(1,2,4,4)/768, the SD VAE, the
mel repeated into its three channels, CAVP's SlowOnly-50 at 224 px, two
adapters); randomly initialised weights take as long as trained ones. Runs
batch 1 and batch 8, without and with both adapters, classifier-free guidance
on (as the engine runs), and reports seconds per window, throughput, real-time
factor and peak GPU memory. Ratios compare runs of this one invocation only.

    python bench/gpu.py --device cuda --dtype float16
    python bench/gpu.py --device cuda --model foley_engine/checkpoints/default   # a saved pipeline instead
    python bench/gpu.py --device cpu --tiny --steps 2     # checks the script on a CPU
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from foley_engine.config import AUDIO
from foley_engine.diff_foley import DIFF_FOLEY, TINY_DIFF_FOLEY, build_random_pipeline
from foley_engine.onsets import onset_mask, span_mask
from foley_engine.pipeline import RhythmicFoleyPipeline

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
BATCHES = (1, 8)
STAGES = ("features", "diffusion", "decode", "vocoder")
WINDOW_SECONDS = float(AUDIO.window_seconds)


@dataclass
class Result:
    batch: int
    adapters: bool
    seconds: dict[str, float]  # per stage, for the whole batch
    peak_bytes: int | None

    def per_window(self, stage: str) -> float:
        return self.seconds[stage] / self.batch

    @property
    def total_per_window(self) -> float:
        return sum(self.seconds.values()) / self.batch

    @property
    def windows_per_second(self) -> float:
        return 1.0 / self.total_per_window


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(pipe: RhythmicFoleyPipeline, batch: int, adapters: bool) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(batch)
    size = pipe.video_encoder.config.image_size
    frames = rng.integers(0, 256, (batch, AUDIO.video_frames_per_window, size, size, 3), dtype=np.uint8)
    masks: dict = {}
    if adapters:
        masks["onset_mask"] = np.repeat(onset_mask([0.5, 1.25, 2.0, 4.0, 6.5], AUDIO.window_frames)[None], batch, 0)
        masks["span_mask"] = np.repeat(span_mask([(1.0, 3.0), (5.0, 7.5)], AUDIO.window_frames)[None], batch, 0)
    return frames, masks


def _run_once(pipe: RhythmicFoleyPipeline, frames: np.ndarray, masks: dict, steps: int) -> dict[str, float]:
    device = pipe.device
    marks: dict[str, float] = {}

    def at_step_end(pipeline: RhythmicFoleyPipeline, step: int, timestep, tensors: dict) -> dict:
        if step == steps - 1:
            _sync(device)
            marks["loop"] = time.perf_counter()
        return tensors

    _sync(device)
    start = time.perf_counter()
    features = pipe.encode_frames(frames)
    _sync(device)
    featured = time.perf_counter()
    mels = pipe(
        features,
        num_inference_steps=steps,
        generator=torch.Generator().manual_seed(0),
        callback_on_step_end=at_step_end,
        output_type="mel",
        **masks,
    ).mels
    _sync(device)
    decoded = time.perf_counter()
    pipe.vocoder(mels)
    _sync(device)
    done = time.perf_counter()
    return {
        "features": featured - start,
        "diffusion": marks["loop"] - featured,
        "decode": decoded - marks["loop"],
        "vocoder": done - decoded,
    }


def measure(pipe: RhythmicFoleyPipeline, batch: int, adapters: bool, steps: int, warmup: int) -> Result:
    """Warm up, then time one run of `batch` windows; peak GPU memory of the timed run."""
    frames, masks = _inputs(pipe, batch, adapters)
    for _ in range(warmup):
        _run_once(pipe, frames, masks, steps)
    device = pipe.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = _run_once(pipe, frames, masks, steps)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return Result(batch, adapters, seconds, peak)


def _describe(pipe: RhythmicFoleyPipeline, args: argparse.Namespace) -> str:
    device = pipe.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    sizes = ", ".join(
        f"{n} {sum(p.numel() for p in getattr(pipe, n).parameters()) / 1e6:.1f}M"
        for n in ("video_encoder", "unet", "temporal_adapter", "vae")
    )
    processors = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
    return (
        f"device {device} ({name}), torch {torch.__version__}, dtype {args.dtype}, channels-last {args.channels_last}\n"
        f"shapes {args.model or ('tiny' if args.tiny else 'Diff-Foley')}: latent {pipe.latent_shape}, frames "
        f"{AUDIO.video_frames_per_window}x{pipe.video_encoder.config.image_size}px; {sizes}\n"
        f"{args.steps} steps, guidance 4.5 (batch doubled inside the UNet), warm-up runs {args.warmup}, "
        f"attention {', '.join(processors)}"
    )


def _table(results: list[Result]) -> str:
    head = f"{'batch':>5} {'adapters':>8} " + " ".join(f"{s:>9}" for s in STAGES)
    head += f" {'total':>9} {'win/s':>8} {'x realtime':>10} {'peak GiB':>9}"
    lines = ["seconds per 8.192 s window (stage time / batch):", head]
    for r in results:
        peak = "n/a" if r.peak_bytes is None else f"{r.peak_bytes / 2**30:.2f}"
        lines.append(
            f"{r.batch:>5} {'on' if r.adapters else 'off':>8} "
            + " ".join(f"{r.per_window(s):>9.3f}" for s in STAGES)
            + f" {r.total_per_window:>9.3f} {r.windows_per_second:>8.2f}"
            + f" {WINDOW_SECONDS / r.total_per_window:>10.1f} {peak:>9}"
        )
    return "\n".join(lines)


def _ratios(results: list[Result]) -> str:
    by = {(r.batch, r.adapters): r for r in results}
    small, large = BATCHES
    lines = ["ratios (this run only):"]
    for adapters in (False, True):
        gain = by[large, adapters].windows_per_second / by[small, adapters].windows_per_second
        lines.append(f"  throughput batch {large} / batch {small}, adapters {'on' if adapters else 'off'}: {gain:.2f}x")
    for batch in BATCHES:
        cost = by[batch, True].total_per_window / by[batch, False].total_per_window
        lines.append(f"  time with adapters / without, batch {batch}: {cost:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32", help="the networks' precision")
    parser.add_argument("--steps", type=int, default=25, help="diffusion steps per window")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before each timed one")
    parser.add_argument("--tiny", action="store_true", help="the tiny configuration (same structure, CPU-sized)")
    parser.add_argument("--channels-last", action="store_true", help="store the 2-D conv networks channels-last")
    parser.add_argument("--model", type=Path, help="time this saved pipeline instead of random Diff-Foley weights")
    args = parser.parse_args(argv)

    if args.model is not None:
        pipe = RhythmicFoleyPipeline.from_pretrained(args.model).to(args.device)
    else:
        pipe = build_random_pipeline(TINY_DIFF_FOLEY if args.tiny else DIFF_FOLEY).to(args.device)
    pipe.set_compute_dtype(DTYPES[args.dtype])
    if args.channels_last:
        pipe.use_channels_last()
    pipe.set_progress_bar_config(disable=True)
    print(_describe(pipe, args), flush=True)
    results = [
        measure(pipe, batch, adapters, args.steps, args.warmup) for batch in BATCHES for adapters in (False, True)
    ]
    print(_table(results))
    print(_ratios(results))


if __name__ == "__main__":
    main()
