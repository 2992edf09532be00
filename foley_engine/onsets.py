"""Onset detection and the frame masks the adapters are conditioned on.

Masks live on the mel grid (AUDIO.frame_rate frames per second); times go in
and come out as seconds, exact where the caller gives `Fraction`s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

import librosa
import numpy as np

from .config import AUDIO
from .request import EventSpan


def detect_onsets(samples: np.ndarray, sr: int) -> np.ndarray:
    """Onset times in seconds (ascending) of mono `samples`, by librosa's spectral-flux detector.

    The analysis uses the front end's FFT size and hop, so the times sit on a
    grid of hop / sr seconds (16 ms at 16 kHz).
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {samples.shape}")
    if not np.any(samples):
        return np.zeros(0, dtype=np.float64)
    envelope = librosa.onset.onset_strength(y=samples, sr=sr, hop_length=AUDIO.hop_length, n_fft=AUDIO.n_fft)
    return librosa.onset.onset_detect(
        onset_envelope=envelope, sr=sr, hop_length=AUDIO.hop_length, units="time"
    ).astype(np.float64)


def _frame_index(time: Fraction | float, frame_rate: Fraction | float) -> int:
    # Round half up (not to even) so a time exactly between two frames always lands the same way.
    if isinstance(time, Fraction) and isinstance(frame_rate, (Fraction, int)):
        return math.floor(time * frame_rate + Fraction(1, 2))
    return math.floor(float(time) * float(frame_rate) + 0.5)


def onset_mask(
    times: Iterable[Fraction | float], n_frames: int, frame_rate: Fraction | float = AUDIO.frame_rate
) -> np.ndarray:
    """A float32 (n_frames,) mask with 1.0 on the frame nearest each time.

    Frame k covers the instant k / frame_rate. Times that fall outside the
    mask are dropped.
    """
    mask = np.zeros(n_frames, dtype=np.float32)
    for time in times:
        index = _frame_index(time, frame_rate)
        if 0 <= index < n_frames:
            mask[index] = 1.0
    return mask


def mask_onsets(mask: np.ndarray, frame_rate: Fraction | float = AUDIO.frame_rate) -> np.ndarray:
    """Times in seconds of the set frames (> 0.5) of an onset mask; the inverse of `onset_mask`."""
    frames = np.flatnonzero(np.asarray(mask) > 0.5)
    return frames / float(frame_rate)


def span_mask(
    spans: Sequence[EventSpan] | Iterable[tuple[Fraction | float, Fraction | float]],
    n_frames: int,
    frame_rate: Fraction | float = AUDIO.frame_rate,
) -> np.ndarray:
    """A float32 (n_frames,) mask with 1.0 on every frame an event span covers.

    Spans are `EventSpan`s or (start, end) pairs in seconds; a span covers the
    frames from its start's nearest frame up to, not including, its end's, and
    always at least one frame. Parts outside the mask are cut off.
    """
    mask = np.zeros(n_frames, dtype=np.float32)
    for span in spans:
        start, end = (span.start, span.end) if isinstance(span, EventSpan) else span
        first = _frame_index(start, frame_rate)
        last = max(first + 1, _frame_index(end, frame_rate))
        mask[max(first, 0) : max(min(last, n_frames), 0)] = 1.0
    return mask


def sound_spans(
    samples: np.ndarray, sr: int, onsets: Sequence[Fraction | float], decay_db: float = 30.0
) -> list[tuple[float, float]]:
    """How long each sound starting at `onsets` (seconds, ascending) lasts in mono `samples`.

    A sound runs from its onset until its RMS envelope (on the front end's hop)
    falls `decay_db` below the sound's own peak, and never past the next onset,
    so overlapping sounds share out the time. Each span is at least one hop.
    """
    samples = np.asarray(samples, dtype=np.float32)
    hop = AUDIO.hop_length
    rms = librosa.feature.rms(y=samples, frame_length=AUDIO.n_fft, hop_length=hop, center=True)[0]
    floor = 10.0 ** (-decay_db / 20.0)
    frames = [min(len(rms) - 1, max(0, round(float(t) * sr / hop))) for t in onsets]
    spans = []
    for i, first in enumerate(frames):
        stop = frames[i + 1] if i + 1 < len(frames) else len(rms)
        stop = max(stop, first + 1)
        # The peak comes within a few hops of the onset; the decay is measured after it.
        attack = first + int(np.argmax(rms[first : min(stop, first + 4)]))
        quiet = np.nonzero(rms[attack:stop] < rms[attack] * floor)[0]
        last = attack + int(quiet[0]) if len(quiet) else stop
        spans.append((first * hop / sr, max(last, first + 1) * hop / sr))
    return spans
