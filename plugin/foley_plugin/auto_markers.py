"""`foley detect`'s result: the onsets the engine sees in each clip's video, as clip markers.

Each detected onset becomes a point marker on the clip it was found in,
named "foley:auto <label>", coloured cyan, with the detector's confidence in
`metadata["foley"]`. It is written at the clip time that the plugin's own
marker reader (`markers.collect_markers`) reads back as the detected frame,
in the convention of the format it goes to (`MarkerConvention`): time effects
and the per-reader rules included. They are ordinary markers: the editor
reviews, moves or deletes them, and `foley generate` takes the rest as cues.

A new detection of a clip replaces the "foley:auto" markers inside the part
of the clip it covered; every other marker stays as it is.

FCPXML keeps one copy of a compound clip however often the project uses it,
so there every use of a compound clip gets the markers found in all its uses
(each on its media frame, which every use that shows it shows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from foley_proto.v1 import engine_pb2 as pb

from .clips import ClipWindow, timeline_rate
from .layout import place_items
from .markers import (
    AUTO_MARKER_PREFIX,
    MarkerConvention,
    is_auto_marker,
    marker_start,
    marker_timeline_start,
)
from .timeutil import exact_rate, to_seconds

AUTO_MARKER_COLOR = otio.schema.MarkerColor.CYAN
# Kdenlive's marker category of that colour (its default categories run purple, cyan, blue, …):
# Kdenlive takes the category from this metadata, not from the colour.
_KDENLIVE_CYAN = 1
# Output formats whose reader takes clip markers as record timecode (`markers` module docstring).
_RECORD_TIME_SUFFIXES = (".edl",)


@dataclass(frozen=True)
class Annotation:
    """What `add_auto_markers` changed: markers added, earlier "foley:auto" markers removed, clips touched."""

    added: int
    replaced: int
    clips: int


def marker_convention(timeline: otio.schema.Timeline, source: Path, output: Path) -> MarkerConvention:
    """How clip markers must be written for `output`'s reader to place them.

    An EDL holds them as record timecode. A timeline from Kdenlive (a project
    file, or an export whose markers carry Kdenlive's metadata) written as
    OTIO keeps Kdenlive's rule, since Kdenlive imports every clip marker as
    counted from the clip's in-point. Everything else uses the clip's media time.
    """
    suffix = output.suffix.lower()
    if suffix in _RECORD_TIME_SUFFIXES:
        return MarkerConvention.EDL
    if suffix in (".otio", ".otioz") and _from_kdenlive(timeline, source):
        return MarkerConvention.KDENLIVE
    return MarkerConvention.MEDIA


def add_auto_markers(
    timeline: otio.schema.Timeline,
    found: Sequence[tuple[ClipWindow, pb.DetectResponse]],
    convention: MarkerConvention,
    shared_compound_clips: bool = False,
) -> Annotation:
    """Write each window's detected onsets on its clip, replacing the window's earlier ones.

    `found` pairs the windows of `timeline` (from `select_clips`) with what
    Detect returned for them. Onsets outside their window are dropped. With
    `shared_compound_clips` (for FCPXML output) the uses of each compound clip
    share their "foley:auto" markers.
    """
    placements = {id(p.item): p for p in place_items(timeline)}
    rate = timeline_rate(timeline)
    added = replaced = 0
    for window, detection in found:
        placement = placements[id(window.clip)]
        start = to_seconds(window.timeline_start)
        end = start + to_seconds(window.duration)
        clip = window.clip
        kept = [m for m in clip.markers if not (is_auto_marker(m) and start <= marker_timeline_start(placement, m) < end)]
        replaced += len(clip.markers) - len(kept)
        clip.markers[:] = kept
        marker_rate = rate if convention is MarkerConvention.EDL else _clip_rate(clip, rate)
        for onset in detection.onsets:
            offset = Fraction(onset.time.value * onset.time.rate_den, onset.time.rate_num)
            if not 0 <= offset < end - start:
                continue
            at = marker_start(placement, start + offset, convention)
            clip.markers.append(_auto_marker(onset, at, marker_rate, convention, detection.model_name))
            added += 1
    if shared_compound_clips:
        _share_compound_clip_markers(timeline)
    return Annotation(added=added, replaced=replaced, clips=len(found))


def _share_compound_clip_markers(timeline: otio.schema.Timeline) -> None:
    """Give the clips of every use of a compound clip (nested stacks of one name, as the FCPXML
    reader makes them and its writer keeps only the first of) the "foley:auto" markers of all uses.

    Uses whose clips differ (not one compound clip after all) are left alone.
    """
    uses: dict[str, list[otio.schema.Stack]] = {}
    for nested in timeline.tracks.find_children(descended_from_type=otio.schema.Stack):
        uses.setdefault(nested.name, []).append(nested)
    for stacks in uses.values():
        clip_lists = [nested.find_clips() for nested in stacks]
        if len(stacks) < 2 or len({tuple(map(_clip_identity, clips)) for clips in clip_lists}) != 1:
            continue
        for same_clips in zip(*clip_lists):
            union: dict[tuple[Fraction, str], otio.schema.Marker] = {}
            for clip in same_clips:
                for marker in clip.markers:
                    if is_auto_marker(marker):
                        union.setdefault((to_seconds(marker.marked_range.start_time), marker.name), marker)
            for clip in same_clips:
                others = [m for m in clip.markers if not is_auto_marker(m)]
                clip.markers[:] = others + [marker.deepcopy() for _, marker in sorted(union.items())]


def _clip_identity(clip: otio.schema.Clip) -> str:
    return f"{clip.name}|{clip.source_range}|{getattr(clip.media_reference, 'target_url', '')}"


def _auto_marker(
    onset: pb.OnsetCue, at: Fraction, rate: float, convention: MarkerConvention, model_name: str
) -> otio.schema.Marker:
    name = f"{AUTO_MARKER_PREFIX} {onset.label.strip()}".rstrip()
    confidence = onset.confidence if onset.HasField("confidence") else 1.0
    metadata: dict[str, object] = {
        "foley": {"confidence": round(confidence, 4), "label": onset.label.strip(), "model": model_name}
    }
    # The metadata each reader of `markers` recognises its convention by.
    if convention is MarkerConvention.EDL:
        metadata["cmx_3600"] = {"color": str(AUTO_MARKER_COLOR)}
    elif convention is MarkerConvention.KDENLIVE:
        metadata["kdenlive"] = {"type": _KDENLIVE_CYAN}
    return otio.schema.Marker(
        name=name,
        marked_range=otio.opentime.TimeRange(_time(at, rate), otio.opentime.RationalTime(0, rate)),
        color=AUTO_MARKER_COLOR,
        metadata=metadata,
        # Kdenlive shows a marker's comment, not its name.
        comment=name if convention is MarkerConvention.KDENLIVE else "",
    )


def _time(seconds: Fraction, rate: float) -> otio.opentime.RationalTime:
    """`seconds` at `rate`: a whole frame count where it is one, else the exact (fractional) count.

    A detected frame of a video whose rate differs from the clip's is no whole
    frame of the clip; rounding it would move the marker off that frame.
    """
    value = seconds * exact_rate(rate)
    return otio.opentime.RationalTime(value.numerator if value.denominator == 1 else float(value), rate)


def _clip_rate(clip: otio.schema.Clip, fallback: float) -> float:
    """The rate of the clip's media time, in which its markers are written."""
    ranges = (clip.source_range, getattr(clip.media_reference, "available_range", None))
    for time_range in ranges:
        if time_range is not None and time_range.start_time.rate > 0:
            return time_range.start_time.rate
    return fallback


def _from_kdenlive(timeline: otio.schema.Timeline, source: Path) -> bool:
    if source.suffix.lower() == ".kdenlive":
        return True
    items = [timeline.tracks, *timeline.tracks.find_children(descended_from_type=otio.core.Item)]
    return any(isinstance(m.metadata.get("kdenlive"), Mapping) for item in items for m in item.markers)
