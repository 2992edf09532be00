"""Editor markers as onset cues and event spans, in timeline and clip output time.

A marker's `marked_range` is in its owner's time: a clip's media time (its
`source_range` space), a gap's own time, a track's or stack's internal time.
`collect_markers` converts every marker of the timeline to timeline seconds;
`markers_in_window` keeps those a clip window shows and makes them relative to
the window's first frame.

Who a marker belongs to: a clip marker to its clip only; a track or nested
stack marker to the clips inside that track or stack; a marker on the
top-level stack (sequence markers, Kdenlive guides) to every clip. A marker on
a gap counts as a marker of the gap's track: the AAF reader hangs track
markers on whatever item lies under them, fillers included.

Three readers place clip markers differently, recognised by their metadata:
Kdenlive writes them relative to the clip's in-point ("kdenlive"); the AAF
reader moves them into clips with `transformed_time`, which ignores time
effects ("AAF" AttachedSlotID), so those are offsets at speed 1; and the EDL
reader hangs each `* LOC:` line on its event's clip but keeps the record
(sequence) timecode it carries ("cmx_3600"; OpenTimelineIO issues #169 and
#345), which often lies outside the clip's source range.

Short markers are points: Media Composer, Kdenlive and Final Cut Pro X write
point markers one frame long, so by default a marker of at most one frame (in
its own rate) is an onset cue and a longer one is an event span.

`marker_start` goes the other way: where a clip marker must be written, in one
of those conventions, for the reader to put it on a given timeline time.
Markers named "foley:auto <label>" are onsets `foley detect` wrote; their
label is what follows the prefix.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import opentimelineio as otio

from foley_plugin.layout import Placement, intersect, record_start, top_level_track
from foley_plugin.timeutil import exact_rate, exact_value, to_seconds

DEFAULT_CUE_MAX_FRAMES = 1
# The name (or, where a writer keeps no name, the comment) of the markers `foley detect` writes.
AUTO_MARKER_PREFIX = "foley:auto"


class MarkerConvention(enum.Enum):
    """Where a clip marker's time counts from, as the readers of `collect_markers` tell them apart."""

    # The clip's media time (its source_range space), through its time effects: OTIO's own rule.
    MEDIA = "media"
    # Kdenlive: from the clip's in-point (metadata "kdenlive").
    KDENLIVE = "kdenlive"
    # An EDL's `* LOC:` line: the record (sequence) timecode (metadata "cmx_3600").
    EDL = "edl"


@dataclass(frozen=True)
class Cue:
    """An onset: a sound must start `time` seconds after the clip's first visible frame."""

    time: Fraction
    label: str


@dataclass(frozen=True)
class Span:
    """An event lasting from `start` to `end` seconds after the clip's first visible frame."""

    start: Fraction
    end: Fraction
    label: str


@dataclass(frozen=True)
class TimelineMarker:
    """A marker converted to timeline seconds; `duration` is 0 for a point (cue) marker.

    `scope` is the placement whose clips the marker applies to.
    """

    start: Fraction
    duration: Fraction
    label: str
    scope: Placement = field(compare=False, repr=False)

    @property
    def is_point(self) -> bool:
        """True for an onset cue, False for an event span."""
        return self.duration == 0


def collect_markers(
    placements: Sequence[Placement], *, cue_max_frames: int = DEFAULT_CUE_MAX_FRAMES
) -> list[TimelineMarker]:
    """Convert the markers of every placed item (stack, tracks, nested stacks, clips, gaps).

    Markers at most `cue_max_frames` frames long are points (pass 0 to make
    only zero-length markers points). Returns them in timeline order.
    """
    found = []
    for placement in placements:
        item = placement.item
        scope = placement
        if isinstance(item, otio.schema.Gap) and placement.parent is not None:
            scope = placement.parent
        for marker in item.markers:
            start, end = _marker_ends(placement, marker)
            if _length_in_frames(marker) <= cue_max_frames:
                end = start
            elif end < start:  # played backwards
                start, end = end, start
            found.append(
                TimelineMarker(
                    start=start,
                    duration=end - start,
                    label=marker_label(marker),
                    scope=scope,
                )
            )
    found.sort(key=lambda m: (m.start, m.duration, m.label))
    return found


def markers_in_window(
    markers: Sequence[TimelineMarker],
    clip: Placement,
    window: tuple[Fraction, Fraction],
) -> tuple[tuple[Cue, ...], tuple[Span, ...]]:
    """Return the cues and spans of `clip`'s markers that fall inside `window` (timeline seconds).

    Times become relative to the window's start; spans are clipped to the
    window; markers outside it are dropped, and identical ones (the FCP7 XML
    writer duplicates nested-sequence markers) are kept once.
    """
    scopes = {id(p) for p in clip.ancestors()}
    start, end = window
    cues: set[Cue] = set()
    spans: set[Span] = set()
    for marker in markers:
        if id(marker.scope) not in scopes:
            continue
        if marker.is_point:
            if start <= marker.start < end:
                cues.add(Cue(marker.start - start, marker.label))
            continue
        overlap = intersect((marker.start, marker.start + marker.duration), window)
        if overlap is not None:
            spans.add(Span(overlap[0] - start, overlap[1] - start, marker.label))
    return (
        tuple(sorted(cues, key=lambda c: (c.time, c.label))),
        tuple(sorted(spans, key=lambda s: (s.start, s.end, s.label))),
    )


def marker_label(marker: otio.schema.Marker) -> str:
    """Return the sound label of a marker: its name, else its comment, else its colour.

    Comments are read from OTIO's `comment` field (Kdenlive, Resolve) and from
    adapter metadata (`fcp_xml` comment, AAF Comment). The AAF reader names
    unnamed markers after their class ("DescriptiveMarker"); that is no label.
    A `foley detect` marker's label is its text after "foley:auto", empty if
    nothing follows (its colour names no sound).
    """
    text = _marker_text(marker)
    detected = _after_auto_prefix(text)
    if detected is not None:
        return detected
    return text or str(marker.color)


def is_auto_marker(marker: otio.schema.Marker) -> bool:
    """True for a marker `foley detect` wrote ("foley:auto …", in any case: the EDL writer capitalises)."""
    return _after_auto_prefix(_marker_text(marker)) is not None


def marker_timeline_start(placement: Placement, marker: otio.schema.Marker) -> Fraction:
    """Where a marker of `placement`'s item starts playing on the timeline, as `collect_markers` reads it."""
    return _marker_ends(placement, marker)[0]


def marker_start(placement: Placement, timeline_time: Fraction, convention: MarkerConvention) -> Fraction:
    """Return the start (seconds, in the marker's own coordinates) of a marker on the clip
    `placement` that `collect_markers` reads, under `convention`, as playing at `timeline_time`.

    It inverts `_marker_ends`: a marker written at this time and read back lands on
    `timeline_time` exactly, time effects and frozen clips included.
    """
    if convention is MarkerConvention.EDL:
        top = top_level_track(placement)
        return timeline_time + (record_start(top.item) if top is not None else Fraction(0))
    media_time = _from_timeline(placement, timeline_time)
    if convention is MarkerConvention.KDENLIVE:
        return media_time - placement.trim_start
    return media_time


def _from_timeline(placement: Placement, t: Fraction) -> Fraction:
    """The own time `u` for which `placement.to_timeline(u)` is `t`."""
    if placement.speed != 0:
        return placement.own_time(t)
    # A frozen item places its times as offsets from its trimmed start (`offset_to_timeline`).
    if placement.parent is None:
        return placement.trim_start + t
    return placement.trim_start + _from_timeline(placement.parent, t) - placement.range_start


def _marker_text(marker: otio.schema.Marker) -> str:
    """The marker's name, else its comment (OTIO's field or an adapter's metadata), else ""."""
    name = marker.name.strip()
    if name and name != _aaf(marker).get("ClassName"):
        return name
    return marker.comment.strip() or _metadata_comment(marker.metadata)


def _after_auto_prefix(text: str) -> str | None:
    """What follows "foley:auto" in `text` (stripped), or None when `text` does not start with it."""
    size = len(AUTO_MARKER_PREFIX)
    if text[:size].lower() != AUTO_MARKER_PREFIX or text[size : size + 1].strip():
        return None
    return text[size:].strip()


def _marker_ends(placement: Placement, marker: otio.schema.Marker) -> tuple[Fraction, Fraction]:
    """Return where the marker's first and last instants play on the timeline."""
    marked = marker.marked_range
    start = to_seconds(marked.start_time)
    end = start + to_seconds(marked.duration)
    if _is_kdenlive(marker) and isinstance(placement.item, otio.schema.Clip):
        # Kdenlive writes clip markers relative to the clip's in-point.
        start += placement.trim_start
        end += placement.trim_start
    if "cmx_3600" in marker.metadata and isinstance(placement.item, otio.schema.Clip):
        top = top_level_track(placement)
        origin = record_start(top.item) if top is not None else Fraction(0)
        return start - origin, end - origin
    if _aaf(marker).get("AttachedSlotID") is not None:
        # The AAF reader moved these from the track with transformed_time,
        # which ignores time effects: they are offsets at speed 1.
        convert = placement.offset_to_timeline
    else:
        convert = placement.to_timeline
    return convert(start), convert(end)


def _length_in_frames(marker: otio.schema.Marker) -> Fraction:
    marked = marker.marked_range
    rate = marked.start_time.rate if marked.start_time.rate > 0 else marked.duration.rate
    if rate <= 0:
        return exact_value(marked.duration.value)
    return to_seconds(marked.duration) * exact_rate(rate)


def _is_kdenlive(marker: otio.schema.Marker) -> bool:
    return "kdenlive" in marker.metadata


def _aaf(marker: otio.schema.Marker) -> Mapping:
    value = marker.metadata.get("AAF")
    return value if isinstance(value, Mapping) else {}


def _metadata_comment(metadata: Mapping) -> str:
    for value in metadata.values():
        if isinstance(value, Mapping):
            for key in ("comment", "Comment"):
                text = value.get(key)
                if isinstance(text, str) and text.strip():
                    return text.strip()
    return ""
