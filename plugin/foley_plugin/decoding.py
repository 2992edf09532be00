"""Reading pictures and sound out of media files with PyAV, at the times a timeline asks for.

Times are file seconds: 0 is the file's first frame or sample, whatever start
time the container records (OTIO media time is turned into file time with
`media.media_origin` first).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Reading on from the current frame is cheaper than a seek for jumps up to this far.
_READ_AHEAD_S = 2.0
# Frame times are rounded by their time base; anything closer than this is the same instant.
_EPSILON_S = 1e-4


class DecodingError(Exception):
    """A media file cannot be opened or decoded; the message says which and why."""


def picture_size(path: Path) -> tuple[int, int] | None:
    """The width and height of the first video stream in `path`, or None when it has none or cannot be read."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            context = container.streams.video[0].codec_context
            return (context.width, context.height) if context.width and context.height else None
    except (av.FFmpegError, OSError):
        return None


class FrameReader:
    """The picture a video file shows at any time, decoded forwards and seeking only for jumps."""

    def __init__(self, path: Path) -> None:
        try:
            self._container = av.open(str(path))
        except (av.FFmpegError, OSError) as error:
            raise DecodingError(f"{path}: cannot be opened ({error})") from None
        if not self._container.streams.video:
            self._container.close()
            raise DecodingError(f"{path}: has no video stream")
        self.path = path
        self._stream = self._container.streams.video[0]
        start = self._stream.start_time
        self._origin = float(start * self._stream.time_base) if start is not None else 0.0
        self._frames = None
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = None

    def frame_at(self, seconds: float) -> av.VideoFrame | None:
        """The frame on screen `seconds` after the file's start (the last one past its end); None for an empty file."""
        wanted = seconds + self._origin
        if (
            self._current is None
            or wanted < self._time(self._current) - _EPSILON_S
            or wanted > self._time(self._current) + _READ_AHEAD_S
        ):
            self._seek(wanted)
        while self._next is not None and self._time(self._next) <= wanted + _EPSILON_S:
            self._current, self._next = self._next, self._read()
        return self._current

    def close(self) -> None:
        """Release the file."""
        self._container.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _seek(self, wanted: float) -> None:
        target = max(0, int(wanted / self._stream.time_base))
        try:
            self._container.seek(target, stream=self._stream, backward=True)
        except av.FFmpegError:
            self._container.seek(0, stream=self._stream, backward=True)
        self._frames = self._container.decode(self._stream)
        self._current = self._read()
        self._next = self._read()

    def _read(self) -> av.VideoFrame | None:
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except av.FFmpegError as error:
            raise DecodingError(f"{self.path}: cannot be decoded ({error})") from None

    def _time(self, frame: av.VideoFrame) -> float:
        return frame.time if frame.time is not None else self._origin


def read_sound(path: Path, sample_rate: int, until_s: Fraction | float | None = None) -> np.ndarray:
    """The first audio stream of `path` as mono float32 samples at `sample_rate`, from its start.

    Decoding stops once `until_s` seconds are read (the whole stream when None).
    Raises DecodingError for a file without sound or one that cannot be decoded.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise DecodingError(f"{path}: has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            limit = None if until_s is None else int(np.ceil(float(until_s) * sample_rate))
            chunks: list[np.ndarray] = []
            count = 0
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    chunks.append(converted.to_ndarray().reshape(-1))
                    count += converted.samples
                if limit is not None and count >= limit:
                    break
            else:
                chunks.extend(converted.to_ndarray().reshape(-1) for converted in resampler.resample(None))
    except (av.FFmpegError, OSError) as error:
        raise DecodingError(f"{path}: its sound cannot be decoded ({error})") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return samples if limit is None else samples[:limit]
