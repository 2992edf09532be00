"""Making one clip: choose classes and a rhythm, place one-shots, mix, and (paired) render the scene.

A clip depends only on its task (split, kind, index, seed) and the split's
one-shot pool, so clips can be made in any order or process and still come
out identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..config import AUDIO
from .clip_video import encode_scene
from .mixing import Placement, mix
from .records import ClipRecord, OnsetRecord
from .rhythm import PATTERNS, onset_steps
from .scenes import Scene, VisualEvent
from .splits import SPLITS
from .wav import write_float_wav

KINDS: tuple[str, ...] = ("paired", "audio")
MARGIN = Fraction(1, 10)  # no onset in the first or last 100 ms of a window
GAIN_DB_RANGE = (-6.0, 0.0)
RECORDINGS_PER_CLASS = 3  # a clip draws a class's events from a few recordings: one floor, one door

# {class: [(recording id, its one-shots)]}, one per split.
Pool = dict[str, list[tuple[str, list[np.ndarray]]]]


@dataclass(frozen=True)
class ClipTask:
    """Which clip to make."""

    split: str
    kind: str
    index: int
    seed: int

    @property
    def id(self) -> str:
        """The clip's id, unique within a dataset."""
        return f"{self.split}-{self.kind}-{self.index:05d}"


@dataclass(frozen=True)
class ClipStyle:
    """The parts of the configuration a clip needs."""

    fps_choices: tuple[Fraction, ...]
    video_size: int
    frames_size: int
    second_class_share: float


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _choose_sources(pool: Pool, rng: np.random.Generator, second_class_share: float) -> Pool:
    """The clip's classes (one, sometimes two) and for each a few of the pool's recordings."""
    classes = sorted(pool)
    count = 2 if len(classes) > 1 and rng.random() < second_class_share else 1
    chosen = sorted(str(label) for label in rng.choice(classes, size=count, replace=False))
    sources = {}
    for label in chosen:
        recordings = pool[label]
        picks = rng.choice(len(recordings), size=min(RECORDINGS_PER_CLASS, len(recordings)), replace=False)
        sources[label] = [recordings[int(pick)] for pick in sorted(picks)]
    return sources


def _place(starts: list[int], sources: Pool, rng: np.random.Generator) -> tuple[list[Placement], list[tuple[str, str]]]:
    """A one-shot for each start sample: (placements, [(class, recording id)])."""
    labels = sorted(sources)
    placements, origins = [], []
    for start in starts:
        label = labels[int(rng.integers(len(labels)))]
        recording, shots = sources[label][int(rng.integers(len(sources[label])))]
        shot = shots[int(rng.integers(len(shots)))]
        placements.append(Placement(start, shot, 10 ** (rng.uniform(*GAIN_DB_RANGE) / 20)))
        origins.append((label, recording))
    return placements, origins


def _colour(rng: np.random.Generator, low: float, high: float) -> tuple[float, float, float]:
    red, green, blue = (float(value) for value in rng.uniform(low, high, size=3))
    return red, green, blue


def _scene(frames: list[int], labels: list[str], fps: Fraction, style: ClipStyle, rng: np.random.Generator) -> Scene:
    size = style.video_size
    background, floor = _colour(rng, 15, 70), _colour(rng, 60, 140)
    lanes = {label: rng.uniform(0.3, 0.7) * size for label in sorted(set(labels))}
    events = []
    for step, (frame, label) in enumerate(zip(frames, labels)):
        # Footsteps alternate left and right feet; other actors come from a random side.
        facing = (1 if step % 2 else -1) if label == "footstep" else int(rng.choice((-1, 1)))
        events.append(
            VisualEvent(
                frame=frame,
                label=label,
                x=float(lanes[label] + rng.uniform(-0.12, 0.12) * size),
                scale=float(rng.uniform(0.85, 1.15)),
                facing=facing,
                variant=int(rng.integers(1000)),
            )
        )
    n_frames = math.ceil(AUDIO.window_seconds * fps)
    return Scene(fps, n_frames, size, background, floor, tuple(events))


def make_clip(task: ClipTask, pool: Pool, style: ClipStyle, out: Path) -> ClipRecord:
    """Make the clip `task` from the split's `pool`, write its files under `out/<split>/` and return its record."""
    rng = np.random.default_rng([task.seed, SPLITS.index(task.split), KINDS.index(task.kind), task.index])
    rate = AUDIO.sample_rate
    pattern = PATTERNS[task.index % len(PATTERNS)]
    sources = _choose_sources(pool, rng, style.second_class_share)
    split_dir = out / task.split
    audio_path = split_dir / "audio" / f"{task.id}.wav"
    video_path = frames_path = None
    if task.kind == "paired":
        fps = style.fps_choices[int(rng.integers(len(style.fps_choices)))]
        first = math.ceil(MARGIN * fps)
        last = math.floor((AUDIO.window_seconds - MARGIN) * fps)
        frames = onset_steps(pattern, rng, 1 / fps, first, last)
        times = [Fraction(frame) / fps for frame in frames]
        starts = [_half_up(time * rate) for time in times]
        placements, origins = _place(starts, sources, rng)
        scene = _scene(frames, [label for label, _ in origins], fps, style, rng)
        video_path = split_dir / "video" / f"{task.id}.mp4"
        frames_path = split_dir / "frames" / f"{task.id}.npy"
        sampled = encode_scene(scene, video_path, AUDIO.video_fps, AUDIO.video_frames_per_window, style.frames_size)
        np.save(frames_path, sampled)
        onset_frames: list[int | None] = list(frames)
    else:
        fps = None
        first = int(MARGIN * rate)
        starts = onset_steps(pattern, rng, Fraction(1, rate), first, AUDIO.window_samples - first)
        times = [Fraction(start, rate) for start in starts]
        placements, origins = _place(starts, sources, rng)
        onset_frames = [None] * len(starts)
    audio = mix(placements, AUDIO.window_samples, rng)
    write_float_wav(audio_path, audio, rate)
    onsets = tuple(
        OnsetRecord(sample=start, seconds=time, label=label, recording=recording, frame=frame)
        for start, time, (label, recording), frame in zip(starts, times, origins, onset_frames)
    )
    return ClipRecord(
        id=task.id,
        kind=task.kind,
        split=task.split,
        fps=fps,
        rhythm=pattern,
        labels=tuple(sorted({label for label, _ in origins})),
        onsets=onsets,
        audio=audio_path,
        video=video_path,
        frames=frames_path,
    )
