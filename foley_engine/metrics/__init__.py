"""Synchronisation metrics: CondFoleyGen's onset figures, a frame-accurate onset detector,
marker hit rates with their false-onset rate and chance baseline, and level checks."""

from .condfoley import OnsetScores, average_precision, condfoley_scores, score_onsets
from .detector import TimingError, precise_onset_samples, precise_onsets, summarise_errors, timing_errors
from .levels import LevelCheck, check_levels
from .markers import MarkerScores, derangement, pool, score_markers

__all__ = [
    "LevelCheck",
    "MarkerScores",
    "OnsetScores",
    "TimingError",
    "average_precision",
    "check_levels",
    "condfoley_scores",
    "derangement",
    "pool",
    "precise_onset_samples",
    "precise_onsets",
    "score_markers",
    "score_onsets",
    "summarise_errors",
    "timing_errors",
]
