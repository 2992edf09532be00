"""How well the video event detector finds contact onsets, sound activity and classes, frame by frame.

Everything is counted on video frames of the clip's own rate, so "within ±1
frame" is exact integer arithmetic. Figures are pooled over all clips scored:

- onset hit rate: share of true onsets with a detected onset within ±1 frame
  (and on the exact frame), read next to the precision (share of detected
  onsets within ±1 frame of a true one) and the false onsets per minute (the
  others), since firing on every frame would hit everything;
- AP: every onset `detection.onset_peaks` picks down to a small floor,
  ranked by confidence, each true onset matched one-to-one with its most
  confident pick within ±1 frame; the area under that ranking's
  precision-recall steps, recall counted over all true onsets, so the ones
  no pick matches cap it;
- onset class accuracy: of the hit onsets, the share whose nearest detection
  names the true class; frame class accuracy: the most probable class on the
  truly active frames; activity IoU: detected against true active frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..detection import FrameProbabilities, Thresholds, onset_peaks
from .condfoley import average_precision

# Onset peaks down to this probability enter the AP ranking.
AP_FLOOR = 0.01
REACH_FRAMES = 1


@dataclass(frozen=True)
class FrameTargets:
    """A clip's truth per video frame."""

    onset: np.ndarray  # (T,) 1 on each contact frame
    activity: np.ndarray  # (T,) 1 while a sound is going on
    classes: np.ndarray  # (T,) int class index on active frames, -1 elsewhere

    def __post_init__(self) -> None:
        if not len(self.onset) == len(self.activity) == len(self.classes):
            raise ValueError("onset, activity and classes targets must have one value per frame")


def _distances(frames: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each frame, the distance in frames to the nearest of `others` (inf if there are none)."""
    if len(frames) == 0 or len(others) == 0:
        return np.full(len(frames), np.inf)
    return np.abs(frames[:, None] - others[None, :]).min(axis=1).astype(np.float64)


@dataclass
class EventTally:
    """Counts over clips, turned into figures by `figures`."""

    onsets: int = 0
    hits: int = 0  # true onsets with a detection within ±1 frame
    exact_hits: int = 0  # ... on their own frame
    detections: int = 0
    true_detections: int = 0  # detections within ±1 frame of a true onset
    class_hits: int = 0  # hit onsets whose nearest detection names the true class
    active_frames: int = 0
    class_frames: int = 0  # active frames whose most probable class is the true one
    activity_overlap: int = 0
    activity_union: int = 0
    seconds: float = 0.0
    ranked_true: list[bool] = field(default_factory=list)  # each onset peak: matched to a true onset?
    ranked_scores: list[float] = field(default_factory=list)

    def add(
        self,
        probabilities: FrameProbabilities,
        targets: FrameTargets,
        fps: Fraction,
        thresholds: Thresholds,
    ) -> None:
        """Score one clip's probabilities against its targets (both over the same frames)."""
        if len(probabilities) != len(targets.onset):
            raise ValueError(f"{len(probabilities)} frames of probabilities but {len(targets.onset)} of targets")
        truth = np.flatnonzero(targets.onset > 0.5)
        detected = onset_peaks(probabilities.onset, thresholds.onset, thresholds.adjacent)
        to_detection = _distances(truth, detected)
        hit = to_detection <= REACH_FRAMES
        self.onsets += len(truth)
        self.hits += int(hit.sum())
        self.exact_hits += int((to_detection == 0).sum())
        self.detections += len(detected)
        self.true_detections += int((_distances(detected, truth) <= REACH_FRAMES).sum())
        for frame in truth[hit]:
            nearest = detected[np.argmin(np.abs(detected - frame))]
            self.class_hits += int(np.argmax(probabilities.classes[nearest]) == targets.classes[frame])
        active = targets.classes >= 0
        self.active_frames += int(active.sum())
        self.class_frames += int((np.argmax(probabilities.classes, axis=1) == targets.classes)[active].sum())
        predicted = probabilities.activity >= thresholds.activity
        truly = targets.activity > 0.5
        self.activity_overlap += int((predicted & truly).sum())
        self.activity_union += int((predicted | truly).sum())
        self.seconds += float(len(targets.onset) / fps)
        self._rank(truth, onset_peaks(probabilities.onset, AP_FLOOR, thresholds.adjacent), probabilities.onset)

    def _rank(self, truth: np.ndarray, candidates: np.ndarray, onset: np.ndarray) -> None:
        available = set(candidates.tolist())
        for frame in truth:
            near = [c for c in available if abs(c - frame) <= REACH_FRAMES]
            if near:
                best = max(near, key=lambda c: (onset[c], -c))
                available.remove(best)
                self.ranked_true.append(True)
                self.ranked_scores.append(float(onset[best]))
        for candidate in sorted(available):
            self.ranked_true.append(False)
            self.ranked_scores.append(float(onset[candidate]))

    def average_precision(self) -> float:
        """Σ (R_k − R_(k−1)) P_k over the distinct peak confidences in decreasing order."""
        if not self.onsets:
            return float("nan")
        # Missed onsets count against recall: the denominator is every true onset.
        return average_precision(self.ranked_true, self.ranked_scores, positives=self.onsets)

    def figures(self) -> dict[str, float]:
        """The pooled figures (see the module docstring); rates of nothing are NaN."""

        def share(part: int, whole: int) -> float:
            return part / whole if whole else float("nan")

        minutes = self.seconds / 60.0
        return {
            "onset_hit_rate": share(self.hits, self.onsets),
            "onset_exact_rate": share(self.exact_hits, self.onsets),
            "onset_precision": share(self.true_detections, self.detections),
            "false_per_min": (self.detections - self.true_detections) / minutes if minutes else float("nan"),
            "onset_ap": self.average_precision(),
            "onset_class_accuracy": share(self.class_hits, self.hits),
            "frame_class_accuracy": share(self.class_frames, self.active_frames),
            "activity_iou": share(self.activity_overlap, self.activity_union),
        }
