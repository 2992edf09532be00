"""Choosing the clips to score and the window of each one on the timeline.

A clip's window is the part of it that is visible on the timeline: its range
in its track (cut points, widened into the transitions beside it, where both
clips show), moved through every enclosing track's and stack's trimmed range
and time effects into timeline time (see `layout`), optionally narrowed to a
time range, and rounded to whole frames of the timeline's rate. Timeline time
starts at 0; the timeline's global_start_time (start timecode) is not added.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from foley_plugin.errors import SelectionError
from foley_plugin.layout import Placement, intersect, place_items, record_start, top_level_track
from foley_plugin.markers import (
    DEFAULT_CUE_MAX_FRAMES,
    Cue,
    Span,
    collect_markers,
    markers_in_window,
)
from foley_plugin.media import MediaLookup, resolve_media
from foley_plugin.timeutil import exact_rate, to_frames, to_seconds

DEFAULT_RATE = 24.0

# Editors number video tracks V1, V2, … from 1; many exports leave track names empty.
_TRACK_NUMBER = re.compile(r"^[Vv]?(\d+)$")


@dataclass(frozen=True)
class ClipWindow:
    """One clip to score: where it plays, what it shows, and the editor's markers on it.

    `timeline_start` and `duration` are whole frames at the timeline's rate.
    `media_start` is the media time (seconds) shown at the first visible frame
    and `speed` the media seconds played per timeline second (0 for a freeze
    frame, negative when reversed). Cue and span times are output time:
    seconds from the window's first frame.
    """

    clip: otio.schema.Clip = field(compare=False, repr=False)
    name: str
    track_name: str
    track_index: int
    timeline_start: otio.opentime.RationalTime = field(hash=False)
    duration: otio.opentime.RationalTime = field(hash=False)
    media_start: Fraction
    speed: Fraction
    media: MediaLookup
    cues: tuple[Cue, ...] = ()
    spans: tuple[Span, ...] = ()

    @property
    def timeline_range(self) -> otio.opentime.TimeRange:
        """The window as a TimeRange at the timeline's rate."""
        return otio.opentime.TimeRange(self.timeline_start, self.duration)


def timeline_rate(timeline: otio.schema.Timeline) -> float:
    """Return the timeline's frame rate.

    Taken from its global_start_time, else the first track's or item's range,
    else 24.
    """
    start = timeline.global_start_time
    if start is not None and start.rate > 0:
        return start.rate
    for track in timeline.tracks:
        if track.source_range is not None and track.source_range.duration.rate > 0:
            return track.source_range.duration.rate
    for item in timeline.tracks.find_children():
        source_range = getattr(item, "source_range", None)
        if source_range is not None and source_range.duration.rate > 0:
            return source_range.duration.rate
    return DEFAULT_RATE


def start_timecode(timeline: otio.schema.Timeline) -> otio.opentime.RationalTime | None:
    """Return the timecode of the timeline's first frame, or None when it has none.

    That is its global_start_time; the EDL reader leaves that unset and keeps
    the first record timecode in the track instead (see `layout.record_start`).
    """
    if timeline.global_start_time is not None:
        return timeline.global_start_time
    tracks = list(timeline.tracks)
    start = record_start(tracks[0]) if tracks else Fraction(0)
    if start == 0:
        return None
    rate = timeline_rate(timeline)
    return otio.opentime.RationalTime(round(start * exact_rate(rate)), rate)


def select_clips(
    timeline: otio.schema.Timeline,
    *,
    tracks: Sequence[str | int] | None = None,
    clip_names: Sequence[str] | None = None,
    time_range: otio.opentime.TimeRange | None = None,
    media_roots: Sequence[Path] = (),
    timeline_path: Path | None = None,
    cue_max_frames: int = DEFAULT_CUE_MAX_FRAMES,
) -> list[ClipWindow]:
    """Return the windows of the clips to score, in timeline order, with their cues and spans.

    By default every enabled clip on an enabled top-level video track, nested
    stacks included (clips in a nested stack's video tracks are scored where
    they appear).

    `tracks` keeps the top-level video tracks given by name or index: an int
    is a 0-based index among the video tracks; a string is a track name or,
    when no track has that name, an editor's 1-based track number ("1" or
    "V1" = the first video track). `clip_names` keeps clips with those names.
    `time_range` (timeline time, starting at 0) keeps the part of each clip
    inside it. Media files are looked up with `resolve_media`;
    `cue_max_frames` is passed to `collect_markers`. Raises SelectionError for
    a track or clip name that is not there.
    """
    rate = timeline_rate(timeline)
    frame_rate = exact_rate(rate)
    placements = place_items(timeline)
    video_tracks = [
        p
        for p in placements
        if p.parent is placements[0]
        and isinstance(p.item, otio.schema.Track)
        and p.item.kind == otio.schema.TrackKind.Video
    ]
    chosen = _choose_tracks(video_tracks, tracks)
    candidates = [
        (p, top)
        for p in placements
        if isinstance(p.item, otio.schema.Clip)
        and p.enabled
        and _on_video_tracks(p)
        and (top := top_level_track(p)) is not None
        and id(top) in chosen
    ]
    if clip_names:
        _check_clip_names(clip_names, [p.item.name for p, _ in candidates])
        candidates = [(p, top) for p, top in candidates if p.item.name in clip_names]

    limit = None
    if time_range is not None:
        limit_start = to_seconds(time_range.start_time)
        limit = (limit_start, limit_start + to_seconds(time_range.duration))

    markers = collect_markers(placements, cue_max_frames=cue_max_frames)
    lookups: dict[tuple, MediaLookup] = {}
    windows = []
    for placement, top in candidates:
        visible = placement.window if limit is None else intersect(placement.window, limit)
        first, last = _frames(visible, rate)
        if last <= first:
            continue
        start, end = first / frame_rate, last / frame_rate
        cues, spans = markers_in_window(markers, placement, (start, end))
        clip = placement.item
        windows.append(
            ClipWindow(
                clip=clip,
                name=clip.name,
                track_name=top.item.name,
                track_index=chosen[id(top)],
                timeline_start=otio.opentime.RationalTime(first, rate),
                duration=otio.opentime.RationalTime(last - first, rate),
                media_start=placement.own_time(start),
                speed=placement.speed,
                media=_lookup(lookups, clip, media_roots, timeline_path),
                cues=cues,
                spans=spans,
            )
        )
    windows.sort(key=lambda w: (w.timeline_start.value, w.track_index))
    return windows


def _frames(interval: tuple[Fraction, Fraction] | None, rate: float) -> tuple[int, int]:
    """Return an interval's ends as whole frames at `rate` ((0, 0) for None)."""
    if interval is None:
        return 0, 0
    return to_frames(interval[0], rate), to_frames(interval[1], rate)


def _choose_tracks(
    video_tracks: list[Placement], wanted: Sequence[str | int] | None
) -> dict[int, int]:
    """Return {id(track placement): video track index} for the tracks asked for."""
    indices = {id(p): i for i, p in enumerate(video_tracks)}
    if wanted is None:
        return indices
    chosen: dict[int, int] = {}
    for key in wanted:
        matches = _match_track(video_tracks, key)
        if not matches:
            available = ", ".join(
                f"{i} ({p.item.name!r})" if p.item.name else str(i)
                for i, p in enumerate(video_tracks)
            )
            raise SelectionError(
                f"no video track {key!r} in the timeline; video tracks: {available or 'none'}"
            )
        for p in matches:
            chosen[id(p)] = indices[id(p)]
    return chosen


def _match_track(video_tracks: list[Placement], key: str | int) -> list[Placement]:
    if isinstance(key, int):
        return [video_tracks[key]] if 0 <= key < len(video_tracks) else []
    named = [p for p in video_tracks if p.item.name == key]
    if named:
        return named
    number = _TRACK_NUMBER.match(key)
    if number is not None:
        return _match_track(video_tracks, int(number.group(1)) - 1)
    return []


def _check_clip_names(wanted: Sequence[str], present: list[str]) -> None:
    missing = [name for name in wanted if name not in present]
    if missing:
        known = sorted(set(present))
        shown = ", ".join(repr(n) for n in known[:12]) + (", …" if len(known) > 12 else "")
        raise SelectionError(
            f"no clip named {', '.join(repr(n) for n in missing)} on the selected video "
            f"tracks; clips there: {shown or 'none'}"
        )


def _on_video_tracks(placement: Placement) -> bool:
    """True when every track above the item (nested ones included) is a video track."""
    return all(
        p.item.kind == otio.schema.TrackKind.Video
        for p in placement.ancestors()
        if isinstance(p.item, otio.schema.Track)
    )


def _lookup(
    cache: dict[tuple, MediaLookup],
    clip: otio.schema.Clip,
    media_roots: Sequence[Path],
    timeline_path: Path | None,
) -> MediaLookup:
    # Long timelines cut one file many times; search the media roots once per file.
    key = (clip.name, clip.media_reference.to_json_string())
    if key not in cache:
        cache[key] = resolve_media(clip, media_roots, timeline_path)
    return cache[key]
