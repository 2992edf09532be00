"""The measuring chain's own error: how far the onset detectors read from known onsets.

Measured on clean synthetic hits and on a dataset split's audio, whose one-shots
sit at exactly known samples (each one-shot's attack starts on its first sample).
On the dataset, "isolated" onsets have no other onset within 150 ms; the rest
overlap their neighbours' sounds and measure how well close hits are told apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..audio_io import read_wav
from ..data import ClipRecord
from ..metrics import TimingError, precise_onsets, summarise_errors, timing_errors
from ..metrics.synthetic import synthetic_hits
from ..onsets import detect_onsets

ISOLATION_S = 0.15
SYNTHETIC_CLIPS = 20

Detector = Callable[[np.ndarray, int], np.ndarray]
DETECTORS: dict[str, Detector] = {"precise": precise_onsets, "librosa": detect_onsets}


@dataclass(frozen=True)
class DetectorErrors:
    """Each detector's `TimingError` on each material."""

    errors: dict[str, dict[str, TimingError]]  # material -> detector -> error

    def as_dict(self) -> dict[str, dict[str, dict[str, float | int]]]:
        return {
            material: {name: error.as_dict() for name, error in by_detector.items()}
            for material, by_detector in self.errors.items()
        }


def _isolated(truth: np.ndarray) -> np.ndarray:
    gaps = np.abs(truth[:, None] - truth[None, :])
    np.fill_diagonal(gaps, np.inf)
    return gaps.min(axis=1, initial=np.inf) >= ISOLATION_S


def measure_detectors(clips: Sequence[ClipRecord], synthetic_clips: int = SYNTHETIC_CLIPS) -> DetectorErrors:
    """Both detectors' errors on `synthetic_clips` seeded synthetic clips and on `clips`' reference audio."""
    collected: dict[str, dict[str, list[np.ndarray]]] = {
        material: {name: [] for name in DETECTORS} for material in ("synthetic", "dataset", "dataset_isolated")
    }
    counts = {"synthetic": 0, "dataset": 0, "dataset_isolated": 0}
    for seed in range(synthetic_clips):
        hits = synthetic_hits(seed)
        truth = hits.onsets / hits.sample_rate
        counts["synthetic"] += len(truth)
        for name, detector in DETECTORS.items():
            collected["synthetic"][name].append(timing_errors(detector(hits.samples, hits.sample_rate), truth))
    for clip in clips:
        samples, rate = read_wav(clip.audio)
        truth = np.array([onset.sample for onset in clip.onsets]) / rate
        isolated = truth[_isolated(truth)]
        counts["dataset"] += len(truth)
        counts["dataset_isolated"] += len(isolated)
        for name, detector in DETECTORS.items():
            detected = detector(samples, rate)
            collected["dataset"][name].append(timing_errors(detected, truth))
            collected["dataset_isolated"][name].append(timing_errors(detected, isolated))
    return DetectorErrors(
        errors={
            material: {
                name: summarise_errors(np.concatenate(parts) if parts else np.zeros(0), counts[material])
                for name, parts in by_detector.items()
            }
            for material, by_detector in collected.items()
        }
    )
