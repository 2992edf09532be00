"""A clip's description becomes the semantic adapter's per-window inputs."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from foley_engine.config import AUDIO
from foley_engine.describer import Description
from foley_engine.request import EventSpan
from foley_engine.semantics import window_text
from foley_engine.text import embed_texts

SLOTS = 16


def half_up(frames: float) -> int:
    """The mel frame nearest a time, ties up, as the masks round."""
    return math.floor(frames + 0.5)


def event(start: float, end: float, label: str, confidence: float = 1.0) -> EventSpan:
    return EventSpan(Fraction(start), Fraction(end), label, confidence)


def test_events_of_the_window_fill_the_slots_in_time_order_and_the_summary_the_last() -> None:
    description = Description(
        events=(event(1, 1.5, "door slam"), event(3, 3.25, "footstep"), event(9, 9.5, "glass")),
        summary="a quiet hallway",
    )
    text = window_text(description, Fraction(0), SLOTS)
    expected = embed_texts(["door slam", "footstep", "a quiet hallway"]).numpy()
    np.testing.assert_allclose(text.embeddings[:2], expected[:2], atol=1e-6)
    np.testing.assert_allclose(text.embeddings[-1], expected[2], atol=1e-6)
    # The event past the window's end (8.192 s) is not there; the slots between are empty.
    assert not text.embeddings[2:-1].any()
    np.testing.assert_allclose(text.centres[:2], [1.25 / 8.192, 3.125 / 8.192], atol=1e-6)
    assert text.centres[-1] == -1
    frames = np.flatnonzero(text.spans)
    assert frames.min() == half_up(1 * AUDIO.frame_rate) and frames.max() == half_up(3.25 * AUDIO.frame_rate) - 1


def test_a_later_window_sees_its_own_events_relative_to_its_start() -> None:
    description = Description(events=(event(1, 1.5, "door slam"), event(9, 9.5, "glass")), summary="")
    text = window_text(description, Fraction(6), SLOTS)
    np.testing.assert_allclose(text.embeddings[0], embed_texts(["glass"]).numpy()[0], atol=1e-6)
    assert abs(text.centres[0] - 3.25 / 8.192) < 1e-6
    assert not text.embeddings[-1].any()  # no summary: an empty slot
    assert np.flatnonzero(text.spans).min() == half_up(3 * AUDIO.frame_rate)


def test_with_more_events_than_slots_the_most_confident_stay_in_time_order() -> None:
    events = tuple(event(0.2 * k, 0.2 * k + 0.1, f"hit {k}", confidence=0.5 if k % 2 else 0.9) for k in range(30))
    text = window_text(Description(events, ""), Fraction(0), SLOTS)
    kept = [k for k in range(30) if k % 2 == 0][: SLOTS - 1]
    np.testing.assert_allclose(text.embeddings[: SLOTS - 1], embed_texts([f"hit {k}" for k in kept]).numpy(), atol=1e-6)
    assert list(text.centres[: SLOTS - 1]) == sorted(text.centres[: SLOTS - 1])


def test_an_unnamed_event_marks_its_span_but_carries_no_text() -> None:
    text = window_text(Description((event(2, 2.5, ""),), ""), Fraction(0), SLOTS)
    assert text.spans.any()
    assert not text.embeddings.any()
