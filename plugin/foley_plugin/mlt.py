"""A timeline as an MLT XML project: the format of MLT, the engine under Kdenlive and Shotcut, which `melt` renders.

None of OpenTimelineIO's installed adapters writes MLT, so this module does,
for what a render needs: where each clip plays and which part of its file.

The project is laid out the way Shotcut lays out its own:

- Track 0 is a black background that also gives silence, so that audio
  always has a frame to be mixed into, even under gaps.
- Then one MLT track per OTIO track, in stack order (the bottom track first,
  as in OTIO); clips that overlap within a track (a nested stack's tracks)
  go on further MLT tracks beside it. Gaps become blanks.
- Video tracks give picture only and audio tracks sound only
  (hide="audio" / hide="video"): OTIO keeps a clip's sound on audio tracks,
  so a movie's own sound on its video track would play twice.
- A "mix" transition with sum=1 adds every audio track into track 0. Without
  it MLT plays only the uppermost track that has sound at each frame, so the
  Foley would be silent wherever a clip on a track above it has sound.

In and out points are frames of the profile's rate, which is the timeline's
rate as an exact fraction (24000/1001 and 30000/1001 for NTSC rates): a
file's first frame is 0, whatever start timecode the timeline gives it.
Every file gets one producer, cut by as many entries as clips play from it.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from .clips import timeline_rate
from .decoding import picture_size
from .errors import PluginError
from .playback import PlayedClip, played_clips, timeline_frames
from .timeutil import exact_rate, round_half_up

# The picture size when no video file can be read for it.
DEFAULT_SIZE = (1920, 1080)
BACKGROUND_ID = "background"


@dataclass(frozen=True)
class MltProject:
    """The project's XML text, and why each clip left out of it was left out."""

    xml: str
    left_out: tuple[str, ...]


def default_project_path(timeline_path: Path) -> Path:
    """Where the project of `timeline_path` goes by default: `<name>.mlt` beside it."""
    return Path(timeline_path).with_suffix(".mlt")


def mlt_project(
    timeline: otio.schema.Timeline,
    timeline_path: Path | None,
    project_path: Path,
    media_roots: Sequence[Path] = (),
) -> MltProject:
    """The MLT XML project that plays `timeline`, to be saved as `project_path`.

    Media paths are written relative to `project_path`'s folder where possible
    (melt reads them from the project file's folder). Clips whose media is not
    found, or that are retimed, are left out (a blank plays instead) and named
    in `left_out`. PluginError for a timeline with nothing on it.
    """
    rate = exact_rate(timeline_rate(timeline))
    clips = played_clips(timeline, timeline_path, media_roots)
    playable = [clip for clip in clips if clip.path is not None]
    length = max([timeline_frames(timeline), *(clip.end for clip in playable)])
    if length <= 0:
        raise PluginError(f"{timeline_path or timeline.name}: the timeline is empty; there is nothing to render")

    root = ET.Element("mlt", {"LC_NUMERIC": "C", "producer": "main", "title": timeline.name or "Foley"})
    root.append(_profile(rate, _size(playable)))
    producers = _producers(root, playable, Path(project_path).parent)
    _background(root, length)

    tracks: list[tuple[str, str]] = [(BACKGROUND_ID, "")]
    for index, track in enumerate(timeline.tracks):
        on_track = [clip for clip in playable if clip.track_index == index]
        hide = "video" if track.kind == otio.schema.TrackKind.Audio else "audio"
        for lane_number, lane in enumerate(_lanes(on_track)):
            playlist_id = f"track{index}" if lane_number == 0 else f"track{index}.{lane_number}"
            root.append(_playlist(playlist_id, lane, producers, rate))
            tracks.append((playlist_id, hide))

    tractor = ET.SubElement(root, "tractor", {"id": "main", "in": "0", "out": str(length - 1)})
    for playlist_id, hide in tracks:
        attributes = {"producer": playlist_id}
        if hide:
            attributes["hide"] = hide
        ET.SubElement(tractor, "track", attributes)
    for number, (_, hide) in enumerate(tracks):
        if hide == "video":
            _add_properties(
                ET.SubElement(tractor, "transition"),
                mlt_service="mix", a_track=0, b_track=number, always_active=1, sum=1,
            )
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return MltProject(
        xml=f'<?xml version="1.0" encoding="utf-8"?>\n{text}\n',
        left_out=tuple(clip.problem for clip in clips if clip.problem is not None),
    )


def _profile(rate: Fraction, size: tuple[int, int]) -> ET.Element:
    width, height = size
    divisor = math.gcd(width, height)
    return ET.Element(
        "profile",
        {
            "description": f"{width}x{height} {float(rate):.3f} fps",
            "width": str(width),
            "height": str(height),
            "progressive": "1",
            "sample_aspect_num": "1",
            "sample_aspect_den": "1",
            "display_aspect_num": str(width // divisor),
            "display_aspect_den": str(height // divisor),
            "frame_rate_num": str(rate.numerator),
            "frame_rate_den": str(rate.denominator),
            "colorspace": "709",
        },
    )


def _size(clips: list[PlayedClip]) -> tuple[int, int]:
    """The picture size of the first video clip whose file has one."""
    for clip in clips:
        if clip.kind == otio.schema.TrackKind.Video and (size := picture_size(clip.path)) is not None:
            return size
    return DEFAULT_SIZE


def _producers(root: ET.Element, clips: list[PlayedClip], folder: Path) -> dict[Path, str]:
    """One producer per media file, in order of first use; {path: producer id}."""
    producers: dict[Path, str] = {}
    for clip in clips:
        if clip.path in producers:
            continue
        producer_id = f"producer{len(producers)}"
        producers[clip.path] = producer_id
        # No mlt_service: MLT's loader picks the producer that reads the file (avformat, qimage, …).
        _add_properties(ET.SubElement(root, "producer", {"id": producer_id}), resource=_resource(clip.path, folder))
    return producers


def _resource(path: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def _background(root: ET.Element, length: int) -> None:
    """A black, silent playlist under everything, as long as the timeline."""
    black = ET.SubElement(root, "producer", {"id": "black", "in": "0", "out": str(length - 1)})
    _add_properties(
        black,
        length=length, eof="pause", resource="0", mlt_service="color",
        # Test frames carry no sound; with this, the background gives silence to mix into.
        **{"set.test_audio": 0},
    )
    playlist = ET.SubElement(root, "playlist", {"id": BACKGROUND_ID})
    ET.SubElement(playlist, "entry", {"producer": "black", "in": "0", "out": str(length - 1)})


def _lanes(clips: list[PlayedClip]) -> list[list[PlayedClip]]:
    """Share one track's clips out so that no lane holds two that overlap."""
    lanes: list[list[PlayedClip]] = []
    for clip in sorted(clips, key=lambda c: c.start):
        lane = next((lane for lane in lanes if lane[-1].end <= clip.start), None)
        if lane is None:
            lanes.append([clip])
        else:
            lane.append(clip)
    return lanes or [[]]


def _playlist(playlist_id: str, clips: list[PlayedClip], producers: dict[Path, str], rate: Fraction) -> ET.Element:
    playlist = ET.Element("playlist", {"id": playlist_id})
    position = 0
    for clip in clips:
        if clip.start > position:
            ET.SubElement(playlist, "blank", {"length": str(clip.start - position)})
        first = round_half_up(clip.file_start * rate)
        ET.SubElement(
            playlist,
            "entry",
            {"producer": producers[clip.path], "in": str(first), "out": str(first + clip.end - clip.start - 1)},
        )
        position = clip.end
    return playlist


def _add_properties(element: ET.Element, **properties: object) -> ET.Element:
    for name, value in properties.items():
        ET.SubElement(element, "property", {"name": name}).text = str(value)
    return element
