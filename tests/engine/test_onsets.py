from fractions import Fraction

import numpy as np
import pytest

from foley_engine.config import AUDIO
from foley_engine.onsets import detect_onsets, mask_onsets, onset_mask, span_mask
from foley_engine.request import EventSpan

FRAME = 1 / float(AUDIO.frame_rate)


def test_onset_mask_marks_the_nearest_frame_and_drops_outside_times() -> None:
    mask = onset_mask([Fraction(0), Fraction(1, 10), Fraction(-1, 100), Fraction(9)], 512)
    assert mask.dtype == np.float32 and mask.shape == (512,)
    assert np.flatnonzero(mask).tolist() == [0, 6]  # 0.1 s × 62.5 = 6.25 → frame 6


def test_mask_and_onsets_round_trip_within_one_frame() -> None:
    times = np.sort(np.random.default_rng(1).uniform(0, 8.1, 20))
    times = times[np.diff(times, prepend=-1) > 2 * FRAME]
    back = mask_onsets(onset_mask(times, 512))
    assert len(back) == len(times)
    assert np.max(np.abs(back - times)) <= FRAME / 2 + 1e-9


def test_exact_frame_times_survive_exactly() -> None:
    times = [Fraction(k, 1) / AUDIO.frame_rate for k in (3, 100, 511)]
    np.testing.assert_allclose(mask_onsets(onset_mask(times, 512)), [float(t) for t in times])


def test_detect_onsets_finds_clicks_within_two_frames() -> None:
    rng = np.random.default_rng(0)
    samples = (0.001 * rng.standard_normal(AUDIO.window_samples)).astype(np.float32)
    clicks = [0.5, 1.3, 2.71, 4.0, 5.55, 7.2]
    for time in clicks:
        start = int(time * AUDIO.sample_rate)
        samples[start : start + 200] += np.exp(-np.arange(200) / 40) * rng.standard_normal(200)
    found = detect_onsets(samples, AUDIO.sample_rate)
    assert len(found) == len(clicks)
    assert np.max(np.abs(found - clicks)) <= 2 * FRAME


def test_detect_onsets_of_silence_is_empty() -> None:
    assert detect_onsets(np.zeros(16000, np.float32), AUDIO.sample_rate).size == 0


def test_span_mask_covers_the_span_and_at_least_one_frame() -> None:
    mask = span_mask([EventSpan(Fraction(1), Fraction(2)), (Fraction(3), Fraction(3001, 1000))], 512)
    assert np.flatnonzero(mask).tolist() == list(range(63, 125)) + [188]  # 62.5 and 187.5 round up


@pytest.mark.parametrize("span", [(-2.0, -1.0), (9.0, 10.0)])
def test_span_mask_drops_spans_outside(span: tuple[float, float]) -> None:
    assert not span_mask([span], 512).any()


def test_span_mask_cuts_spans_at_the_edges() -> None:
    mask = span_mask([(-1.0, 0.1), (8.0, 20.0)], 512)
    assert np.flatnonzero(mask).tolist() == list(range(0, 6)) + list(range(500, 512))
