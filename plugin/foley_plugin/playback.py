"""What plays where: every enabled clip of a timeline with its media file, record frames and in-point.

This is the timeline as a player sees it, for rendering it elsewhere (an MLT
project, a preview movie): each clip's visible part on the timeline in whole
frames of the timeline's rate (nested stacks and trims included, see
`layout`), and the file time it starts playing from. Clips played at another
speed than 1 are listed with the reason they are not rendered, like clips
whose media cannot be found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from .clips import timeline_rate
from .layout import place_items, top_level_track
from .media import MediaLookup, media_origin, resolve_media
from .timeutil import exact_rate, to_frames, to_seconds


@dataclass(frozen=True)
class PlayedClip:
    """One clip's visible part: frames [start, end) of the timeline, from `file_start` seconds of `path`.

    `track_index` is the index of its top-level track in `timeline.tracks` and
    `kind` that track's kind. `path` is None, and `problem` says why, when the
    clip cannot be rendered (media not found, a speed other than 1).
    """

    name: str
    track_index: int
    kind: str
    start: int
    end: int
    file_start: Fraction
    path: Path | None
    problem: str | None = None

    def file_end(self, rate: Fraction) -> Fraction:
        """The file time where the clip stops playing, at the timeline's exact `rate`."""
        return self.file_start + (self.end - self.start) / rate


def played_clips(
    timeline: otio.schema.Timeline,
    timeline_path: Path | None,
    media_roots: Sequence[Path] = (),
) -> list[PlayedClip]:
    """Every enabled clip that is visible on the timeline, in track order, then timeline order.

    Media are found with `resolve_media` (relative paths from `timeline_path`'s
    folder, then the media roots). Clips of disabled tracks are left out, as an
    editor leaves them out of its render.
    """
    rate = timeline_rate(timeline)
    frame_rate = exact_rate(rate)
    placements = place_items(timeline)
    top_tracks = {id(track): index for index, track in enumerate(timeline.tracks)}
    lookups: dict[str, MediaLookup] = {}
    played = []
    for placement in placements:
        clip = placement.item
        if not isinstance(clip, otio.schema.Clip) or not placement.enabled or placement.window is None:
            continue
        top = top_level_track(placement)
        start, end = (to_frames(t, rate) for t in placement.window)
        if top is None or end <= start:
            continue
        # Where the rounded first frame shows the media, counted from the file's first frame.
        file_start = max(Fraction(0), placement.own_time(start / frame_rate) - media_origin(clip))
        key = clip.media_reference.to_json_string() + clip.name
        if key not in lookups:
            lookups[key] = resolve_media(clip, media_roots, timeline_path)
        lookup = lookups[key]
        problem = lookup.reason
        if lookup.path is not None and placement.speed != 1:
            problem = f"clip {clip.name!r} plays at speed {float(placement.speed):g}; retimed clips are not rendered here"
        played.append(
            PlayedClip(
                name=clip.name,
                track_index=top_tracks[id(top.item)],
                kind=top.item.kind,
                start=start,
                end=end,
                file_start=file_start,
                path=lookup.path if problem is None else None,
                problem=problem,
            )
        )
    played.sort(key=lambda c: (c.track_index, c.start))
    return played


def timeline_frames(timeline: otio.schema.Timeline) -> int:
    """The timeline's length in whole frames of its rate."""
    return to_frames(to_seconds(timeline.tracks.trimmed_range().duration), timeline_rate(timeline))
