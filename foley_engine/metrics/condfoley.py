"""CondFoleyGen's onset metrics (Du et al., CVPR 2023, `predict_onset.py`), reimplemented.

Per clip, with the reference and the generated audio both at 22050 Hz:

- **Onsets**: `librosa.onset.onset_detect(y, sr=22050, units="samples", delta=0.3)`
  (librosa's spectral-flux detector with its default hop of 512 samples, a 23 ms
  grid), run on the reference and on the generated audio alike.
- **Confidence** of a generated onset at sample `o`: the largest value of
  `a = (|y| - min|y|) / (max|y| - min|y|)` (the generated waveform's magnitude
  min-max normalised over the clip) over the samples `[o - 0.05 s, o + 0.05 s)`.
- **Suppression**: in decreasing confidence, a generated onset is kept and every
  other one less than 0.05 s from it is dropped.
- **Matching**: the reference onsets in time order; each takes, among the kept
  generated onsets not yet taken that lie less than 0.1 s from it, the most
  confident one. A matched reference is a positive scored with that confidence;
  an unmatched reference is a positive scored 0; a kept generated onset left
  untaken is a negative scored with its confidence.
- **Onset detection accuracy**: matched references / reference onsets (0 for a
  clip without reference onsets).
- **Onset AP**: the average precision of those labels and scores,
  `sum_k (R_k - R_(k-1)) * P_k` over the distinct scores in decreasing order
  (scikit-learn's `average_precision_score`); 0 when there is no positive. Note
  what this inherits: a missed reference is a positive at score 0, so misses
  lower the AP only through the false onsets ranked above them; a clip with no
  false onset scores 1 however many references it misses.
- **Onset accuracy**: whether the clip's numbers of detected onsets (before
  suppression) are equal.

The benchmark reports each as its mean over clips.

Where this differs from `predict_onset.py`, deliberately: among several
candidates a reference takes the most confident one (the original compares the
normalised magnitude at the onset sample itself); the confidence window is cut
at the clip's start (the original's negative index wraps around); the original
suppression removes items from the list it iterates over, so it skips the
neighbour after each removal and lets some close onsets survive; the original
stops matching once every generated onset is taken, which leaves the AP unchanged
(with no negative left every precision is 1) and is not reproduced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import librosa
import numpy as np

from ..audio_io import resample

RATE = 22_050
MATCH_WINDOW_S = 0.1
CONFIDENCE_HALF_WINDOW_S = 0.05
SUPPRESSION_WINDOW_S = 0.05
PEAK_DELTA = 0.3


@dataclass(frozen=True)
class OnsetScores:
    """One clip's CondFoleyGen onset figures."""

    reference_onsets: int
    generated_onsets: int
    count_matches: bool  # onset accuracy, per clip
    detection_accuracy: float
    average_precision: float


def detect(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """`samples` resampled to 22050 Hz, and their onsets as sample indices at that rate."""
    audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, RATE)
    if not np.any(audio):
        return audio, np.zeros(0, dtype=np.int64)
    onsets = librosa.onset.onset_detect(y=audio, sr=RATE, units="samples", delta=PEAK_DELTA)
    return audio, np.asarray(onsets, dtype=np.int64)


def confidences(onsets: np.ndarray, audio: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Each onset's confidence: the peak of the min-max normalised |audio| within ±0.05 s of it."""
    magnitude = np.abs(np.asarray(audio, dtype=np.float64))
    span = magnitude.max() - magnitude.min() if len(magnitude) else 0.0
    if span == 0:
        return np.zeros(len(onsets))
    normalised = (magnitude - magnitude.min()) / span
    half = int(CONFIDENCE_HALF_WINDOW_S * rate)
    return np.array([normalised[max(o - half, 0) : o + half].max(initial=0.0) for o in onsets])


def suppress(onsets: np.ndarray, scores: np.ndarray, window: float = SUPPRESSION_WINDOW_S) -> np.ndarray:
    """Indices (ascending) of the onsets kept by non-maximum suppression within `window` seconds.

    `onsets` are in seconds. Equal scores keep the earlier onset.
    """
    kept: list[int] = []
    for index in np.argsort(-np.asarray(scores), kind="stable"):
        if all(abs(onsets[index] - onsets[other]) >= window for other in kept):
            kept.append(int(index))
    return np.array(sorted(kept), dtype=np.int64)


def average_precision(
    labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray, positives: int | None = None
) -> float:
    """sum_k (R_k - R_(k-1)) P_k over the distinct scores in decreasing order; 0 without positives.

    Recall counts against `positives` when given (true items that were never
    ranked, such as missed onsets, included), else against the ranked true items.
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(labels.sum()) if positives is None else positives
    if positives == 0 or not labels.any():
        return 0.0
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    # Tied scores form one threshold: evaluate only at the last item of each run.
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]
    true_positives = np.cumsum(labels)[last]
    precision = true_positives / (last + 1)
    recall = true_positives / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def score_onsets(
    reference: Sequence[float] | np.ndarray,
    generated: Sequence[float] | np.ndarray,
    generated_confidences: Sequence[float] | np.ndarray,
    match_window: float = MATCH_WINDOW_S,
) -> OnsetScores:
    """The CondFoleyGen figures of one clip from onset times in seconds and the generated onsets' confidences."""
    reference = np.sort(np.asarray(reference, dtype=np.float64))
    generated = np.asarray(generated, dtype=np.float64)
    scores = np.asarray(generated_confidences, dtype=np.float64)
    if scores.shape != generated.shape:
        raise ValueError(f"{len(generated)} generated onsets but {len(scores)} confidences")
    kept = suppress(generated, scores)
    available = set(kept.tolist())
    labels: list[bool] = []
    ranked: list[float] = []
    matched = 0
    for time in reference:
        candidates = [index for index in available if abs(generated[index] - time) < match_window]
        labels.append(True)
        if not candidates:
            ranked.append(0.0)
            continue
        best = max(candidates, key=lambda index: (scores[index], -index))
        available.remove(best)
        ranked.append(float(scores[best]))
        matched += 1
    for index in sorted(available):
        labels.append(False)
        ranked.append(float(scores[index]))
    return OnsetScores(
        reference_onsets=len(reference),
        generated_onsets=len(generated),
        count_matches=len(reference) == len(generated),
        detection_accuracy=matched / len(reference) if len(reference) else 0.0,
        average_precision=average_precision(labels, ranked),
    )


def condfoley_scores(reference: np.ndarray, generated: np.ndarray, sample_rate: int) -> OnsetScores:
    """CondFoleyGen's figures for one clip: both waveforms at `sample_rate`, detected and scored as above."""
    _, reference_onsets = detect(reference, sample_rate)
    audio, generated_onsets = detect(generated, sample_rate)
    return score_onsets(
        reference_onsets / RATE, generated_onsets / RATE, confidences(generated_onsets, audio, RATE)
    )
