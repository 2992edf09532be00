"""Onset schedules for a clip: regular beats, irregular hits, dense bursts and long silences.

Schedules are drawn on a time grid (video frames for paired clips, samples
for pure-audio ones), so every onset is exactly representable: a paired
clip's onset is a frame time, never between frames.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

PATTERNS: tuple[str, ...] = ("regular", "irregular", "burst", "sparse")

# Events inside a burst are at most this far apart (a fast footstep shuffle,
# a rattle); the gap is rounded down onto the grid so it never exceeds it.
BURST_MAX_GAP_S = 0.14
# In a sparse clip consecutive events are at least this far apart.
SPARSE_MIN_GAP_S = 3.0


def onset_steps(pattern: str, rng: np.random.Generator, step: Fraction, first: int, last: int) -> list[int]:
    """Strictly increasing grid indices in [first, last] following `pattern` (one of PATTERNS).

    `step` is the grid spacing in seconds. Every schedule has at least one onset.
    """
    if first > last:
        raise ValueError(f"empty onset range [{first}, {last}]")
    seconds = float(step)

    def steps(duration: float) -> int:
        return max(1, int(duration / seconds))

    def start(latest: float) -> int:
        return first + int(rng.uniform(0.0, latest) / seconds)

    onsets: list[int] = []
    position = first
    if pattern == "regular":
        period = steps(rng.uniform(0.3, 1.0))
        onsets = list(range(first + int(rng.uniform(0.0, 1.0) * period), last + 1, period))
    elif pattern == "irregular":
        position = start(0.6)
        while position <= last:
            onsets.append(position)
            position += steps(rng.uniform(0.15, 1.2))
    elif pattern == "burst":
        position = start(0.6)
        while position <= last:
            for _ in range(int(rng.integers(2, 6))):
                if position > last:
                    break
                onsets.append(position)
                position += steps(rng.uniform(0.04, BURST_MAX_GAP_S))
            position += steps(rng.uniform(0.6, 2.0))
    elif pattern == "sparse":
        position = start(2.0)
        for _ in range(int(rng.integers(1, 4))):
            if position > last:
                break
            onsets.append(position)
            position += steps(rng.uniform(SPARSE_MIN_GAP_S, 4.5))
    else:
        raise ValueError(f"unknown rhythm pattern {pattern!r}; expected one of {PATTERNS}")
    return onsets or [min(position, last)]
