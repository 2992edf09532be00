"""Cutting a long clip into model windows and joining the generated windows again."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .config import AUDIO

CURVES = ("equal_power", "linear")


def plan_windows(
    n_samples: int, window: int = AUDIO.window_samples, overlap: int = AUDIO.sample_rate
) -> list[int]:
    """Start offsets (in samples) of the windows that cover `n_samples`.

    Consecutive windows overlap by exactly `overlap` samples; the last one may
    run past the end (its tail is cut off when joining). A clip no longer than
    one window gets a single window at 0.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, {window}), got {overlap}")
    step = window - overlap
    count = 1 + max(0, math.ceil((n_samples - window) / step))
    return [k * step for k in range(count)]


def fade_curves(length: int, curve: str = "equal_power") -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) gains over `length` samples.

    "equal_power" (sin/cos) keeps the loudness of uncorrelated material, such as
    two independently generated windows, constant through the overlap;
    "linear" keeps identical (fully correlated) material constant.
    """
    if curve not in CURVES:
        raise ValueError(f"curve must be one of {CURVES}, got {curve!r}")
    x = (np.arange(length, dtype=np.float64) + 0.5) / length
    if curve == "linear":
        return x, 1.0 - x
    return np.sin(0.5 * np.pi * x), np.cos(0.5 * np.pi * x)


def join_windows(
    windows: Sequence[np.ndarray],
    n_samples: int,
    overlap: int = AUDIO.sample_rate,
    curve: str = "equal_power",
) -> np.ndarray:
    """Overlap-add windows laid out by `plan_windows` into exactly `n_samples` float32 samples.

    Each overlap is crossfaded (fade-out of the earlier window against fade-in
    of the later one), so the join has neither a gap nor a hard cut.
    """
    if not windows:
        raise ValueError("no windows to join")
    window = len(windows[0])
    starts = plan_windows(n_samples, window, overlap)
    if len(starts) != len(windows):
        raise ValueError(f"{n_samples} samples need {len(starts)} windows of {window}, got {len(windows)}")
    fade_in, fade_out = fade_curves(overlap, curve) if overlap else (np.ones(0), np.ones(0))
    out = np.zeros(n_samples, dtype=np.float64)
    for index, (start, samples) in enumerate(zip(starts, windows)):
        if len(samples) != window:
            raise ValueError(f"window {index} has {len(samples)} samples, expected {window}")
        gain = np.ones(window)
        if index > 0:
            gain[:overlap] *= fade_in
        if index < len(windows) - 1:
            gain[window - overlap :] *= fade_out
        end = min(start + window, n_samples)
        out[start:end] += (np.asarray(samples, dtype=np.float64) * gain)[: end - start]
    return out.astype(np.float32)
