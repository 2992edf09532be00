"""The values a generation travels with: what to render and what came out.

All times are exact `Fraction`s of a second, so a cue on a video frame stays
on that frame through every conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TimeMap:
    """Output time t (seconds from the clip's first visible frame) shows media time
    `media_start + speed * t`. speed 1 is normal play, 0 a freeze frame, -1 reverse."""

    media_start: Fraction
    duration: Fraction
    speed: Fraction = Fraction(1)

    def media_time(self, t: Fraction) -> Fraction:
        """The media time shown at output time `t`."""
        return self.media_start + self.speed * t


@dataclass(frozen=True)
class OnsetCue:
    """A transient that must start at `time` (output seconds).

    `confidence` is 1 for an editor's marker and a detector's probability for a detected onset.
    """

    time: Fraction
    label: str = ""
    confidence: float = 1.0


@dataclass(frozen=True)
class EventSpan:
    """A sound event from `start` to `end` (output seconds).

    `confidence` is 1 for an editor's marker and a detector's probability for a detected event.
    """

    start: Fraction
    end: Fraction
    label: str = ""
    confidence: float = 1.0


@dataclass(frozen=True)
class GenerationRequest:
    """Everything one clip's generation needs."""

    video_path: Path
    window: TimeMap
    cues: tuple[OnsetCue, ...] = ()
    spans: tuple[EventSpan, ...] = ()
    prompt: str = ""
    semantic_strength: float | None = None
    temporal_strength: float | None = None
    seed: int = 0
    steps: int | None = None
    guidance_scale: float | None = None
    # Rate of the returned audio; None means the model's own rate.
    sample_rate: int | None = None
    # Move each generated transient within reach of a cue onto it (foley_engine.snapping);
    # None means the snapping default reach.
    snap: bool = False
    snap_reach_ms: float | None = None
    # Add the onsets the model's event detector finds in the window's video to `cues`.
    video_cues: bool = False


@dataclass(frozen=True)
class DetectionRequest:
    """Find the sound events and contact onsets a clip's video shows."""

    video_path: Path
    window: TimeMap


@dataclass(frozen=True)
class Detection:
    """What the event detector found, in output seconds of the request's window.

    `fps` is the frame rate it analysed (the video's own), so an onset is a frame time.
    """

    onsets: tuple[OnsetCue, ...]
    events: tuple[EventSpan, ...]
    fps: Fraction


@dataclass(frozen=True)
class GeneratedAudio:
    """Mono float32 samples in [-1, 1] at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int
    seed: int
    model_name: str
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> Fraction:
        return Fraction(len(self.samples), self.sample_rate)


@dataclass(frozen=True)
class ProgressUpdate:
    """One progress report from a running generation."""

    stage: str
    step: int
    total: int
    window: int = 0
    windows: int = 1
