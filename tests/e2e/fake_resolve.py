"""A fake of DaVinci Resolve's scripting object model, for the Generate Foley script.

It implements every method of Resolve's scripting README
(Developer/Scripting/README.txt) that the script calls, and a few more the
tests read back with, following Resolve's conventions:

- frames are those of Resolve's clock: a timeline that starts at 01:00:00:00
  at 24 fps starts at frame 86400 (`Timeline.GetStartFrame`), and
  `TimelineItem.GetStart` and AppendToTimeline's "recordFrame" use that clock;
- timeline markers are keyed by their frame offset from the timeline's start,
  clip markers by their offset from the clip's first frame on the timeline;
- track indices are 1-based, counted per track type;
- failures are return values (False, None, an empty list), never exceptions.

`Timeline.Export(path, EXPORT_OTIO, …)` writes the timeline as a real .otio
file, built with OpenTimelineIO from the same model. Every call to the objects
the script is handed is recorded in `FakeResolve.recorder` as (Class.Method,
arguments); timeline items, which only the tests read, record nothing.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import opentimelineio as otio

MEDIA_SUFFIXES = {".wav", ".mp4", ".mov"}


@dataclass(frozen=True)
class Call:
    """One call to the fake: "Class.Method" and its arguments."""

    method: str
    args: tuple


class Recorder:
    """The shared record of calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def note(self, method: str, *args: object) -> None:
        self.calls.append(Call(method, args))

    def named(self, method: str) -> list[tuple]:
        """The arguments of every call to `method`, in order."""
        return [call.args for call in self.calls if call.method == method]


class FakeMediaPoolItem:
    """A file in the media pool; `frames` is its length in timeline frames."""

    def __init__(self, recorder: Recorder, path: Path, frames: int, has_video: bool) -> None:
        self._recorder = recorder
        self.path = path
        self.frames = frames
        self.has_video = has_video

    def GetName(self) -> str:
        self._recorder.note("MediaPoolItem.GetName")
        return self.path.name

    def GetClipProperty(self, propertyName: str | None = None):
        self._recorder.note("MediaPoolItem.GetClipProperty", propertyName)
        properties = {"File Path": str(self.path), "Frames": str(self.frames), "File Name": self.path.name}
        return properties if propertyName is None else properties.get(propertyName, "")


@dataclass
class FakeTimelineItem:
    """A clip on a track: it plays `media` from frame `source_in` for `duration` frames from `start`."""

    media: FakeMediaPoolItem
    name: str
    start: int
    duration: int
    source_in: int = 0
    # Offset from the clip's first frame → (name, duration in frames).
    markers: dict[int, tuple[str, int]] = field(default_factory=dict)

    def GetName(self) -> str:
        return self.name

    def GetStart(self) -> int:
        return self.start

    def GetEnd(self) -> int:
        return self.start + self.duration

    def GetDuration(self) -> int:
        return self.duration

    def GetMediaPoolItem(self) -> FakeMediaPoolItem:
        return self.media

    def GetMarkers(self) -> dict:
        return {offset: {"name": name, "duration": length} for offset, (name, length) in self.markers.items()}


class FakeFolder:
    """A media pool bin."""

    def __init__(self, recorder: Recorder, name: str) -> None:
        self._recorder = recorder
        self.name = name
        self.clips: list[FakeMediaPoolItem] = []
        self.subfolders: list[FakeFolder] = []

    def GetName(self) -> str:
        self._recorder.note("Folder.GetName")
        return self.name

    def GetClipList(self) -> list[FakeMediaPoolItem]:
        self._recorder.note("Folder.GetClipList")
        return list(self.clips)

    def GetSubFolderList(self) -> list[FakeFolder]:
        self._recorder.note("Folder.GetSubFolderList")
        return list(self.subfolders)


class FakeTimeline:
    """A timeline at `rate` fps starting at frame `start_frame` of Resolve's clock."""

    def __init__(self, resolve: FakeResolve, name: str, start_frame: int, rate: int) -> None:
        self._resolve = resolve
        self._recorder = resolve.recorder
        self.name = name
        self.start_frame = start_frame
        self.rate = rate
        self.tracks: dict[str, list[list[FakeTimelineItem]]] = {"video": [[]], "audio": [[]], "subtitle": []}
        self.track_names: dict[str, list[str]] = {"video": ["Video 1"], "audio": ["Audio 1"], "subtitle": []}
        # Offset from the timeline's start → (name, duration in frames).
        self.markers: dict[int, tuple[str, int]] = {}
        self.export_fails = False

    # Set-up for tests (not Resolve API).
    def put_video(self, track: int, name: str, media: FakeMediaPoolItem, offset: int, duration: int,
                  source_in: int = 0, markers: dict[int, tuple[str, int]] | None = None) -> FakeTimelineItem:
        """Place `media` as clip `name` on video track `track` (1-based), `offset` frames after the timeline's start."""
        while len(self.tracks["video"]) < track:
            self.tracks["video"].append([])
            self.track_names["video"].append(f"Video {len(self.tracks['video'])}")
        item = FakeTimelineItem(media, name, self.start_frame + offset, duration, source_in, dict(markers or {}))
        self.tracks["video"][track - 1].append(item)
        return item

    def GetName(self) -> str:
        self._recorder.note("Timeline.GetName")
        return self.name

    def GetStartFrame(self) -> int:
        self._recorder.note("Timeline.GetStartFrame")
        return self.start_frame

    def GetSetting(self, settingName: str = "") -> str:
        self._recorder.note("Timeline.GetSetting", settingName)
        return str(self.rate) if settingName == "timelineFrameRate" else ""

    def GetTrackCount(self, trackType: str) -> int:
        self._recorder.note("Timeline.GetTrackCount", trackType)
        return len(self.tracks.get(trackType, []))

    def AddTrack(self, trackType: str, subTrackType: str | None = None) -> bool:
        self._recorder.note("Timeline.AddTrack", trackType, subTrackType)
        if trackType not in self.tracks or (subTrackType is not None and trackType != "audio"):
            return False
        self.tracks[trackType].append([])
        self.track_names[trackType].append(f"{trackType.title()} {len(self.tracks[trackType])}")
        return True

    def GetTrackName(self, trackType: str, trackIndex: int) -> str:
        self._recorder.note("Timeline.GetTrackName", trackType, trackIndex)
        names = self.track_names.get(trackType, [])
        return names[trackIndex - 1] if 1 <= trackIndex <= len(names) else ""

    def SetTrackName(self, trackType: str, trackIndex: int, name: str) -> bool:
        self._recorder.note("Timeline.SetTrackName", trackType, trackIndex, name)
        names = self.track_names.get(trackType, [])
        if not 1 <= trackIndex <= len(names):
            return False
        names[trackIndex - 1] = name
        return True

    def GetItemListInTrack(self, trackType: str, index: int) -> list[FakeTimelineItem]:
        self._recorder.note("Timeline.GetItemListInTrack", trackType, index)
        tracks = self.tracks.get(trackType, [])
        return sorted(tracks[index - 1], key=FakeTimelineItem.GetStart) if 1 <= index <= len(tracks) else []

    def GetMarkers(self) -> dict:
        self._recorder.note("Timeline.GetMarkers")
        return {offset: {"name": name, "duration": length} for offset, (name, length) in self.markers.items()}

    def AddMarker(self, frameId: int, color: str, name: str, note: str, duration: int, customData: str = "") -> bool:
        self._recorder.note("Timeline.AddMarker", frameId, color, name, note, duration, customData)
        if frameId in self.markers or duration < 1:
            return False
        self.markers[frameId] = (name, duration)
        return True

    def Export(self, fileName: str, exportType: int, exportSubtype: int | None = None) -> bool:
        self._recorder.note("Timeline.Export", fileName, exportType, exportSubtype)
        if self.export_fails or exportType != FakeResolve.EXPORT_OTIO or not Path(fileName).parent.is_dir():
            return False
        otio.adapters.write_to_file(self.as_otio(), fileName)
        return True

    def as_otio(self) -> otio.schema.Timeline:
        """The timeline as OpenTimelineIO: start timecode, video tracks with clip markers, timeline markers."""
        rate = self.rate
        timeline = otio.schema.Timeline(name=self.name, global_start_time=otio.opentime.RationalTime(self.start_frame, rate))
        for kind, tracks in (("video", self.tracks["video"]), ("audio", self.tracks["audio"])):
            for number, items in enumerate(tracks):
                track = otio.schema.Track(
                    name=self.track_names[kind][number],
                    kind=otio.schema.TrackKind.Video if kind == "video" else otio.schema.TrackKind.Audio,
                )
                position = self.start_frame
                for item in sorted(items, key=FakeTimelineItem.GetStart):
                    if item.start > position:
                        track.append(otio.schema.Gap(source_range=_range(0, item.start - position, rate)))
                    track.append(_clip(item, rate))
                    position = item.start + item.duration
                timeline.tracks.append(track)
        for offset, (name, length) in sorted(self.markers.items()):
            timeline.tracks.markers.append(otio.schema.Marker(name=name, marked_range=_range(offset, length, rate)))
        return timeline


class FakeMediaPool:
    """The media pool of a project: bins, imports, and appending to the current timeline."""

    def __init__(self, resolve: FakeResolve, project: FakeProject) -> None:
        self._resolve = resolve
        self._recorder = resolve.recorder
        self._project = project
        self.root = FakeFolder(self._recorder, "Master")
        self.current = self.root
        self.import_refused = False

    def GetRootFolder(self) -> FakeFolder:
        self._recorder.note("MediaPool.GetRootFolder")
        return self.root

    def GetCurrentFolder(self) -> FakeFolder:
        self._recorder.note("MediaPool.GetCurrentFolder")
        return self.current

    def SetCurrentFolder(self, folder: FakeFolder) -> bool:
        self._recorder.note("MediaPool.SetCurrentFolder", folder)
        if not isinstance(folder, FakeFolder):
            return False
        self.current = folder
        return True

    def AddSubFolder(self, folder: FakeFolder, name: str) -> FakeFolder | None:
        self._recorder.note("MediaPool.AddSubFolder", folder, name)
        if any(sub.name == name for sub in folder.subfolders):
            return None
        sub = FakeFolder(self._recorder, name)
        folder.subfolders.append(sub)
        return sub

    def ImportMedia(self, items: list[str]) -> list[FakeMediaPoolItem]:
        self._recorder.note("MediaPool.ImportMedia", list(items))
        if self.import_refused:
            return []
        rate = self._project.timeline.rate if self._project.timeline else 24
        made = []
        for path in map(Path, items):
            if path.is_file() and path.suffix.lower() in MEDIA_SUFFIXES:
                item = media_item(self._resolve, path, rate)
                self.current.clips.append(item)
                made.append(item)
        return made

    def AppendToTimeline(self, clips: list) -> list[FakeTimelineItem]:
        """The clipInfo form only: each placed at its "recordFrame" on its "trackIndex", or refused."""
        self._recorder.note("MediaPool.AppendToTimeline", [dict(info) for info in clips])
        timeline = self._project.timeline
        placed = []
        for info in clips:
            item = self._append(timeline, info) if timeline is not None else None
            if item is not None:
                placed.append(item)
        return placed

    def _append(self, timeline: FakeTimeline, info: dict) -> FakeTimelineItem | None:
        media = info.get("mediaPoolItem")
        media_type = info.get("mediaType")
        kind = {1: "video", 2: "audio"}.get(media_type)
        tracks = timeline.tracks.get(kind or "", [])
        first, last = info.get("startFrame", 0), info.get("endFrame")
        record = info.get("recordFrame", timeline.start_frame)
        index = info.get("trackIndex", 1)
        if (
            not isinstance(media, FakeMediaPoolItem)
            or kind is None
            or (kind == "video" and not media.has_video)
            or last is None
            or not 0 <= first <= last < media.frames  # endFrame is the last frame played
            or not 1 <= index <= len(tracks)
            or record < timeline.start_frame
        ):
            return None
        duration = last - first + 1
        if any(item.start < record + duration and record < item.GetEnd() for item in tracks[index - 1]):
            return None  # would overwrite a clip already there
        item = FakeTimelineItem(media, media.path.stem, record, duration, first)
        tracks[index - 1].append(item)
        return item


class FakeProject:
    """A project with one timeline (or none) and its media pool."""

    def __init__(self, resolve: FakeResolve, name: str, timeline: FakeTimeline | None) -> None:
        self._recorder = resolve.recorder
        self.name = name
        self.timeline = timeline
        self.media_pool = FakeMediaPool(resolve, self)

    def GetName(self) -> str:
        self._recorder.note("Project.GetName")
        return self.name

    def GetCurrentTimeline(self) -> FakeTimeline | None:
        self._recorder.note("Project.GetCurrentTimeline")
        return self.timeline

    def GetMediaPool(self) -> FakeMediaPool:
        self._recorder.note("Project.GetMediaPool")
        return self.media_pool


class FakeProjectManager:
    def __init__(self, resolve: FakeResolve) -> None:
        self._resolve = resolve

    def GetCurrentProject(self) -> FakeProject | None:
        self._resolve.recorder.note("ProjectManager.GetCurrentProject")
        return self._resolve.project


class FakeResolve:
    """The `resolve` object a menu script is given. `project` is the open project, or None."""

    # Distinct stand-ins for Resolve's export constants.
    EXPORT_AAF, EXPORT_EDL, EXPORT_FCP_7_XML, EXPORT_OTIO = 0, 2, 3, 17
    EXPORT_NONE = 100

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.project: FakeProject | None = None

    def open_project(self, name: str, timeline: FakeTimeline | None) -> FakeProject:
        """Set-up for tests: make `name` the open project, showing `timeline`."""
        self.project = FakeProject(self, name, timeline)
        return self.project

    def timeline(self, name: str, start_frame: int = 86_400, rate: int = 24) -> FakeTimeline:
        """Set-up for tests: a new empty timeline (one video and one audio track)."""
        return FakeTimeline(self, name, start_frame, rate)

    def GetProjectManager(self) -> FakeProjectManager:
        self.recorder.note("Resolve.GetProjectManager")
        return FakeProjectManager(self)


def media_item(resolve: FakeResolve, path: Path, rate: int) -> FakeMediaPoolItem:
    """A media pool item for `path`; a WAV's length comes from its header."""
    if path.suffix.lower() == ".wav":
        with wave.open(str(path), "rb") as reader:
            frames = round(reader.getnframes() * rate / reader.getframerate())
        return FakeMediaPoolItem(resolve.recorder, path, frames, has_video=False)
    return FakeMediaPoolItem(resolve.recorder, path, 10 * 60 * rate, has_video=True)


def _clip(item: FakeTimelineItem, rate: int) -> otio.schema.Clip:
    clip = otio.schema.Clip(
        name=item.name,
        media_reference=otio.schema.ExternalReference(
            target_url=item.media.path.resolve().as_uri(), available_range=_range(0, item.media.frames, rate)
        ),
        source_range=_range(item.source_in, item.duration, rate),
    )
    for offset, (name, length) in sorted(item.markers.items()):
        # OTIO keeps a clip's markers in its media time.
        clip.markers.append(otio.schema.Marker(name=name, marked_range=_range(item.source_in + offset, length, rate)))
    return clip


def _range(start: int, duration: int, rate: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate))
