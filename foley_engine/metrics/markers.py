"""Marker hit rate, false onsets and the chance baseline they are always read with.

A hit rate alone flatters noise: audio with an onset every few frames "hits"
every cue. So it is always reported with the false onsets per minute (detected
onsets farther than two frames from every cue) and with the hit rate the same
audio gets against another clip's cues (`derangement`), which is what chance
alone achieves at that onset density.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# Tolerances compare float onset times with exact frame multiples; a micro-second
# of slack keeps an onset exactly one frame away on the hit side.
_SLACK_S = 1e-6


@dataclass(frozen=True)
class MarkerScores:
    """One clip's onsets scored against cue times; `frame` is 1/fps of the clip the cues belong to."""

    cues: int
    hits_1: int  # cues with an onset within ±1 frame
    hits_2: int  # cues with an onset within ±2 frames
    onsets: int
    false_onsets: int  # onsets farther than 2 frames from every cue
    seconds: float  # the audio's duration

    def __add__(self, other: MarkerScores) -> MarkerScores:
        return MarkerScores(
            cues=self.cues + other.cues,
            hits_1=self.hits_1 + other.hits_1,
            hits_2=self.hits_2 + other.hits_2,
            onsets=self.onsets + other.onsets,
            false_onsets=self.false_onsets + other.false_onsets,
            seconds=self.seconds + other.seconds,
        )

    @property
    def hit_rate_1(self) -> float:
        """Share of cues with an onset within ±1 frame (pooled over every cue scored)."""
        return self.hits_1 / self.cues if self.cues else float("nan")

    @property
    def hit_rate_2(self) -> float:
        """Share of cues with an onset within ±2 frames."""
        return self.hits_2 / self.cues if self.cues else float("nan")

    @property
    def false_per_minute(self) -> float:
        """Onsets farther than 2 frames from every cue, per minute of audio."""
        return 60.0 * self.false_onsets / self.seconds if self.seconds else float("nan")


NO_SCORES = MarkerScores(cues=0, hits_1=0, hits_2=0, onsets=0, false_onsets=0, seconds=0.0)


def score_markers(
    onsets: Sequence[float] | np.ndarray,
    cues: Iterable[Fraction | float],
    frame: Fraction | float,
    seconds: float,
) -> MarkerScores:
    """Score detected `onsets` (seconds) against `cues` (seconds) with a tolerance of one and two `frame`s."""
    onsets = np.asarray(onsets, dtype=np.float64)
    cue_times = np.array([float(cue) for cue in cues], dtype=np.float64)
    frame = float(frame)
    if len(onsets) and len(cue_times):
        distance = np.abs(onsets[:, None] - cue_times[None, :])
        nearest_onset = distance.min(axis=0)
        nearest_cue = distance.min(axis=1)
    else:
        nearest_onset = np.full(len(cue_times), np.inf)
        nearest_cue = np.full(len(onsets), np.inf)
    return MarkerScores(
        cues=len(cue_times),
        hits_1=int(np.sum(nearest_onset <= frame + _SLACK_S)),
        hits_2=int(np.sum(nearest_onset <= 2 * frame + _SLACK_S)),
        onsets=len(onsets),
        false_onsets=int(np.sum(nearest_cue > 2 * frame + _SLACK_S)),
        seconds=float(seconds),
    )


def derangement(count: int) -> list[int]:
    """A fixed permutation without fixed points: clip i is scored against clip (i + 1) mod count's cues.

    Needs at least two clips.
    """
    if count < 2:
        raise ValueError(f"a derangement needs at least two items, got {count}")
    return [(index + 1) % count for index in range(count)]


def pool(scores: Iterable[MarkerScores]) -> MarkerScores:
    """The sum of several clips' scores (rates are then pooled over every cue and every minute)."""
    total = NO_SCORES
    for item in scores:
        total = total + item
    return total
