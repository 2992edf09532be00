"""A clip's description as the semantic adapter's inputs for one model window.

The engine describes a clip once (`describer.py`, over the whole request
window); each 8.192 s model window then takes the events it overlaps: their
spans become the span mask, their labels the text embeddings placed at each
event's centre, and the summary (prompt, clip name) the last, timeless slot,
as the semantic training stage lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .config import AUDIO
from .describer import Description
from .onsets import span_mask
from .request import EventSpan
from .semantic_projector import TEXT_DIM
from .text import embed_texts


@dataclass(frozen=True)
class WindowText:
    """The semantic adapter's inputs for one model window."""

    spans: np.ndarray  # (window_frames,) event-span mask
    embeddings: np.ndarray  # (slots, TEXT_DIM): events in time order, then the summary; zero rows are empty
    centres: np.ndarray  # (slots,) each event's centre as a fraction of the window; -1 for the summary


def _in_window(event: EventSpan, start: Fraction, length: Fraction) -> bool:
    return event.end > start and event.start < start + length


def window_text(description: Description, start: Fraction, slots: int) -> WindowText:
    """The events of `description` that overlap the model window starting at `start` (seconds).

    At most `slots - 1` events: the most confident where more overlap (then the
    earlier), kept in time order; the last slot holds the summary.
    """
    length = AUDIO.window_seconds
    events = [event for event in description.events if _in_window(event, start, length)]
    if len(events) > slots - 1:
        ranked = sorted(events, key=lambda e: (-e.confidence, e.start))[: slots - 1]
        events = sorted(ranked, key=lambda e: (e.start, e.end))
    spans = span_mask([(e.start - start, e.end - start) for e in events], AUDIO.window_frames)
    embeddings = np.zeros((slots, TEXT_DIM), dtype=np.float32)
    centres = np.zeros(slots, dtype=np.float32)
    texts = [event.label for event in events] + [description.summary]
    embedded = embed_texts(texts).numpy()
    embeddings[: len(events)] = embedded[: len(events)]
    embeddings[-1] = embedded[-1]
    for slot, event in enumerate(events):
        centre = ((event.start + event.end) / 2 - start) / length
        centres[slot] = min(max(float(centre), 0.0), 1.0)
    centres[-1] = -1.0
    return WindowText(spans, embeddings, centres)
