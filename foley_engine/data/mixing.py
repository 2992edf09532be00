"""Mixing placed one-shots into a clip's soundtrack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PEAK = 10 ** (-1 / 20)  # -1 dBFS, so resampling or encoding later never clips
NOISE_DB_RANGE = (-66.0, -54.0)  # noise floor RMS relative to the one-shots' peak


@dataclass(frozen=True, eq=False)
class Placement:
    """A one-shot starting at `start` (samples), scaled by `gain`."""

    start: int
    samples: np.ndarray
    gain: float


def mix(placements: Sequence[Placement], length: int, rng: np.random.Generator) -> np.ndarray:
    """The float32 (length,) sum of the placements plus a faint white-noise floor, peak-normalised to PEAK.

    One-shots running past the end are cut off there. The noise floor keeps
    "silence" from being digital zero, which real recordings never are.
    """
    out = np.zeros(length, dtype=np.float64)
    for placement in placements:
        if not 0 <= placement.start < length:
            raise ValueError(f"placement at sample {placement.start} is outside the clip (0..{length - 1})")
        segment = placement.samples[: length - placement.start]
        out[placement.start : placement.start + len(segment)] += placement.gain * segment
    peak = float(np.abs(out).max())
    if peak > 0:
        out /= peak
    noise_rms = 10 ** (rng.uniform(*NOISE_DB_RANGE) / 20)
    out += rng.standard_normal(length) * noise_rms
    return (out * (PEAK / float(np.abs(out).max()))).astype(np.float32)
