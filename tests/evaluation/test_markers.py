"""Marker hit rate, false onsets and the chance baseline, on hand-made lists and synthetic audio."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from foley_engine.metrics import check_levels, derangement, pool, precise_onsets, score_markers
from foley_engine.metrics.synthetic import hit

SR = 16_000
FRAME = Fraction(1, 24)


def test_hits_within_one_and_two_frames_and_false_onsets() -> None:
    cues = [Fraction(1), Fraction(2), Fraction(3)]
    # 40 ms (< 1 frame) after the first cue, 60 ms (1-2 frames) after the second, one far from all.
    scores = score_markers([1.04, 2.06, 5.0], cues, FRAME, seconds=6.0)
    assert (scores.cues, scores.hits_1, scores.hits_2, scores.onsets, scores.false_onsets) == (3, 1, 2, 3, 1)
    assert scores.hit_rate_1 == pytest.approx(1 / 3)
    assert scores.hit_rate_2 == pytest.approx(2 / 3)
    assert scores.false_per_minute == pytest.approx(10.0)


def test_an_onset_exactly_one_frame_off_is_a_hit() -> None:
    scores = score_markers([float(Fraction(2) + FRAME)], [Fraction(2)], FRAME, seconds=4.0)
    assert scores.hits_1 == 1


def test_one_onset_serves_every_cue_within_reach() -> None:
    scores = score_markers([1.0], [Fraction(1), Fraction(1) + FRAME], FRAME, seconds=2.0)
    assert scores.hits_1 == 2 and scores.false_onsets == 0


def test_pooling_weights_by_cues_and_minutes() -> None:
    a = score_markers([1.0], [Fraction(1)], FRAME, seconds=30.0)
    b = score_markers([5.0], [Fraction(1), Fraction(2), Fraction(3)], FRAME, seconds=30.0)
    total = pool([a, b])
    assert total.hit_rate_1 == pytest.approx(1 / 4)
    assert total.false_per_minute == pytest.approx(1.0)


def test_derangement_moves_every_clip() -> None:
    for count in range(2, 9):
        mapping = derangement(count)
        assert sorted(mapping) == list(range(count))
        assert all(index != other for index, other in enumerate(mapping))
    with pytest.raises(ValueError):
        derangement(1)


def _clicks(times: list[float], seconds: float, seed: int = 0, kind: str = "noise_decay") -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.standard_normal(round(seconds * SR)) * 1e-3
    for time in times:
        start = round(time * SR)
        out[start : start + 800] += 0.8 * hit(kind, rng, SR, 800)
    return out.astype(np.float32)


def test_audio_on_its_cues_beats_chance() -> None:
    rng = np.random.default_rng(1)
    clips = [list(np.cumsum(rng.uniform(0.3, 0.9, size=8)).round(3)) for _ in range(4)]
    cues = [[Fraction(t).limit_denominator(1000) for t in times] for times in clips]
    others = derangement(len(clips))
    own, chance = [], []
    for index, times in enumerate(clips):
        onsets = precise_onsets(_clicks(times, 8.0, index), SR)
        own.append(score_markers(onsets, cues[index], FRAME, 8.0))
        chance.append(score_markers(onsets, cues[others[index]], FRAME, 8.0))
    assert pool(own).hit_rate_1 == 1.0 and pool(own).false_onsets == 0
    assert pool(chance).hit_rate_1 < 0.3


def test_onsets_everywhere_hit_every_cue_and_the_baseline_shows_it() -> None:
    # A click every 60 ms "hits" any cue: only the false-onset rate and chance expose it.
    busy = _clicks(list(np.arange(0.1, 7.9, 0.06)), 8.0, kind="click")
    onsets = precise_onsets(busy, SR)
    own = score_markers(onsets, [Fraction(1), Fraction(3), Fraction(5)], FRAME, 8.0)
    chance = score_markers(onsets, [Fraction(3, 2), Fraction(7, 2), Fraction(13, 2)], FRAME, 8.0)
    assert own.hit_rate_1 == 1.0
    assert chance.hit_rate_1 == 1.0
    assert own.false_per_minute > 500


def test_silent_and_clipped_outputs() -> None:
    quiet = check_levels(np.full(1000, 10 ** (-70 / 20), dtype=np.float32))
    assert quiet.silent and not quiet.clipped
    assert check_levels(np.zeros(10)).silent
    loud = check_levels(np.array([0.0, 0.9995, -0.2], dtype=np.float32))
    assert loud.clipped and not loud.silent
    assert not check_levels(np.array([0.5, -0.998])).clipped
