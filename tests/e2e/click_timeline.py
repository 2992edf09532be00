"""A timeline whose Foley clicks exactly on its markers, and the tools to hear where sounds start."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio

from foley_plugin.clips import select_clips
from foley_plugin.foley_track import FoleyClipResult, add_foley_track, media_folder_for
from foley_plugin.timeline_io import write_timeline
from foley_plugin.wav import write_wav

SAMPLE_RATE = 48_000
CLICK_LEVEL = 0.8
TONE_HZ, TONE_LEVEL = 440.0, 0.2
# Rising edges above this are transients: the clicks, never the tone under them.
ONSET_THRESHOLD = 0.5


def onsets(samples: np.ndarray, refractory_s: float = 0.05) -> list[int]:
    """Sample indices where the signal first rises above the threshold, at least `refractory_s` apart."""
    above = np.abs(samples) > ONSET_THRESHOLD
    rising = np.flatnonzero(above & ~np.r_[False, above[:-1]])
    found: list[int] = []
    for index in rising:
        if not found or index - found[-1] > refractory_s * SAMPLE_RATE:
            found.append(int(index))
    return found


def click_track(seconds: Fraction, clicks: list[Fraction]) -> np.ndarray:
    """Silence with a sharp click starting exactly at each time."""
    samples = np.zeros(round(seconds * SAMPLE_RATE), np.float32)
    decay = CLICK_LEVEL * np.exp(-np.arange(96) / 20.0)
    for time in clicks:
        start = round(time * SAMPLE_RATE)
        samples[start : start + len(decay)] = decay[: len(samples) - start]
    return samples


def write_movie(path: Path, rate: Fraction, frames: int) -> None:
    """A small movie at `rate` whose sound is a steady tone: heard only where an audio track plays it."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=rate)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for index in range(frames):
            image = np.full((48, 64, 3), (index * 3) % 256, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        total = round(frames / rate * SAMPLE_RATE)
        tone = (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * np.arange(total) / SAMPLE_RATE)).astype(np.float32)
        for start in range(0, total, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
            for packet in audio.encode(chunk):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)


class ClickTimeline:
    """A timeline with markers on clips and on a track, the movie's sound on an audio track under
    the first clip, and a Foley track whose WAVs click exactly on the markers.

    Timeline frames: "walk" [0, 60) from the movie's start, a gap, "door" [78, 150) from
    frame 45 of the movie. The movie's media time starts at one hour (a source
    timecode), as editors write it. Markers fall on timeline frames 12, 40, 88, 128 and 144.
    """

    MARKER_FRAMES = (12, 40, 88, 128, 144)
    LENGTH = 150
    WALK = (0, 60)
    DOOR = (78, 150)

    def __init__(self, folder: Path, rate: Fraction) -> None:
        self.folder, self.rate = folder, rate
        self.movie = folder / "movie.mp4"
        write_movie(self.movie, rate, 200)
        self.origin = 3600 * round(rate)  # 01:00:00:00, as a frame count

    def time(self, frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, float(self.rate))

    def span(self, start: int, length: int) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(self.time(start), self.time(length))

    def marker(self, frame: int, name: str) -> otio.schema.Marker:
        return otio.schema.Marker(name=name, marked_range=self.span(frame, 0))

    def movie_clip(self, name: str, first: int, length: int) -> otio.schema.Clip:
        reference = otio.schema.ExternalReference(target_url=self.movie.name, available_range=self.span(self.origin, 200))
        return otio.schema.Clip(name=name, media_reference=reference, source_range=self.span(self.origin + first, length))

    def picture(self) -> otio.schema.Timeline:
        timeline = otio.schema.Timeline(name="clicks")
        video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
        walk = self.movie_clip("walk", 0, 60)
        walk.markers.extend([self.marker(self.origin + 12, "step"), self.marker(self.origin + 40, "step")])
        door = self.movie_clip("door", 45, 72)
        door.markers.extend([self.marker(self.origin + 45 + 10, "knock"), self.marker(self.origin + 45 + 50, "slam")])
        video.extend([walk, otio.schema.Gap(source_range=self.span(0, 18)), door])
        video.markers.append(self.marker(144, "latch"))  # in the track's time: 66 frames into "door"
        sound = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        sound.append(self.movie_clip("walk sound", 0, 60))
        timeline.tracks.extend([video, sound])
        return timeline

    def with_foley(self, trim_frames: int) -> Path:
        """Write the timeline with its click Foley track; the "door" Foley clip is then trimmed at
        its head by `trim_frames`, as an editor would, so that it plays from inside its WAV."""
        source = self.folder / "clicks.otio"
        timeline = self.picture()
        otio.adapters.write_to_file(timeline, str(source))
        output = self.folder / "clicks.foley.otio"
        media = media_folder_for(output)
        media.mkdir()
        results = []
        for window in select_clips(timeline, timeline_path=source):
            seconds = window.duration.value / Fraction(self.rate)
            wav = media / f"{window.name}.wav"
            write_wav(wav, click_track(Fraction(seconds), [cue.time for cue in window.cues]), SAMPLE_RATE)
            results.append(FoleyClipResult(window=window, wav_path=wav))
        track = add_foley_track(timeline, results, output)
        gap, door = track[1], track[2]
        gap.source_range = self.span(0, gap.source_range.duration.value + trim_frames)
        door.source_range = self.span(trim_frames, door.source_range.duration.value - trim_frames)
        write_timeline(timeline, output)
        return output
