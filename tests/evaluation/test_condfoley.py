"""CondFoleyGen's onset metrics on hand-made onset lists, each expected value worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from foley_engine.metrics import average_precision, condfoley_scores, score_onsets
from foley_engine.metrics.condfoley import confidences, suppress
from foley_engine.metrics.synthetic import synthetic_hits

REFERENCE = [1.0, 2.0, 3.0]
CONFIDENCE = [0.9, 0.8, 0.7]


def test_perfect_onsets_score_one() -> None:
    scores = score_onsets(REFERENCE, REFERENCE, CONFIDENCE)
    assert scores.count_matches
    assert scores.detection_accuracy == 1.0
    assert scores.average_precision == 1.0


def test_onsets_50_ms_late_still_match() -> None:
    scores = score_onsets(REFERENCE, [t + 0.05 for t in REFERENCE], CONFIDENCE)
    assert (scores.count_matches, scores.detection_accuracy, scores.average_precision) == (True, 1.0, 1.0)


def test_onsets_150_ms_late_all_miss() -> None:
    # Three misses (positives scored 0) under three false onsets (.9, .8, .7): the only
    # threshold that recalls anything is 0, where precision is 3/6.
    scores = score_onsets(REFERENCE, [t + 0.15 for t in REFERENCE], CONFIDENCE)
    assert scores.count_matches  # same number of onsets: onset accuracy does not see timing
    assert scores.detection_accuracy == 0.0
    assert scores.average_precision == pytest.approx(0.5)


def test_an_extra_onset_ranked_first_costs_precision() -> None:
    # Ranked: 1.5 (.95, false), 1.0 (.9, hit), 2.0 (.8, hit):
    # AP = 1/2 * 1/2 (recall 1/2 at precision 1/2) + 1/2 * 2/3 = 7/12.
    scores = score_onsets([1.0, 2.0], [1.0, 1.5, 2.0], [0.9, 0.95, 0.8])
    assert not scores.count_matches
    assert scores.detection_accuracy == 1.0
    assert scores.average_precision == pytest.approx(7 / 12)


def test_missing_onsets_lower_accuracy_but_not_ap_without_false_onsets() -> None:
    # CondFoleyGen scores a miss as a positive at 0; with no negative every precision is 1.
    scores = score_onsets(REFERENCE, [1.0, 3.0], [0.9, 0.8])
    assert not scores.count_matches
    assert scores.detection_accuracy == pytest.approx(2 / 3)
    assert scores.average_precision == 1.0


def test_missing_and_extra_onsets() -> None:
    # 1.0 hit (.6); 2.0 and 3.0 missed (0, 0); 2.5 false (.9).
    # Ranked .9 N, .6 P, 0 P, 0 P: recall 1/3 at precision 1/2, then 1 at 3/4 -> 1/6 + 1/2.
    scores = score_onsets(REFERENCE, [1.0, 2.5], [0.6, 0.9])
    assert scores.detection_accuracy == pytest.approx(1 / 3)
    assert scores.average_precision == pytest.approx(2 / 3)


def test_a_reference_takes_the_most_confident_candidate_not_the_nearest() -> None:
    # 1.0 takes 1.07 (.8) over 0.95 (.4); 1.1 then finds nothing within 0.1 s (0.95 is 0.15 away).
    # Ranked .8 P, .4 N, 0 P: 1/2 * 1 + 1/2 * 2/3 = 5/6.
    scores = score_onsets([1.0, 1.1], [0.95, 1.07], [0.4, 0.8])
    assert scores.detection_accuracy == 0.5
    assert scores.average_precision == pytest.approx(5 / 6)


def test_suppression_keeps_the_most_confident_of_close_onsets() -> None:
    assert suppress(np.array([1.0, 1.03, 1.2]), np.array([0.5, 0.9, 0.1])).tolist() == [1, 2]
    # The suppressed onset still counts for onset accuracy (raw counts), not for matching.
    scores = score_onsets([1.0], [1.0, 1.03], [0.5, 0.9])
    assert not scores.count_matches
    assert (scores.detection_accuracy, scores.average_precision) == (1.0, 1.0)


def test_no_onsets_anywhere() -> None:
    scores = score_onsets([], [], [])
    assert scores.count_matches and scores.detection_accuracy == 0.0 and scores.average_precision == 0.0


def test_average_precision_groups_tied_scores() -> None:
    assert average_precision([True, False], [0.5, 0.5]) == 0.5
    assert average_precision([False, False], [0.3, 0.2]) == 0.0


def test_average_precision_agrees_with_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(50):
        size = int(rng.integers(2, 30))
        labels = rng.random(size) < 0.5
        labels[0] = True
        scores = np.round(rng.random(size), 1)  # rounding makes ties
        assert average_precision(labels, scores) == pytest.approx(metrics.average_precision_score(labels, scores))


def test_confidence_is_the_normalised_peak_within_50_ms() -> None:
    audio = np.zeros(22_050 * 2)
    audio[11_025] = -0.5  # 0.5 s
    audio[22_050 + 2_000] = 1.0  # 1.09 s
    # min |y| = 0, max = 1: the onset at 0.5 s sees 0.5; one at 1.05 s sees the 1.0 at 0.04 s away.
    result = confidences(np.array([11_025, 23_152, 30_000]), audio)
    assert result.tolist() == [0.5, 1.0, 0.0]


def test_identical_audio_scores_perfectly() -> None:
    hits = synthetic_hits(1, seconds=4.0)
    scores = condfoley_scores(hits.samples, hits.samples, hits.sample_rate)
    assert scores.reference_onsets > 0 and scores.count_matches
    assert scores.detection_accuracy == 1.0 and scores.average_precision == 1.0
