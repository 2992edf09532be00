from fractions import Fraction

import numpy as np
import pytest

from foley_engine.config import AUDIO
from foley_engine.data.oneshots import cut_oneshots
from foley_engine.data.rhythm import BURST_MAX_GAP_S, PATTERNS, SPARSE_MIN_GAP_S, onset_steps

from .conftest import synthetic_hits

RATE = AUDIO.sample_rate


def test_a_take_with_several_hits_is_cut_at_each_hit() -> None:
    hits = (0.25, 0.9, 1.7, 3.6)
    samples = synthetic_hits(hits, 0.015, 0, seed=1, rate=RATE)
    shots = cut_oneshots(samples, RATE, 1.5, 8)
    assert len(shots) == len(hits)
    for shot in shots:
        assert len(shot) <= 1.5 * RATE
        assert np.abs(shot).max() == pytest.approx(1.0)
        # The transient sits at the start: the first 3 ms already reach a tenth of the peak.
        assert np.abs(shot[: int(0.003 * RATE)]).max() >= 0.1


def test_leading_silence_is_trimmed_and_long_sounds_are_limited() -> None:
    samples = np.concatenate([np.zeros(RATE // 2, np.float32), synthetic_hits((0.0,), 2.0, 0, seed=2, rate=RATE)])
    samples = np.concatenate([samples, 0.5 * np.random.default_rng(0).standard_normal(3 * RATE).astype(np.float32)])
    shots = cut_oneshots(samples, RATE, 1.5, 8)
    assert shots and len(shots[0]) == int(1.5 * RATE)
    assert np.abs(shots[0][:32]).max() >= 0.1


def test_a_steady_texture_gives_no_one_shot() -> None:
    t = np.arange(3 * RATE) / RATE
    hum = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    fade = np.minimum(1.0, t / 1.5).astype(np.float32)  # a slow swell, no transient
    assert cut_oneshots(hum * fade, RATE, 1.5, 8) == []
    assert cut_oneshots(np.zeros(RATE, np.float32), RATE, 1.5, 8) == []


@pytest.mark.parametrize("fps", [Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(24000, 1001)])
def test_patterns_stay_on_the_grid_with_bursts_and_silences(fps: Fraction) -> None:
    first, last = 3, int(8 * fps)
    for seed in range(10):
        for pattern in PATTERNS:
            steps = onset_steps(pattern, np.random.default_rng(seed), 1 / fps, first, last)
            assert steps and steps == sorted(set(steps))
            assert first <= steps[0] and steps[-1] <= last
            gaps = np.diff(steps) / float(fps)
            if pattern == "burst":
                assert gaps.min() <= BURST_MAX_GAP_S < 0.15
            if pattern == "sparse" and len(steps) > 1:
                assert gaps.min() >= SPARSE_MIN_GAP_S - 1 / float(fps)
