"""Scoring one clip's audio against its reference and its cues, and pooling clips into a row.

Every figure of the synchronisation benchmark comes from here, so a model row,
a snapped row and a reference-chain row are computed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..metrics import (
    LevelCheck,
    MarkerScores,
    OnsetScores,
    check_levels,
    condfoley_scores,
    pool,
    precise_onsets,
    score_markers,
)


@dataclass(frozen=True)
class Cues:
    """A clip's cue times (exact seconds) and the length of one of its video frames."""

    times: tuple[Fraction, ...]
    frame: Fraction


@dataclass(frozen=True)
class ClipScores:
    """Every figure of one clip's audio."""

    clip: str
    onsets: OnsetScores  # CondFoleyGen, against the reference audio
    markers: MarkerScores  # precise onsets against the clip's own cues
    chance: MarkerScores | None  # the same onsets against another clip's cues
    levels: LevelCheck
    detected: tuple[float, ...]  # precise onset times, seconds

    def as_dict(self) -> dict[str, object]:
        return {
            "clip": self.clip,
            "reference_onsets": self.onsets.reference_onsets,
            "generated_onsets": self.onsets.generated_onsets,
            "onset_count_matches": self.onsets.count_matches,
            "onset_detection_acc": self.onsets.detection_accuracy,
            "onset_ap": self.onsets.average_precision,
            "cues": self.markers.cues,
            "hits_1f": self.markers.hits_1,
            "hits_2f": self.markers.hits_2,
            "false_onsets": self.markers.false_onsets,
            "chance_hits_1f": None if self.chance is None else self.chance.hits_1,
            "chance_hits_2f": None if self.chance is None else self.chance.hits_2,
            "rms_dbfs": self.levels.rms_dbfs,
            "peak": self.levels.peak,
        }


def score_clip(
    clip: str,
    audio: np.ndarray,
    reference: np.ndarray,
    sample_rate: int,
    cues: Cues,
    chance_cues: Cues | None,
) -> ClipScores:
    """Score `audio` (mono, `sample_rate`) of one clip; `chance_cues` are another clip's, or None."""
    detected = precise_onsets(audio, sample_rate)
    seconds = len(audio) / sample_rate
    return ClipScores(
        clip=clip,
        onsets=condfoley_scores(reference, audio, sample_rate),
        markers=score_markers(detected, cues.times, cues.frame, seconds),
        chance=None if chance_cues is None else score_markers(detected, chance_cues.times, chance_cues.frame, seconds),
        levels=check_levels(audio),
        detected=tuple(float(t) for t in detected),
    )


@dataclass(frozen=True)
class Row:
    """One line of the benchmark table: a condition's clips pooled."""

    name: str
    snapped: bool
    clips: int
    onset_acc: float
    onset_detection_acc: float
    onset_ap: float
    markers: MarkerScores
    chance: MarkerScores | None
    silent: int
    clipped: int
    limited: int  # outputs the engine scaled down because they went over full scale

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "snapped": self.snapped,
            "clips": self.clips,
            "onset_acc": self.onset_acc,
            "onset_detection_acc": self.onset_detection_acc,
            "onset_ap": self.onset_ap,
            "cues": self.markers.cues,
            "hit_rate_1f": self.markers.hit_rate_1,
            "hit_rate_2f": self.markers.hit_rate_2,
            "false_onsets_per_min": self.markers.false_per_minute,
            "onsets_per_min": 60.0 * self.markers.onsets / self.markers.seconds if self.markers.seconds else None,
            "chance_hit_rate_1f": None if self.chance is None else self.chance.hit_rate_1,
            "chance_hit_rate_2f": None if self.chance is None else self.chance.hit_rate_2,
            "silent": self.silent,
            "clipped": self.clipped,
            "limited": self.limited,
        }


def pool_row(name: str, snapped: bool, scores: Sequence[ClipScores], limited: int = 0) -> Row:
    """CondFoleyGen's figures as means over clips; hit rates pooled over every cue, false onsets over every minute."""
    chances = [item.chance for item in scores if item.chance is not None]
    return Row(
        name=name,
        snapped=snapped,
        clips=len(scores),
        onset_acc=float(np.mean([item.onsets.count_matches for item in scores])),
        onset_detection_acc=float(np.mean([item.onsets.detection_accuracy for item in scores])),
        onset_ap=float(np.mean([item.onsets.average_precision for item in scores])),
        markers=pool(item.markers for item in scores),
        chance=pool(chances) if len(chances) == len(scores) else None,
        silent=sum(item.levels.silent for item in scores),
        clipped=sum(item.levels.clipped for item in scores),
        limited=limited,
    )
