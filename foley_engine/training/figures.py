"""The validation figures: retrieval accuracies for CAVP, onset agreement for the audio stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


def retrieval_accuracy(video: torch.Tensor, audio: torch.Tensor) -> float:
    """Share of clips whose own audio is the nearest (cosine) of all clips' audio to its video.

    `video` and `audio` are (N, D) clip embeddings, row i of each from clip i.
    """
    similarity = torch.nn.functional.normalize(video, dim=-1) @ torch.nn.functional.normalize(audio, dim=-1).T
    return (similarity.argmax(dim=1) == torch.arange(len(video))).float().mean().item()


def class_retrieval_accuracy(video: torch.Tensor, audio: torch.Tensor, labels: Sequence[Sequence[str]]) -> float:
    """Share of clips whose nearest (cosine) audio clip to its video shares one of its class labels."""
    similarity = torch.nn.functional.normalize(video, dim=-1) @ torch.nn.functional.normalize(audio, dim=-1).T
    nearest = similarity.argmax(dim=1).tolist()
    return sum(bool(set(labels[i]) & set(labels[j])) for i, j in enumerate(nearest)) / len(labels)


def temporal_accuracy(video: torch.Tensor, audio: torch.Tensor) -> float:
    """Share of (clip, step) pairs whose nearest audio step within the clip is the same step.

    `video` and `audio` are (N, T, D) unit step embeddings.
    """
    similarity = video @ audio.transpose(1, 2)
    steps = torch.arange(video.shape[1])
    return (similarity.argmax(dim=-1) == steps).float().mean().item()


def _near(times: np.ndarray, others: np.ndarray, tolerance: float) -> np.ndarray:
    """For each time, whether some time of `others` lies within ±tolerance."""
    if len(times) == 0 or len(others) == 0:
        return np.zeros(len(times), dtype=bool)
    return np.abs(times[:, None] - others[None, :]).min(axis=1) <= tolerance + 1e-9


@dataclass
class OnsetTally:
    """Counts from comparing detected onsets with reference onsets over a set of clips."""

    references: int = 0
    detected: int = 0
    references_found: int = 0  # references with a detected onset within the tolerance
    detected_true: int = 0  # detected onsets with a reference within the tolerance
    seconds: float = 0.0

    def add(self, reference: Sequence[float], detected: Sequence[float], tolerance: float, seconds: float) -> None:
        """Count one clip."""
        reference = np.asarray([float(t) for t in reference])
        detected = np.asarray([float(t) for t in detected])
        self.references += len(reference)
        self.detected += len(detected)
        self.references_found += int(_near(reference, detected, tolerance).sum())
        self.detected_true += int(_near(detected, reference, tolerance).sum())
        self.seconds += seconds

    @property
    def recall(self) -> float:
        """Share of reference onsets that were detected."""
        return self.references_found / self.references if self.references else 1.0

    @property
    def precision(self) -> float:
        """Share of detected onsets that are near a reference onset."""
        return self.detected_true / self.detected if self.detected else 1.0

    @property
    def false_per_minute(self) -> float:
        """Detected onsets farther than the tolerance from every reference, per minute of audio."""
        return (self.detected - self.detected_true) / (self.seconds / 60.0) if self.seconds else 0.0

    @property
    def detected_per_minute(self) -> float:
        """All detected onsets per minute of audio."""
        return self.detected / (self.seconds / 60.0) if self.seconds else 0.0

    def figures(self, prefix: str) -> dict[str, float]:
        """Recall, precision and false onsets per minute, keyed `<prefix>_...`."""
        return {
            f"{prefix}_recall": self.recall,
            f"{prefix}_precision": self.precision,
            f"{prefix}_false_per_min": self.false_per_minute,
        }


def onset_lags(reference: Sequence[float], detected: Sequence[float], tolerance: float) -> list[float]:
    """For each reference onset with a detected one within ±tolerance: nearest detected − reference (s)."""
    detected = np.asarray([float(t) for t in detected])
    lags = []
    for time in reference:
        if len(detected):
            difference = detected - float(time)
            nearest = difference[np.abs(difference).argmin()]
            if abs(nearest) <= tolerance + 1e-9:
                lags.append(float(nearest))
    return lags
