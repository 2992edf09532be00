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
- A move that would leave no room for such a splice is not made. Moves are
  planned jointly (`_plan`): a run of close hits rendered a little early can
  move together where none could move alone.

Transients with no cue in reach, and the audio around them, stay bit-identical
up to the nearest splice. A cue left without a transient while a hit lies
within reach, as where the model merged two close hits into one sound, gets
a copy of that hit pasted onto it (`_fill`), as an editor would do by hand;
cues with no hit in reach are left alone. Transients come from
`foley_engine.metrics.precise_onset_samples`, so a moved or copied hit starts
on the cue's sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
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
FILL_MAX_MS = 60.0  # a filled-in hit plays at most this long before the generated audio takes over
FILL_LEAD_MS = 20.0  # and brings up to this much of the quiet before its attack, where there is room


@dataclass(frozen=True)
class TransientMove:
    """A transient that started at sample `source` and now starts at sample `target` (its cue)."""

    source: int
    target: int


@dataclass(frozen=True)
class SnapResult:
    """Snapped audio (same length and dtype as the input), the moves and fills made, and the splice centres."""

    samples: np.ndarray
    moves: tuple[TransientMove, ...]
    splices: tuple[int, ...]  # output samples on which each crossfade is centred
    fills: tuple[TransientMove, ...] = ()  # a copy of the hit at `source` (output) now also starts at `target`


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


def _plan(
    transients: np.ndarray,
    targets: list[int],
    reach: int,
    fade: int,
    power: np.ndarray,
    pre: int,
    post: int,
    length: int,
) -> list[_Anchor]:
    """Every transient's shift, chosen jointly: the most cues served, then the least total shift.

    Whether two neighbours can be spliced depends only on the pair, so the
    best plan is a shortest path along the chain of transients, each either
    left in place or moved onto one cue within reach. Choosing jointly lets a
    run of close hits move together where no single move would leave room for
    its splice (a burst the model rendered a little early).
    """
    start, end = _Anchor(0, 0, 0, 0), _Anchor(length, 0, 0, 0)
    options: list[list[tuple[_Anchor, int]]] = []  # (anchor, cue index or -1)
    for transient in transients:
        position = int(transient)
        choices = [(_Anchor(position, 0, pre, post), -1)]
        choices += [
            (_Anchor(position, cue - position, pre, post), j)
            for j, cue in enumerate(targets)
            if abs(cue - position) <= reach
        ]
        options.append(choices)

    def joins(a: tuple[_Anchor, int], b: tuple[_Anchor, int]) -> bool:
        if a[1] >= 0 and b[1] >= 0 and b[1] <= a[1]:
            return False
        return a[0].shift == b[0].shift or _splice(a[0], b[0], fade, power) is not None

    # back[k][c]: the choice at transient k - 1 on the best plan that makes choice c at transient k.
    back: list[list[int]] = []
    previous: list[tuple[tuple[_Anchor, int], tuple[int, int] | None]] = [((start, -1), (0, 0))]
    for choices in options:
        scores: list[tuple[int, int] | None] = []
        links: list[int] = []
        for choice in choices:
            gain = (int(choice[1] >= 0), -abs(choice[0].shift))
            candidates = [
                ((score[0] + gain[0], score[1] + gain[1]), index)
                for index, (earlier, score) in enumerate(previous)
                if score is not None and joins(earlier, choice)
            ]
            top = max(candidates, default=None)
            scores.append(None if top is None else top[0])
            links.append(-1 if top is None else top[1])
        back.append(links)
        previous = list(zip(choices, scores))
    finals = [
        (score, index)
        for index, (choice, score) in enumerate(previous)
        if score is not None and joins(choice, (end, -1))
    ]
    index = max(finals)[1]  # never empty: the plan that moves nothing always joins
    chosen: list[_Anchor] = []
    for k in range(len(options) - 1, -1, -1):
        chosen.append(options[k][index][0])
        index = back[k][index]
    return [start, *reversed(chosen), end]


def snap_transients(
    samples: np.ndarray,
    sr: int,
    cues: Iterable[Fraction | float],
    reach_ms: float = DEFAULT_REACH_MS,
    fade_ms: float = FADE_MS,
) -> SnapResult:
    """Move each transient of mono float `samples` that lies within `reach_ms` of a cue (seconds) onto it.

    Each transient serves at most one cue and each cue one transient, in their
    order; the pairing serves as many cues as the splices allow, with the least
    total shift among those plans.
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

    anchors = _plan(transients, targets, reach, fade, power, pre, post, length)
    splices = [(_splice(a, b, fade, power), b.shift) for a, b in zip(anchors, anchors[1:]) if a.shift != b.shift]
    out = _render(source, splices, fade)
    onsets = [a.position + a.shift for a in anchors[1:-1]]
    filled, fills, seams = _fill(out, sr, targets, onsets, reach, fade, pre, post)
    moves = tuple(
        TransientMove(source=a.position, target=a.position + a.shift) for a in anchors[1:-1] if a.shift != 0
    )
    return SnapResult(
        samples=filled.astype(samples.dtype),
        moves=moves,
        splices=tuple(sorted([centre for centre, _ in splices] + seams)),
        fills=fills,
    )


def _render(source: np.ndarray, splices: list[tuple[int, int]], fade: int) -> np.ndarray:
    """`source` with each stretch after a splice centre read `shift` samples earlier, crossfaded at the centres."""
    if not splices:
        return source.copy()
    fade_in, fade_out = fade_curves(fade, "equal_power")
    half = fade // 2
    length = len(source)
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
    return out


def _fill(
    audio: np.ndarray, sr: int, targets: list[int], onsets: list[int], reach: int, fade: int, pre: int, post: int
) -> tuple[np.ndarray, tuple[TransientMove, ...], list[int]]:
    """Cues no transient could be moved onto get a copy of the nearest hit within reach, in place.

    Where the model merged two close hits into one sound, a cue is left with
    its neighbour's transient only; a Foley editor would paste a copy of that
    hit onto the mark. The copy (up to FILL_LEAD_MS of the quiet before its
    attack, the attack and up to FILL_MAX_MS of body, never into another
    transient) replaces the audio from just before the cue, with crossfades
    either side; it ends where the generated audio
    taking over is at most 6 dB louder, so the return makes no new onset.
    Cues with no hit within reach, or too close to the hits around them, are
    left alone. Returns the audio, the fills and their crossfade centres.
    """
    length = len(audio)
    power = np.concatenate([[0.0], np.cumsum(audio**2)])
    window = fade * LEVEL_WINDOW_FADES
    longest_fill = round(FILL_MAX_MS * sr / 1000)
    longest_lead = round(FILL_LEAD_MS * sr / 1000)
    served = set(onsets)
    positions = sorted(set(onsets))
    fade_in, fade_out = fade_curves(fade, "equal_power")
    half = fade // 2
    out = audio.copy()
    fills: list[TransientMove] = []
    seams: list[int] = []
    for cue in targets:
        nearby = [onset for onset in onsets if abs(onset - cue) <= reach]
        if cue in served or not nearby:
            continue
        donor = min(nearby, key=lambda onset: (abs(onset - cue), onset))
        before_cue = max((p for p in positions if p < cue), default=None)
        after_cue = min((p for p in positions if p > cue), default=length)
        before_donor = max((p for p in onsets if p < donor), default=None)
        after_donor = min((p for p in onsets if p > donor), default=length)
        # The copy fades in over the fade before its lead, the quiet before the donor's attack:
        # as much as there is room for after the attacks before the cue and before the donor.
        room = cue - fade - (0 if before_cue is None else before_cue + post)
        source_room = donor - fade - (0 if before_donor is None else before_donor + post)
        lead = min(longest_lead, room, source_room)
        if lead < pre:
            continue
        start = cue - lead - fade
        shortest = post
        longest = min(after_cue - pre - fade - cue, after_donor - pre - fade - donor, longest_fill)
        longest = min(longest, length - fade - cue, length - fade - donor)
        if longest < shortest:
            continue
        ends = np.arange(shortest, longest + 1)
        copy_level = _mean_power(power, donor + ends - window, donor + ends)
        taken_over = _mean_power(power, cue + ends, cue + ends + window)
        loudness = np.where(taken_over <= MAX_SPLICE_RISE * copy_level + POWER_FLOOR, copy_level, np.inf)
        best = int(np.argmin(loudness))
        if not np.isfinite(loudness[best]):
            continue
        end = int(ends[best])
        piece = audio[donor - lead - fade : donor + end + fade].copy()
        own = np.ones(len(piece))
        own[:fade], own[-fade:] = fade_in, fade_out
        kept = np.zeros(len(piece))
        kept[:fade], kept[-fade:] = fade_out, fade_in
        region = slice(start, cue + end + fade)
        out[region] = out[region] * kept + piece * own
        fills.append(TransientMove(source=donor, target=cue))
        seams += [start + half, cue + end + half]
        positions = sorted([*positions, cue])
    return out, tuple(fills), seams
