"""Demo material made on the spot: a video of a bouncing ball and a timeline cut from it.

Nothing binary is committed: `foley demo` renders the video with PyAV and writes an
OTIO timeline of three clips (one trimmed) with markers on the impact frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio

FPS = 24
WIDTH, HEIGHT = 320, 180
FLOOR_Y = 150
BALL_RADIUS = 10
# Frames on which the ball hits the floor: regular, irregular, a quick double and a long silence.
IMPACT_FRAMES = (20, 44, 68, 92, 130, 146, 154, 200, 262, 286, 298)
TOTAL_FRAMES = 312


@dataclass(frozen=True)
class DemoMaterial:
    video: Path
    timeline: Path
    impact_frames: tuple[int, ...]


def ball_height(frame: int) -> float:
    """Height of the ball above the floor (pixels) at `frame`; 0 on every impact frame."""
    bounds = (0, *IMPACT_FRAMES, TOTAL_FRAMES)
    for start, end in zip(bounds, bounds[1:]):
        if start <= frame <= end:
            span = end - start
            return 4 * 100 * (frame - start) * (end - frame) / (span * span)
    return 0.0


def render_frame(frame: int) -> np.ndarray:
    """One RGB frame: dark room, a floor that flashes on impact, a ball."""
    image = np.full((HEIGHT, WIDTH, 3), 24, dtype=np.uint8)
    floor = 255 if frame in IMPACT_FRAMES else 110
    image[FLOOR_Y:, :] = floor
    centre_y = FLOOR_Y - BALL_RADIUS - ball_height(frame)
    centre_x = 40 + (frame * 240) // TOTAL_FRAMES
    ys, xs = np.ogrid[:HEIGHT, :WIDTH]
    ball = (ys - centre_y) ** 2 + (xs - centre_x) ** 2 <= BALL_RADIUS**2
    image[ball] = (230, 120, 40)
    return image


def write_video(path: Path) -> None:
    """Encode the demo scene as H.264 (mpeg4 where libx264 is missing)."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(TOTAL_FRAMES):
            picture = av.VideoFrame.from_ndarray(render_frame(index), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _frames(value: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(value, FPS)


def build_timeline(video_url: str) -> otio.schema.Timeline:
    """Three clips of the demo video; impact markers on the clips, and one on the track."""
    timeline = otio.schema.Timeline(name="Foley demo", global_start_time=otio.opentime.RationalTime(86400, FPS))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    available = otio.opentime.TimeRange(_frames(0), _frames(TOTAL_FRAMES))
    cuts = (("drop A", 0, 100), ("drop B", 124, 84), ("drop C", 250, 56))
    for name, first, length in cuts:
        clip = otio.schema.Clip(
            name=name,
            media_reference=otio.schema.ExternalReference(target_url=video_url, available_range=available),
            source_range=otio.opentime.TimeRange(_frames(first), _frames(length)),
        )
        if name != "drop C":
            for frame in IMPACT_FRAMES:
                if first <= frame < first + length:
                    clip.markers.append(
                        otio.schema.Marker(name="impact", marked_range=otio.opentime.TimeRange(_frames(frame), _frames(0)))
                    )
        track.append(clip)
    # drop C's impacts are marked on the track instead, in the track's own time.
    track_start_of_c = 100 + 84
    for frame in IMPACT_FRAMES:
        if 250 <= frame < 306:
            track.markers.append(
                otio.schema.Marker(
                    name="bounce",
                    marked_range=otio.opentime.TimeRange(_frames(track_start_of_c + frame - 250), _frames(0)),
                )
            )
    return timeline


def make_demo(folder: Path) -> DemoMaterial:
    """Render the demo video and timeline into `folder` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "bouncing-ball.mp4"
    if not video.exists():
        write_video(video)
    timeline_path = folder / "demo.otio"
    otio.adapters.write_to_file(build_timeline(video.name), str(timeline_path))
    return DemoMaterial(video=video, timeline=timeline_path, impact_frames=IMPACT_FRAMES)
