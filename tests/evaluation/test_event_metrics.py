"""The video event detector's figures, frame by frame, on hand-made probabilities."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from foley_engine.detection import FrameProbabilities, Thresholds
from foley_engine.metrics.events import EventTally, FrameTargets

FPS = Fraction(24)
FRAMES = 240  # 10 s
THRESHOLDS = Thresholds(onset=0.5, activity=0.5, adjacent=0.95)


def targets(onsets: dict[int, int], length: int = 4) -> FrameTargets:
    """Onsets {frame: class}; each sound active for `length` frames."""
    onset = np.zeros(FRAMES, dtype=np.float32)
    activity = np.zeros(FRAMES, dtype=np.float32)
    classes = np.full(FRAMES, -1)
    for frame, label in onsets.items():
        onset[frame] = 1
        activity[frame : frame + length] = 1
        classes[frame : frame + length] = label
    return FrameTargets(onset, activity, classes)


def probabilities(peaks: dict[int, float], active: list[int], labels: dict[int, int]) -> FrameProbabilities:
    """Onset peaks {frame: probability}, active frames, and the most probable class per frame (default 0)."""
    onset = np.full(FRAMES, 0.001)
    for frame, value in peaks.items():
        onset[frame] = value
    activity = np.zeros(FRAMES)
    activity[active] = 0.9
    classes = np.full((FRAMES, 3), 0.1)
    classes[:, 0] = 0.8
    for frame, label in labels.items():
        classes[frame] = 0.1
        classes[frame, label] = 0.8
    return FrameProbabilities(onset, activity, classes)


def test_perfect_detections_score_full_marks() -> None:
    truth = targets({20: 1, 100: 2})
    active = [*range(20, 24), *range(100, 104)]
    labels = {k: 1 for k in range(20, 24)} | {k: 2 for k in range(100, 104)}
    tally = EventTally()
    tally.add(probabilities({20: 0.9, 100: 0.8}, active, labels), truth, FPS, THRESHOLDS)
    figures = tally.figures()
    for name in ("onset_hit_rate", "onset_exact_rate", "onset_precision", "onset_ap"):
        assert figures[name] == 1.0, name
    assert figures["false_per_min"] == 0.0
    assert figures["onset_class_accuracy"] == figures["frame_class_accuracy"] == figures["activity_iou"] == 1.0


def test_one_frame_late_hits_two_frames_late_misses_and_extras_are_false() -> None:
    truth = targets({20: 0, 100: 0, 180: 0})
    # 21: one frame late (a hit, not exact); 102: two frames late (a miss and a false onset);
    # 150: nowhere near (false); 180 peaks below the threshold (missed, but ranked for AP).
    found = probabilities({21: 0.9, 102: 0.8, 150: 0.7, 180: 0.3}, [], {})
    tally = EventTally()
    tally.add(found, truth, FPS, THRESHOLDS)
    figures = tally.figures()
    assert figures["onset_hit_rate"] == pytest.approx(1 / 3)
    assert figures["onset_exact_rate"] == 0.0
    assert figures["onset_precision"] == pytest.approx(1 / 3)
    assert figures["false_per_min"] == pytest.approx(2 / (10 / 60))
    # Ranked 0.9 (true), 0.8 (false), 0.7 (false), 0.3 (true): 1/3 × 1 + 1/3 × 2/4.
    assert figures["onset_ap"] == pytest.approx(1 / 3 + 1 / 6)
    assert figures["activity_iou"] == 0.0


def test_contacts_on_consecutive_frames_need_the_adjacent_rule_to_be_found_both() -> None:
    truth = targets({20: 0, 21: 0, 100: 0})
    found = probabilities({20: 0.95, 21: 0.9, 100: 0.9}, [], {})
    both, one = EventTally(), EventTally()
    both.add(found, truth, FPS, Thresholds(onset=0.5, activity=0.5, adjacent=0.85))
    one.add(found, truth, FPS, Thresholds(onset=0.5, activity=0.5, adjacent=1.0))
    assert both.figures()["onset_exact_rate"] == both.figures()["onset_ap"] == 1.0
    # With peaks alone frame 21 is not reported: still a hit within ±1 frame, but not on its
    # frame, and the one-to-one AP ranking misses it.
    assert one.figures()["onset_hit_rate"] == 1.0
    assert one.figures()["onset_exact_rate"] == pytest.approx(2 / 3)
    assert one.figures()["onset_ap"] == pytest.approx(2 / 3)


def test_wrong_classes_and_pooling_over_clips() -> None:
    tally = EventTally()
    tally.add(probabilities({20: 0.9}, list(range(20, 24)), {}), targets({20: 2}), FPS, THRESHOLDS)
    tally.add(probabilities({50: 0.9}, list(range(50, 52)), {}), targets({50: 0}), FPS, THRESHOLDS)
    figures = tally.figures()
    assert figures["onset_hit_rate"] == 1.0
    assert figures["onset_class_accuracy"] == 0.5  # class 0 everywhere: right on the second clip only
    assert figures["frame_class_accuracy"] == 0.5
    assert figures["activity_iou"] == pytest.approx(6 / 8)
    assert tally.seconds == pytest.approx(20.0)


def test_nothing_to_find_and_nothing_found_is_undefined_not_perfect() -> None:
    tally = EventTally()
    tally.add(probabilities({}, [], {}), targets({}), FPS, THRESHOLDS)
    figures = tally.figures()
    assert np.isnan(figures["onset_hit_rate"]) and np.isnan(figures["onset_precision"])
    assert np.isnan(figures["onset_ap"])
    assert figures["false_per_min"] == 0.0
    short = FrameProbabilities(np.zeros(3), np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="frames"):
        tally.add(short, targets({}), FPS, THRESHOLDS)
