"""Cutting recordings into one-shots: short sounds whose transient starts on their first sample.

A one-shot placed at sample s of a clip therefore has its onset exactly at s.
Each event of a recording starts where its attack first reaches a tenth of
the event's peak (less a millisecond, to keep the attack's foot), ends before
the next detected onset or after `max_seconds`, must rise clearly out of what
precedes it and must reach its full loudness quickly: cuts from steady
textures (a fountain, a fire) and slow swells are dropped, because an onset
label on them would be a lie.
"""

from __future__ import annotations

import numpy as np

from ..config import AUDIO
from ..onsets import detect_onsets

_ATTACK_FRACTION = 0.1  # the attack starts where it reaches -20 dB of the event's peak
_PREROLL_S = 0.001
_SEARCH_BEFORE_S = 0.05
_SEARCH_AFTER_S = 0.1
_MIN_GAP_S = 0.05
_MIN_LENGTH_S = 0.01  # a tick or a tabla "ke" lasts 20-40 ms
_RISE_RATIO = 4.0  # the event's loudest 5 ms must be 12 dB above the 50 ms before it
_SWELL_RATIO = 0.25  # ...and within 12 dB of the loudest 5 ms of the whole event (no slow swell)
_GUARD_S = 0.005  # an event ends this long before the next one's attack
_AUDIBLE_FRACTION = 10 ** (-30 / 20)  # events 30 dB below the recording's peak are too quiet
_TAIL_FRACTION = 10 ** (-50 / 20)  # a tail below -50 dB of the event's peak is cut off
_FADE_S = 0.03


def _rms_frames(samples: np.ndarray, frame: int) -> np.ndarray:
    usable = len(samples) // frame * frame
    if usable == 0:
        return np.zeros(1, dtype=np.float32)
    return np.sqrt(np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1))


def _attack_start(samples: np.ndarray, near: int, sample_rate: int) -> int:
    """Sample where the attack of the event around `near` begins."""
    low = max(0, near - int(_SEARCH_BEFORE_S * sample_rate))
    high = min(len(samples), near + int(_SEARCH_AFTER_S * sample_rate))
    window = np.abs(samples[low:high])
    first = int(np.argmax(window >= _ATTACK_FRACTION * window.max()))
    return max(low, low + first - int(_PREROLL_S * sample_rate))


def _rises(samples: np.ndarray, start: int, sample_rate: int, floor: float) -> bool:
    """Whether the sound at `start` stands out from the 50 ms before it and from silence."""
    frame = int(0.005 * sample_rate)
    after = _rms_frames(samples[start : start + int(_SEARCH_AFTER_S * sample_rate)], frame).max()
    before_samples = samples[max(0, start - int(_SEARCH_BEFORE_S * sample_rate)) : start]
    before = float(np.sqrt(np.mean(before_samples**2))) if len(before_samples) else 0.0
    return after >= floor and after >= _RISE_RATIO * before


def _fast_attack(event: np.ndarray, sample_rate: int) -> bool:
    """Whether the event is near its full loudness within its first 100 ms (a hit, not a swell)."""
    frames = _rms_frames(event, int(0.005 * sample_rate))
    early = frames[: max(1, int(_SEARCH_AFTER_S / 0.005))]
    return early.max() >= _SWELL_RATIO * frames.max()


def _finish(event: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut the inaudible tail, fade the end out and normalise the peak to 1."""
    peak = float(np.abs(event).max())
    audible = np.flatnonzero(np.abs(event) >= _TAIL_FRACTION * peak)
    event = event[: audible[-1] + 1].copy()
    fade = min(int(_FADE_S * sample_rate), len(event) // 4)
    if fade > 0:
        event[-fade:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade, dtype=np.float32)))
    return (event / peak).astype(np.float32)


def cut_oneshots(samples: np.ndarray, sample_rate: int, max_seconds: float, max_events: int) -> list[np.ndarray]:
    """The one-shots of a mono recording, in time order: at most `max_events`, the loudest kept.

    Each is float32 peak-normalised, at most `max_seconds` long, with its
    transient at sample 0. A recording with no clear transient gives none.
    """
    samples = np.asarray(samples, dtype=np.float32)
    samples = samples - samples.mean()
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak < 1e-4:
        return []
    first_audible = int(np.argmax(np.abs(samples) >= _AUDIBLE_FRACTION * peak))
    # Pad very short sounds to one FFT frame so the detector sees them whole.
    padded = np.pad(samples, (0, max(0, AUDIO.n_fft - len(samples))))
    detected = detect_onsets(padded, sample_rate)
    candidates = [first_audible, *(int(round(t * sample_rate)) for t in detected if t * sample_rate < len(samples))]
    starts: list[int] = []
    for start in sorted({_attack_start(samples, near, sample_rate) for near in candidates}):
        if starts and start - starts[-1] < _MIN_GAP_S * sample_rate:
            continue
        starts.append(start)
    frame_floor = _AUDIBLE_FRACTION * float(_rms_frames(samples, int(0.005 * sample_rate)).max())

    # Every detected start bounds the event before it, even one too weak to
    # become an event itself: a one-shot must hold a single transient.
    events: list[tuple[float, int, np.ndarray]] = []
    limit = int(max_seconds * sample_rate)
    for index, start in enumerate(starts):
        if not _rises(samples, start, sample_rate, frame_floor):
            continue
        following = starts[index + 1] - int(_GUARD_S * sample_rate) if index + 1 < len(starts) else len(samples)
        end = min(len(samples), start + limit, following)
        if end - start < _MIN_LENGTH_S * sample_rate:
            continue
        event = samples[start:end]
        if not _fast_attack(event, sample_rate):
            continue
        events.append((float(np.abs(event).max()), start, event))
    loudest = sorted(events, key=lambda item: (-item[0], item[1]))[:max_events]
    return [_finish(event, sample_rate) for _, _, event in sorted(loudest, key=lambda item: item[1])]
