"""What a clip sounds like, in words and in time: the text side of the semantic adapter.

A `Describer` turns a `ClipContext` (the clip's name, the editor's prompt,
cues and span markers, the video event detector's spans, optionally frames)
into a `Description`: sound events in time order, each with a short label,
and one whole-window summary. `foley_engine.text` embeds the labels and the
summary; the semantic projector places each event's embedding at its centre.

`EventDescriber` is the default and needs no model. The editor's own words
come first: a span marker is an event as drawn, a named cue a short event
starting on its frame. The detector's events fill the time the editor left
free. Names that only number things ("Marker 3", "A001_C002_0612.mov",
"clip 1") carry no meaning and count as no name at all (`clean_name`).
`foley_engine.vlm_describer` captions the same events with a local
vision-language model.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import InvalidRequest
from .request import EventSpan, OnsetCue
from .semantic_projector import MAX_TOKENS

# The projector's slots, less the one that holds the whole-window summary (as the semantic
# training stage lays them out: events first, the summary last).
MAX_EVENTS = MAX_TOKENS - 1

# How long a named cue's event lasts when the next cue is further away. The semantic stage
# trains on events that run from the onset until the sound has decayed 30 dB: 0.13 s at the
# median on the training set and under 0.2 s for three in four, with longer tails for glass
# and metal. A quarter second holds a typical hit and keeps the event's centre (where the
# projector places it) within one 4 fps slot of the cue.
CUE_EVENT_LENGTH = Fraction(1, 4)

# Words that name or number a piece of media rather than a sound: camera and phone file
# prefixes, editors' default clip and marker names, versioning. A name made only of these,
# numbers and letter codes shorter than three letters is no name.
GENERIC_WORDS = frozenset(
    {
        "angle", "audio", "cam", "camera", "clip", "clips", "comment", "compound", "copy", "dji",
        "dsc", "dscf", "edit", "export", "file", "film", "final", "footage", "img", "marker",
        "markers", "master", "media", "movie", "mvi", "nested", "new", "proxy", "raw", "rec",
        "reel", "render", "roll", "scene", "seq", "sequence", "shot", "subclip", "take",
        "timeline", "track", "untitled", "version", "vid", "video",
    }
)  # fmt: skip

_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^\w']+|_")
_LETTER_RUN = re.compile(r"[^\W\d_]{3,}")


def clean_name(text: str, *, file_name: bool = False) -> str:
    """`text` as lower-case words, or "" when it carries no meaning.

    With `file_name`, only the last path component counts and a media extension
    is dropped: "/media/door_slam_take2.mov" → "door slam take2". Underscores,
    dashes and dots part words and camelCase splits ("DoorSlam" → "door slam").
    The text is kept whole when at least one word holds a run of three letters
    that is not in `GENERIC_WORDS`; otherwise it only numbers or codes media
    ("A001_C002_0612.mov", "clip 1", "Marker 3", "IMG_4711") and is dropped.
    """
    if file_name:
        text = _EXTENSION.sub("", re.split(r"[\\/]", text.strip())[-1])
    words = _SEPARATORS.sub(" ", _CAMEL.sub(" ", text)).lower().split()
    meaningful = any(run not in GENERIC_WORDS for word in words for run in _LETTER_RUN.findall(word))
    return " ".join(words) if meaningful else ""


def summary_text(prompt: str, name: str) -> str:
    """The whole-window text: the prompt as written, then the cleaned clip name unless it says nothing new."""
    prompt = " ".join(prompt.split()).rstrip(" .,;")
    named = clean_name(name, file_name=True)
    if named and set(named.split()) <= set(prompt.lower().split()):
        named = ""
    return ", ".join(part for part in (prompt, named) if part)


@dataclass(frozen=True)
class ClipContext:
    """Everything known about one window of a clip; times are seconds from the window's start.

    `cues` and `spans` are the editor's markers (labels are the marker names or
    comments), `detected` the video event detector's spans. `frames` are RGB
    uint8 pictures (N, H, W, 3) shown at `frame_times`.
    """

    duration: Fraction
    name: str = ""
    prompt: str = ""
    cues: tuple[OnsetCue, ...] = ()
    spans: tuple[EventSpan, ...] = ()
    detected: tuple[EventSpan, ...] = ()
    # Arrays do not compare or hash as values; the frame times identify the pictures.
    frames: np.ndarray | None = field(default=None, compare=False)
    frame_times: tuple[Fraction, ...] = ()

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise InvalidRequest("duration", f"must be positive, got {self.duration}")
        for name, spans in (("spans", self.spans), ("detected", self.detected)):
            for span in spans:
                if span.end < span.start:
                    raise InvalidRequest(name, f"span {span.label!r} ends ({span.end}) before it starts ({span.start})")
        if self.frames is None:
            if self.frame_times:
                raise InvalidRequest("frame_times", "given without frames")
            return
        frames = self.frames
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise InvalidRequest("frames", f"expected uint8 (N, H, W, 3) RGB, got {frames.dtype} {frames.shape}")
        if len(self.frame_times) != len(frames):
            raise InvalidRequest("frame_times", f"{len(self.frame_times)} times for {len(frames)} frames")


@dataclass(frozen=True)
class Description:
    """A clip's sound events in time order (by start, then end) and its whole-window text."""

    events: tuple[EventSpan, ...]
    summary: str


@runtime_checkable
class Describer(Protocol):
    """Anything that turns a clip into a `Description`."""

    def describe(self, clip: ClipContext) -> Description:
        """The clip's sound events and summary."""
        ...


def _overlap(a: EventSpan, b: EventSpan) -> Fraction:
    return max(Fraction(0), min(a.end, b.end) - max(a.start, b.start))


def _clip(span: EventSpan, duration: Fraction) -> EventSpan | None:
    start, end = max(span.start, Fraction(0)), min(span.end, duration)
    if end <= start:
        return None
    return EventSpan(start, end, span.label, span.confidence)


def time_order(events: list[EventSpan]) -> tuple[EventSpan, ...]:
    """`events` by start, then end, then label (so equal inputs give equal outputs)."""
    return tuple(sorted(events, key=lambda e: (e.start, e.end, e.label)))


@dataclass(frozen=True)
class EventDescriber:
    """The editor's markers, then the detector's events, as at most `max_events` labelled events.

    - A span marker is an event as drawn; a span of no length, like a cue, marks one moment.
    - A cue marks a sound starting on its frame: its event lasts `cue_length`, or until the
      next cue if that comes sooner (the next sound starts there).
    - A marker without a meaningful name takes the label of the detected event its event
      overlaps, the most confident if several do (a detector's onset may sit a frame or two
      off the editor's cue, so a cue's whole short event counts, not its instant); with none
      it stays an event with an empty label, which embeds as "no text" but still marks where
      a sound is.
    - Detected events are added where they overlap none of the editor's events.
    - Everything is clipped to the window; events outside it are dropped.
    - Over `max_events`, named events are kept before unnamed ones, then the more confident
      (the editor's events count as certain), then the earlier; the result is in time order.
    """

    # None keeps every event: a long clip described whole, its model windows then take their share.
    max_events: int | None = MAX_EVENTS
    cue_length: Fraction = CUE_EVENT_LENGTH

    def describe(self, clip: ClipContext) -> Description:
        """The clip's events and its summary (`summary_text` of the prompt and the name)."""
        detected = [
            event
            for span in clip.detected
            if (event := _clip(EventSpan(span.start, span.end, clean_name(span.label), span.confidence), clip.duration))
        ]
        # A marker placed twice on the same frame with the same name is one event.
        editor = list(dict.fromkeys(self._named(event, detected) for event in self._editor_events(clip)))
        free = [event for event in detected if not any(_overlap(event, mine) for mine in editor)]
        ranked = sorted(editor + free, key=lambda e: (not e.label, -e.confidence, e.start, e.end))
        return Description(time_order(ranked[: self.max_events]), summary_text(clip.prompt, clip.name))

    def _editor_events(self, clip: ClipContext) -> list[EventSpan]:
        """The editor's spans and cues as events of confidence 1, clipped to the window."""
        moments = [OnsetCue(cue.time, cue.label) for cue in clip.cues]
        events = []
        for span in clip.spans:
            if span.start == span.end:
                moments.append(OnsetCue(span.start, span.label))
            elif event := _clip(EventSpan(span.start, span.end, clean_name(span.label)), clip.duration):
                events.append(event)
        starts = sorted({cue.time for cue in moments})
        for cue in moments:
            if not 0 <= cue.time < clip.duration:
                continue
            following = starts[bisect_right(starts, cue.time) :][:1]
            end = min([cue.time + self.cue_length, clip.duration, *following])
            events.append(EventSpan(cue.time, end, clean_name(cue.label)))
        return events

    @staticmethod
    def _named(event: EventSpan, detected: list[EventSpan]) -> EventSpan:
        """`event`, named after the detected event it overlaps most confidently if it has no name."""
        if event.label:
            return event
        around = [d for d in detected if d.label and _overlap(d, event)]
        if not around:
            return event
        best = max(around, key=lambda d: (d.confidence, _overlap(d, event)))
        return EventSpan(event.start, event.end, best.label, event.confidence)
