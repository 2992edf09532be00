"""Clean synthetic hits at known samples: the test material for onset detectors and snapping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HIT_KINDS = ("click", "noise_decay", "tone_decay")
NOISE_FLOOR_DB = -60.0


@dataclass(frozen=True)
class SyntheticHits:
    """Mono float32 audio and the sample each hit starts on."""

    samples: np.ndarray
    sample_rate: int
    onsets: np.ndarray  # int64 sample indices, ascending
    kinds: tuple[str, ...]


def hit(kind: str, rng: np.random.Generator, sr: int, length: int) -> np.ndarray:
    """One hit of `length` samples whose attack is its first sample, peak-normalised to 1.

    "click": a 1-2 ms burst of noise; "noise_decay": noise under an exponential
    decay (tau 5-60 ms); "tone_decay": a sine (100-3000 Hz, zero phase) under
    one (tau 20-120 ms), plus a faint noise attack as struck objects have. The
    last 30 ms fade out, so a hit ends in silence rather than being cut off.
    """
    t = np.arange(length) / sr
    if kind == "click":
        out = np.zeros(length)
        width = int(rng.integers(round(0.001 * sr), round(0.002 * sr) + 1))
        out[:width] = rng.standard_normal(width)
        out[0] = np.sign(out[0] or 1.0) * max(abs(out[0]), 1.0)
    elif kind == "noise_decay":
        out = rng.standard_normal(length) * np.exp(-t / rng.uniform(0.005, 0.06))
        out[0] = np.sign(out[0] or 1.0) * max(abs(out[0]), 1.0)
    elif kind == "tone_decay":
        tau = rng.uniform(0.02, 0.12)
        out = np.sin(2 * np.pi * rng.uniform(100, 3000) * t) * np.exp(-t / tau)
        out += 0.3 * rng.standard_normal(length) * np.exp(-t / 0.003)
    else:
        raise ValueError(f"unknown hit kind {kind!r}; expected one of {HIT_KINDS}")
    fade = min(round(0.03 * sr), length // 2)
    out[length - fade :] *= np.linspace(1.0, 0.0, fade)
    return out / np.abs(out).max()


def synthetic_hits(
    seed: int,
    seconds: float = 8.192,
    sr: int = 16_000,
    min_gap: float = 0.25,
    max_gap: float = 0.9,
    kinds: tuple[str, ...] = HIT_KINDS,
) -> SyntheticHits:
    """Hits of random kind and level (0 to -12 dB) `min_gap`-`max_gap` s apart over a -60 dB noise floor.

    Each hit fades out before the next starts; the same seed gives the same audio.
    """
    rng = np.random.default_rng(seed)
    length = round(seconds * sr)
    out = rng.standard_normal(length) * 10 ** (NOISE_FLOOR_DB / 20)
    onsets: list[int] = []
    chosen: list[str] = []
    position = rng.uniform(0.1, min_gap)
    while position < seconds - 0.1:
        onsets.append(round(position * sr))
        position += rng.uniform(min_gap, max_gap)
    for index, start in enumerate(onsets):
        end = onsets[index + 1] if index + 1 < len(onsets) else length
        kind = kinds[int(rng.integers(len(kinds)))]
        chosen.append(kind)
        out[start:end] += 10 ** (rng.uniform(-12, 0) / 20) * 0.9 * hit(kind, rng, sr, end - start)
    return SyntheticHits(
        samples=np.clip(out, -1, 1).astype(np.float32),
        sample_rate=sr,
        onsets=np.array(onsets, dtype=np.int64),
        kinds=tuple(chosen),
    )
