"""Transient snapping: what a Foley editor does by hand with "audio quantize" in a DAW.

After generation, each transient that lies within reach of a cue is moved onto
the cue. The audio is cut into segments at the transients and each segment is
*shifted*, never time-stretched, so every sound keeps its pitch and texture.
The output has exactly the input's length and no gaps:

- Each transient carries its segment's shift; the clip's first and last samples
  are fixed anchors with shift 0, so a shifted stretch always splices back into
  the untouched audio.
- Between two neighbours with different shifts there is one splice: an
  equal-power crossfade of a few ms from the earlier segment's material to the
  later one's. A segment that grows repeats a little of the material before the
  next transient; one that shrinks drops a little of its tail.
- The splice goes where the two crossfaded signals are quietest, inside the span
  where it cannot cut into a transient: it ends at least a pre-roll before the
  next transient and starts after the previous transient's attack, and neither
  attack is ever read twice (no doubled hits). Nor may the incoming side be more
  than 6 dB louder than the outgoing one: a jump in level would itself be heard,
  and detected, as a new onset.
- A move that would leave no room for such a splice is not made.

Transients with no cue in reach, and the audio around them, stay bit-identical
up to the nearest splice; cues with no transient in reach are left alone.
Transients come from `foley_engine.metrics.precise_onset_samples`, so a moved
hit starts on the cue's sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from .metrics.detector import precise_onset_samples
from .windows import fade_curves

DEFAULT_REACH_MS = 100.0
MAX_REACH_MS = 500.0
FADE_MS = 4.0
PRE_ROLL_MS = 5.0  # a splice ends at least this long before a transient's start
ATTACK_MS = 20.0  # the first part of a transient that is never repeated nor cut into
MAX_SPLICE_RISE = 10 ** (6.0 / 10)  # power ratio: a splice may get at most 6 dB louder
POWER_FLOOR = 1e-9  # mean power of -90 dBFS: below it every level counts as silence
LEVEL_WINDOW_FADES = 3  # levels either side of a splice are measured over this many fade lengths


@dataclass(frozen=True)
class TransientMove:
    """A transient that started at sample `source` and now starts at sample `target` (its cue)."""

    source: int
    target: int


@dataclass(frozen=True)
class SnapResult:
    """Snapped audio (same length and dtype as the input), the moves made and the splice centres."""

    samples: np.ndarray
    moves: tuple[TransientMove, ...]
    splices: tuple[int, ...]  # output samples on which each crossfade is centred


@dataclass(frozen=True)
class _Anchor:
    position: int  # in the input
    shift: int  # output = input + shift
    pre: int  # samples before `position` a splice must stay out of
    post: int  # samples after `position` that are never read twice


def _cue_sample(cue: Fraction | float, sr: int) -> int:
    if isinstance(cue, Fraction):
        return math.floor(cue * sr + Fraction(1, 2))
    return math.floor(float(cue) * sr + 0.5)


def _mean_power(power: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Mean of squared samples over [start, end) per item, from the cumulative sum `power` (clipped to the clip)."""
    start = np.clip(start, 0, len(power) - 1)
    end = np.clip(end, 0, len(power) - 1)
    return (power[end] - power[start]) / np.maximum(end - start, 1)


def _splice(a: _Anchor, b: _Anchor, fade: int, power: np.ndarray) -> int | None:
    """Centre of the crossfade from `a`'s shift to `b`'s, or None where no allowed place exists.

    Allowed: the crossfade reads neither attack twice, ends a pre-roll before
    `b`, and what `b`'s side plays after it is at most 6 dB louder than what
    `a`'s side played before it, so the splice never makes a new transient.
    Among those, the quietest place (latest on ties).
    """
    half = fade // 2
    low = a.position + a.post + max(a.shift, b.shift) + half
    high = b.position - b.pre + min(a.shift, b.shift) - (fade - half)
    if low > high:
        return None
    centres = np.arange(low, high + 1)
    window = fade * LEVEL_WINDOW_FADES
    a_end = centres - half - a.shift
    before = _mean_power(power, a_end - window, a_end)
    b_start = centres - half - b.shift
    after = _mean_power(power, b_start, np.minimum(b_start + window, b.position - b.pre))
    loudness = np.where(after <= MAX_SPLICE_RISE * before + POWER_FLOOR, np.maximum(before, after), np.inf)
    best = len(centres) - 1 - int(np.argmin(loudness[::-1]))
    return int(centres[best]) if np.isfinite(loudness[best]) else None


def snap_transients(
    samples: np.ndarray,
    sr: int,
    cues: Iterable[Fraction | float],
    reach_ms: float = DEFAULT_REACH_MS,
    fade_ms: float = FADE_MS,
) -> SnapResult:
    """Move each transient of mono float `samples` that lies within `reach_ms` of a cue (seconds) onto it.

    Transient and cue are paired nearest first, each used once, and a pairing
    that would reorder transients or leave no room to splice is skipped.
    """
    if not (math.isfinite(reach_ms) and reach_ms > 0):
        raise ValueError(f"reach_ms must be positive, got {reach_ms}")
    if not (math.isfinite(fade_ms) and fade_ms > 0):
        raise ValueError(f"fade_ms must be positive, got {fade_ms}")
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {samples.shape}")
    length = len(samples)
    targets = sorted({s for s in (_cue_sample(cue, sr) for cue in cues) if 0 <= s < length})
    transients = precise_onset_samples(samples, sr) if targets else np.zeros(0, dtype=np.int64)
    fade = max(2, round(fade_ms * sr / 1000))
    reach = round(reach_ms * sr / 1000)
    pre, post = round(PRE_ROLL_MS * sr / 1000), round(ATTACK_MS * sr / 1000)
    source = samples.astype(np.float64)
    power = np.concatenate([[0.0], np.cumsum(source**2)])

    anchors = [_Anchor(0, 0, 0, 0), *(_Anchor(int(t), 0, pre, post) for t in transients), _Anchor(length, 0, 0, 0)]
    pairs = sorted(
        (abs(c - int(t)), i, j) for i, t in enumerate(transients) for j, c in enumerate(targets) if abs(c - t) <= reach
    )
    taken_transients: set[int] = set()
    taken_cues: set[int] = set()
    for _, i, j in pairs:
        if i in taken_transients or j in taken_cues:
            continue
        index = i + 1
        moved = replace(anchors[index], shift=targets[j] - anchors[index].position)
        left, right = anchors[index - 1], anchors[index + 1]
        if all(
            first.shift == second.shift or _splice(first, second, fade, power) is not None
            for first, second in ((left, moved), (moved, right))
        ):
            anchors[index] = moved
            taken_transients.add(i)
            taken_cues.add(j)

    splices = [(_splice(a, b, fade, power), b.shift) for a, b in zip(anchors, anchors[1:]) if a.shift != b.shift]
    if not splices:
        return SnapResult(samples=samples.copy(), moves=(), splices=())

    fade_in, fade_out = fade_curves(fade, "equal_power")
    half = fade // 2
    out = np.zeros(length, dtype=np.float64)
    bounds = [0, *(centre - half for centre, _ in splices), length]
    shifts = [0, *(shift for _, shift in splices)]
    for run, shift in enumerate(shifts):
        fades_out = run < len(shifts) - 1
        start = bounds[run]
        end = bounds[run + 1] + fade if fades_out else length
        piece = source[start - shift : end - shift].copy()
        if run > 0:
            piece[:fade] *= fade_in
        if fades_out:
            piece[-fade:] *= fade_out
        out[start:end] += piece
    moves = tuple(
        TransientMove(source=a.position, target=a.position + a.shift) for a in anchors[1:-1] if a.shift != 0
    )
    return SnapResult(
        samples=out.astype(samples.dtype), moves=moves, splices=tuple(centre for centre, _ in splices)
    )
