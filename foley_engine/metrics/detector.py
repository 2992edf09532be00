"""A frame-accurate onset detector, and the measure of its own timing error.

librosa's spectral-flux detector finds transients reliably but reads them late
(7-51 ms on sharp hits: its frames are long and centred, and the flux peaks
where the spectrum has already risen). `precise_onsets` keeps librosa's
decisions of *which* transients there are (on 8 ms hops, which makes those
decisions depend less on where the frame grid falls) and moves each to *where*
it starts: the first sample at which the attack reaches a tenth (-20 dB) of its
local peak above the floor before it. That is the definition the dataset
builder cuts its one-shots by (`foley_engine.data.oneshots`, less its 1 ms
pre-roll), so detected and labelled onsets mean the same instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import librosa
import numpy as np

CANDIDATE_HOP_S = 0.008  # librosa's hop for the candidates: 128 samples at 16 kHz
CANDIDATE_FFT_S = 0.064  # and its FFT: 1024 samples, the front end's
BLOCK_S = 0.002  # envelope resolution: 32 samples at 16 kHz
SEARCH_BEFORE_S = 0.07  # librosa reads up to ~51 ms late...
SEARCH_AFTER_S = 0.03  # ...and, on slow-building sounds, a little early
ATTACK_FRACTION = 0.1
MIN_RISE = 3.0  # a transient's peak stands ~10 dB above the floor before it; noise wobbles less
ATTACK_GAP_S = 0.01  # a dip below the attack threshold this long separates two sounds
MERGE_S = 0.025  # two refined onsets closer than this are one transient


def _candidates(samples: np.ndarray, sr: int) -> np.ndarray:
    """librosa's onset times (seconds) on the finer candidate hop, its peak picking left at its defaults."""
    hop, n_fft = round(CANDIDATE_HOP_S * sr), round(CANDIDATE_FFT_S * sr)
    strength = librosa.onset.onset_strength(y=samples, sr=sr, hop_length=hop, n_fft=n_fft)
    return librosa.onset.onset_detect(onset_envelope=strength, sr=sr, hop_length=hop, units="time")


def _block_envelope(samples: np.ndarray, block: int) -> np.ndarray:
    usable = len(samples) // block * block
    return np.abs(samples[:usable]).reshape(-1, block).max(axis=1)


def _attack_block(envelope: np.ndarray, peak: int, threshold: float, gap: int) -> int:
    """The first block of the attack that ends at `peak`: walking back from the peak, the earliest
    block at or above `threshold` before the envelope stays below it for `gap` blocks (or reaches
    the window's minimum). Shorter dips belong to the attack: a scuff before a heel strike, the
    first crack of a door."""
    lowest = int(np.argmin(envelope[: peak + 1]))
    start, below = peak, 0
    for index in range(peak, lowest - 1, -1):
        if envelope[index] >= threshold:
            start, below = index, 0
        else:
            below += 1
            if below >= gap:
                break
    return start


def precise_onset_samples(samples: np.ndarray, sr: int) -> np.ndarray:
    """Onsets of mono `samples` as ascending int64 sample indices, each on its attack's first sample.

    For each librosa onset (8 ms hop): within [onset - 70 ms, onset + 30 ms]
    (never before the previous transient's peak) the envelope (peak |x| per 2 ms
    block) rise that is largest above the running minimum marks the transient's
    peak and the floor before it; the attack is the stretch before the peak where the
    envelope reaches floor + 0.1 * (peak - floor), dips shorter than 10 ms
    included, and the onset is its first sample at that level. Candidates whose
    peak is less than 3x (~10 dB) their floor are dropped, and onsets closer than
    25 ms are merged into the first.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {samples.shape}")
    block = max(1, round(BLOCK_S * sr))
    envelope = _block_envelope(samples, block)
    if len(envelope) < 2 or not np.any(envelope):
        return np.zeros(0, dtype=np.int64)
    before, after = round(SEARCH_BEFORE_S * sr / block), round(SEARCH_AFTER_S * sr / block)
    gap = max(1, round(ATTACK_GAP_S * sr / block))
    found: list[int] = []
    previous_peak = 0
    for time in _candidates(samples, sr):
        centre = round(time * sr) // block
        low, high = max(previous_peak, centre - before), min(len(envelope), centre + after + 1)
        if high - low < 2:
            continue
        window = envelope[low:high]
        floor = np.minimum.accumulate(window)
        peak = int(np.argmax(window - floor))
        if window[peak] < MIN_RISE * floor[peak] or window[peak] <= floor[peak]:
            continue
        threshold = floor[peak] + ATTACK_FRACTION * (window[peak] - floor[peak])
        start = (low + _attack_block(window, peak, threshold, gap)) * block
        found.append(start + int(np.argmax(np.abs(samples[start : start + block]) >= threshold)))
        previous_peak = low + peak + 1
    merged: list[int] = []
    for onset in sorted(found):
        if not merged or onset - merged[-1] >= MERGE_S * sr:
            merged.append(onset)
    return np.array(merged, dtype=np.int64)


def precise_onsets(samples: np.ndarray, sr: int) -> np.ndarray:
    """Onset times in seconds (ascending float64) by `precise_onset_samples`."""
    return precise_onset_samples(samples, sr) / sr


@dataclass(frozen=True)
class TimingError:
    """A detector's error against known onsets: each true onset takes the nearest detection
    within the reach; what is left over is missed. Errors are detected - true, in ms."""

    onsets: int
    missed: int
    median_ms: float  # of |error|
    p95_ms: float  # of |error|
    bias_ms: float  # median signed error: > 0 reads late

    def as_dict(self) -> dict[str, float | int]:
        return {
            "onsets": self.onsets,
            "missed": self.missed,
            "median_ms": self.median_ms,
            "p95_ms": self.p95_ms,
            "bias_ms": self.bias_ms,
        }


def timing_errors(detected: np.ndarray, truth: Sequence[float] | np.ndarray, reach: float = 0.05) -> np.ndarray:
    """Signed errors in seconds (detected - true) of the true onsets with a detection within `reach`.

    Each detection serves one true onset at most; pairs are taken nearest first.
    """
    detected = np.asarray(detected, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    pairs = sorted(
        (abs(d - t), i, j) for i, t in enumerate(truth) for j, d in enumerate(detected) if abs(d - t) <= reach
    )
    used_truth: set[int] = set()
    used_detected: set[int] = set()
    errors: list[float] = []
    for _, i, j in pairs:
        if i in used_truth or j in used_detected:
            continue
        used_truth.add(i)
        used_detected.add(j)
        errors.append(detected[j] - truth[i])
    return np.array(errors)


def summarise_errors(errors: np.ndarray, onsets: int) -> TimingError:
    """The `TimingError` of signed `errors` (seconds) measured on `onsets` true onsets."""
    errors_ms = np.asarray(errors, dtype=np.float64) * 1000.0
    if len(errors_ms) == 0:
        nan = float("nan")
        return TimingError(onsets=onsets, missed=onsets, median_ms=nan, p95_ms=nan, bias_ms=nan)
    return TimingError(
        onsets=onsets,
        missed=onsets - len(errors_ms),
        median_ms=float(np.median(np.abs(errors_ms))),
        p95_ms=float(np.percentile(np.abs(errors_ms), 95)),
        bias_ms=float(np.median(errors_ms)),
    )
