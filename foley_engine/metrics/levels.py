"""Level checks that catch broken outputs a timing metric cannot see: silence and clipping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SILENT_RMS_DBFS = -60.0
CLIPPED_PEAK = 0.999


@dataclass(frozen=True)
class LevelCheck:
    """One output's RMS and peak, and what they say."""

    rms_dbfs: float
    peak: float

    @property
    def silent(self) -> bool:
        """RMS below -60 dBFS."""
        return self.rms_dbfs < SILENT_RMS_DBFS

    @property
    def clipped(self) -> bool:
        """Peak at or above 0.999 of full scale."""
        return self.peak >= CLIPPED_PEAK


def check_levels(samples: np.ndarray) -> LevelCheck:
    """RMS (dBFS, -inf for digital silence) and peak of float samples in [-1, 1]."""
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) == 0:
        return LevelCheck(rms_dbfs=float("-inf"), peak=0.0)
    rms = float(np.sqrt(np.mean(samples**2)))
    return LevelCheck(
        rms_dbfs=float(20.0 * np.log10(rms)) if rms > 0 else float("-inf"),
        peak=float(np.max(np.abs(samples))),
    )
