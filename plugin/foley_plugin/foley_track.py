"""The Foley track: generated WAVs laid under the picture, clip for clip."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import opentimelineio as otio

from foley_plugin.clips import ClipWindow, timeline_rate

FOLEY_KEY = "foley"
TRACK_NAME = "Foley"
# Generated WAVs live in "<output name>.foley-media/"; formats that drop metadata
# (FCP7 XML, FCPXML) still keep the media paths, so a track is recognised by them too.
MEDIA_FOLDER_SUFFIX = ".foley-media"


@dataclass(frozen=True)
class FoleyClipResult:
    """A generated WAV for one clip window, and what made it.

    `metadata` (job parameters, seed, model, input hash, …) is stored on the
    new clip under metadata["foley"], enough to regenerate it.
    """

    window: ClipWindow
    wav_path: Path
    metadata: dict = field(default_factory=dict)


def is_foley_track(track: otio.schema.Track) -> bool:
    """True for a track this plugin made: metadata["foley"]["kind"] == "track", or an
    audio track whose every clip plays a WAV from a generated-media folder."""
    state = track.metadata.get(FOLEY_KEY)
    if isinstance(state, Mapping) and state.get("kind") == "track":
        return True
    clips = [item for item in track if isinstance(item, otio.schema.Clip)]
    return track.kind == otio.schema.TrackKind.Audio and bool(clips) and all(map(_plays_generated_media, clips))


def media_folder_for(output_path: Path) -> Path:
    """Where the WAVs of a run writing `output_path` go."""
    return output_path.parent / f"{output_path.name.split('.')[0]}{MEDIA_FOLDER_SUFFIX}"


def _plays_generated_media(clip: otio.schema.Clip) -> bool:
    reference = clip.media_reference
    url = getattr(reference, "target_url", "") or ""
    return PurePosixPath(url.replace("\\", "/")).parent.name.endswith(MEDIA_FOLDER_SUFFIX)


def add_foley_track(
    timeline: otio.schema.Timeline,
    results: Sequence[FoleyClipResult],
    output_path: Path,
) -> otio.schema.Track:
    """Replace this plugin's previous Foley tracks with new ones and return the first, "Foley".

    Each result becomes a clip at exactly its window's timeline range, with
    gaps between; windows that overlap (stacked video tracks) go on further
    tracks "Foley 2", "Foley 3", …. Every range is at the timeline's frame
    rate, since RationalTime arithmetic promotes to the higher rate and an
    audio rate would change the timeline's apparent rate in some editors.
    In an .otio output, WAV paths are relative to its folder where possible;
    other formats get file:// URLs, which the XML and AAF importers of
    Premiere, Resolve, Final Cut Pro and Media Composer need. No other track
    changes.
    """
    rate = timeline_rate(timeline)
    for index in reversed(range(len(timeline.tracks))):
        if is_foley_track(timeline.tracks[index]):
            del timeline.tracks[index]

    output_path = Path(output_path)
    folder = output_path.parent if output_path.suffix.lower() == ".otio" else None
    tracks = [
        _lane_track(number, lane, folder, rate)
        for number, lane in enumerate(_lanes(results), start=1)
    ]
    timeline.tracks.extend(tracks)
    return tracks[0]


def _lanes(results: Sequence[FoleyClipResult]) -> list[list[FoleyClipResult]]:
    """Share the results out so that no lane holds two that overlap; always one lane at least."""
    lanes: list[list[FoleyClipResult]] = [[]]
    ordered = sorted(results, key=lambda r: (_start_frame(r), r.window.track_index))
    for result in ordered:
        lane = next(
            (lane for lane in lanes if not lane or _end_frame(lane[-1]) <= _start_frame(result)),
            None,
        )
        if lane is None:
            lanes.append([result])
        else:
            lane.append(result)
    return lanes


def _lane_track(
    number: int, lane: list[FoleyClipResult], folder: Path | None, rate: float
) -> otio.schema.Track:
    track = otio.schema.Track(
        name=TRACK_NAME if number == 1 else f"{TRACK_NAME} {number}",
        kind=otio.schema.TrackKind.Audio,
        metadata={FOLEY_KEY: {"kind": "track"}},
    )
    position = 0
    for result in lane:
        start = _start_frame(result)
        if start > position:
            track.append(otio.schema.Gap(source_range=_range(0, start - position, rate)))
        track.append(_foley_clip(result, folder, rate))
        position = _end_frame(result)
    return track


def _foley_clip(result: FoleyClipResult, folder: Path | None, rate: float) -> otio.schema.Clip:
    frames = int(result.window.duration.value)
    return otio.schema.Clip(
        name=f"{result.window.name} (Foley)",
        media_reference=otio.schema.ExternalReference(
            target_url=_media_url(Path(result.wav_path), folder),
            available_range=_range(0, frames, rate),
        ),
        source_range=_range(0, frames, rate),
        metadata={FOLEY_KEY: {**result.metadata, "kind": "clip"}},
    )


def _media_url(wav: Path, folder: Path | None) -> str:
    """Return the WAV's path relative to `folder`, else (no folder, or none exists) its file:// URL."""
    if folder is None:
        return wav.resolve().as_uri()
    try:
        return Path(os.path.relpath(wav.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return wav.resolve().as_uri()


def _range(start: int, duration: int, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate)
    )


def _start_frame(result: FoleyClipResult) -> int:
    return int(result.window.timeline_start.value)


def _end_frame(result: FoleyClipResult) -> int:
    return _start_frame(result) + int(result.window.duration.value)
