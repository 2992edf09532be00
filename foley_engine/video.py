"""Probing videos and sampling their frames at exact times, with PyAV.

Media time 0 is the video stream's first frame (its start time), so a clip's
`TimeMap.media_start` counts from the first picture whatever the container's
timestamp offset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .config import AUDIO
from .errors import InvalidRequest, MediaError
from .request import TimeMap


_LATEST_SEEK = 2**62


@dataclass(frozen=True)
class VideoInfo:
    """What `probe_video` learns about a file's first video stream."""

    duration: Fraction
    fps: Fraction
    width: int
    height: int
    frame_count: int


@contextmanager
def _open_video(path: Path | str) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    path = Path(path)
    if not path.exists():
        raise MediaError(str(path), "no such file")
    if not path.is_file():
        raise MediaError(str(path), "is not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(str(path), "is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise MediaError(str(path), f"cannot be read as a video file ({error})") from None
    try:
        if not container.streams.video:
            raise MediaError(str(path), "has no video stream")
        yield container, container.streams.video[0]
    finally:
        container.close()


def picture_size(path: Path | str) -> tuple[int, int]:
    """(height, width) of the first video stream's coded pictures, read from the header alone."""
    with _open_video(path) as (_, stream):
        return stream.codec_context.height, stream.codec_context.width


def _count_packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    return sum(1 for packet in container.demux(stream) if packet.size > 0)


def probe_video(path: Path | str) -> VideoInfo:
    """Duration, frame rate, size and frame count of the file's first video stream.

    Raises MediaError for a missing, unreadable or audio-only file and for a
    video stream without frames.
    """
    with _open_video(path) as (container, stream):
        try:
            frame_count = stream.frames or _count_packets(container, stream)
        except av.FFmpegError as error:
            raise MediaError(str(path), f"cannot be read as a video file ({error})") from None
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = Fraction(rate) if rate else Fraction(0)
        if stream.duration and stream.time_base:
            duration = stream.duration * Fraction(stream.time_base)
        elif container.duration:
            duration = Fraction(container.duration, av.time_base)
        elif fps:
            duration = frame_count / fps
        else:
            duration = Fraction(0)
        if frame_count == 0 or duration <= 0:
            raise MediaError(str(path), "has no video frames")
        if not fps:
            fps = frame_count / duration
        return VideoInfo(
            duration=duration,
            fps=fps,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            frame_count=frame_count,
        )


def _header_frame_count(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """The header's frame count, else its duration × frame rate; 0 if it gives neither."""
    if stream.frames:
        return stream.frames
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if stream.duration and stream.time_base:
        duration = stream.duration * Fraction(stream.time_base)
    elif container.duration:
        duration = Fraction(container.duration, av.time_base)
    else:
        return 0
    # Rounded: container durations are in whole microseconds, a hair off the true length.
    return round(duration * Fraction(rate)) if rate else 0


def check_video_limits(path: Path | str, max_pixels: int, max_frames: int, field: str = "video_path") -> None:
    """Refuse a video too big to decode safely, from its container header alone.

    No frame is decoded here (opening the container only probes its first
    packets), so a decompression bomb — huge pictures, or a vast number of tiny
    frames — is refused before it can take the engine's memory or time. Raises
    InvalidRequest naming `field` when width × height exceeds `max_pixels` or
    the frame count (or duration × frame rate where the header has no count)
    exceeds `max_frames` or is unknown; MediaError when the file is not a video.
    """
    with _open_video(path) as (container, stream):
        width, height = stream.codec_context.width, stream.codec_context.height
        frames = _header_frame_count(container, stream)
    if width * height == 0:
        raise MediaError(str(path), "its header gives no picture size")
    if width * height > max_pixels:
        size = f"{width}×{height}"
        raise InvalidRequest(field, f"the video is {size} pixels; the engine takes at most {max_pixels} a frame")
    if frames == 0:
        raise InvalidRequest(field, "the video's header gives neither a frame count nor a duration and frame rate")
    if frames > max_frames:
        raise InvalidRequest(field, f"the video has {frames} frames; the engine takes at most {max_frames}")


def output_times(window: TimeMap, fps: Fraction | int, start: Fraction, count: int | None) -> list[Fraction]:
    """Output times start + k / fps of the frames `sample_frames` returns."""
    fps = Fraction(fps)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if count is None:
        count = max(0, math.ceil((window.duration - start) * fps))
    return [start + Fraction(k) / fps for k in range(count)]


def sample_frames(
    path: Path | str,
    window: TimeMap,
    fps: Fraction | int = AUDIO.video_fps,
    size: tuple[int, int] | None = None,
    start: Fraction = Fraction(0),
    count: int | None = None,
) -> np.ndarray:
    """RGB frames (N, H, W, 3) uint8 as the clip shows them at output times start + k / fps.

    Frame k is the picture displayed at media time `window.media_time(start + k / fps)`:
    the last frame whose timestamp is at or before that time, clamped to the
    first and last frame. Speed changes, freeze frames and reverse play follow
    from the TimeMap. N is `count`, or enough frames to reach the window's end.
    `size` is (height, width); None keeps the video's own size.

    The needed media range is decoded once, front to back, from the key frame
    before it.
    """
    targets = [window.media_time(t) for t in output_times(window, fps, start, count)]
    with _open_video(path) as (container, stream):
        height, width = size if size is not None else (stream.codec_context.height, stream.codec_context.width)
        frames = np.zeros((len(targets), height, width, 3), dtype=np.uint8)
        if not targets:
            return frames

        def convert(frame: av.VideoFrame) -> np.ndarray:
            return frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")

        try:
            found = _frames_at(container, stream, targets, convert)
        except av.FFmpegError as error:
            raise MediaError(str(path), f"cannot decode its video ({error})") from None
        if found is None:
            raise MediaError(str(path), "has no video frames")
        for k, picture in enumerate(found):
            frames[k] = picture
        return frames


def _frames_at(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    targets: list[Fraction],
    convert: Callable[[av.VideoFrame], np.ndarray],
) -> list[np.ndarray] | None:
    """The converted picture shown at each media time in `targets`; None if the stream has no frames."""
    time_base = Fraction(stream.time_base)
    origin = stream.start_time or 0
    order = sorted(range(len(targets)), key=targets.__getitem__)
    earliest = targets[order[0]]
    stream.thread_type = "AUTO"

    if earliest > 0:
        # Times past the end show the last frame, so a seek there only needs to land late;
        # capped, a time far beyond the end cannot overflow FFmpeg's 64-bit timestamps.
        offset = min(math.floor(earliest / time_base), _LATEST_SEEK - origin)
        container.seek(origin + offset, stream=stream, backward=True, any_frame=False)
        found = _assign(container.decode(stream), targets, order, time_base, origin, convert, after_seek=True)
        if found is not None:
            return found
        # The index put the seek after the wanted time; decode from the start instead.
        container.seek(origin, stream=stream, backward=True, any_frame=False)
    return _assign(container.decode(stream), targets, order, time_base, origin, convert, after_seek=False)


def _assign(
    decoded: Iterator[av.VideoFrame],
    targets: list[Fraction],
    order: list[int],
    time_base: Fraction,
    origin: int,
    convert: Callable[[av.VideoFrame], np.ndarray],
    after_seek: bool,
) -> list[np.ndarray] | None:
    """Walk decoded frames once and give each target the last frame at or before it.

    Returns None when nothing was decoded, or, `after_seek`, when the first
    decoded frame lies after the earliest target (the seek landed late).
    Each frame is converted at most once and only if some target shows it.
    """
    chosen: list[np.ndarray | None] = [None] * len(targets)
    previous: av.VideoFrame | None = None
    previous_time: Fraction | None = None
    previous_picture: np.ndarray | None = None
    position = 0
    for frame in decoded:
        if frame.pts is None:
            continue
        frame_time = (frame.pts - origin) * time_base
        if previous_time is not None and frame_time <= previous_time:
            continue
        if previous is None and after_seek and frame_time > targets[order[0]]:
            return None
        while position < len(order) and targets[order[position]] < frame_time:
            # Times before the first frame are clamped onto it.
            if previous is None:
                previous, previous_time = frame, frame_time
            if previous_picture is None:
                previous_picture = convert(previous)
            chosen[order[position]] = previous_picture
            position += 1
        if position == len(order):
            return chosen
        if frame is not previous:
            previous, previous_time, previous_picture = frame, frame_time, None
    if previous is None:
        return None
    if previous_picture is None:
        previous_picture = convert(previous)
    for index in order[position:]:
        chosen[index] = previous_picture
    return chosen
