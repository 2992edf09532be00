"""A preview movie: the first video track's picture with the timeline's sound, to audition anywhere.

The picture follows each clip's source range at the timeline's rate (decoded
with PyAV); gaps, and clips whose media is missing, unreadable or retimed, are
black. The sound is every audio track summed, the Foley track included:
audio clips whose media cannot be decoded are left out. Each clip left out is
named in a warning. The movie is H.264 and AAC in MP4 (MPEG-4 Part 2 where
this FFmpeg has no libx264), at most `MAX_WIDTH` pixels wide.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
from tqdm import tqdm

from .clips import timeline_rate
from .decoding import DecodingError, FrameReader, picture_size, read_sound
from .errors import PluginError
from .files import write_atomically
from .playback import PlayedClip, played_clips, timeline_frames
from .timeutil import exact_rate

MAX_WIDTH = 640
# The picture size when the first video track shows no readable file.
DEFAULT_SIZE = (640, 360)
SAMPLE_RATE = 48_000
AAC_FRAME = 1024
# The mix is scaled down to this peak when the summed tracks would clip.
PEAK = 0.99


def default_preview_path(timeline_path: Path) -> Path:
    """Where the preview of `timeline_path` goes by default: `<stem>.preview.mp4` beside it."""
    timeline_path = Path(timeline_path)
    return timeline_path.with_name(f"{timeline_path.stem}.preview.mp4")


def render_preview(
    timeline: otio.schema.Timeline,
    timeline_path: Path | None,
    output: Path,
    *,
    media_roots: Sequence[Path] = (),
    max_width: int = MAX_WIDTH,
    warn: Callable[[str], None] = print,
) -> None:
    """Write the preview movie of `timeline` to `output` (atomically).

    `warn` is called once for every clip that is shown black or left out of
    the sound, with the reason. PluginError for an empty timeline.
    """
    rate = exact_rate(timeline_rate(timeline))
    frames = timeline_frames(timeline)
    if frames <= 0:
        raise PluginError(f"{timeline_path or timeline.name}: the timeline is empty; there is nothing to preview")
    clips = played_clips(timeline, timeline_path, media_roots)
    picture_track = next(
        (index for index, track in enumerate(timeline.tracks) if track.kind == otio.schema.TrackKind.Video), None
    )
    picture = [clip for clip in clips if clip.track_index == picture_track]
    sound = [clip for clip in clips if clip.kind == otio.schema.TrackKind.Audio]
    for clip in picture:
        if clip.problem is not None:
            warn(f"{clip.problem}; it is black in the preview")
    for clip in sound:
        if clip.problem is not None:
            warn(f"{clip.problem}; it is left out of the preview's sound")
    mix = _mix(sound, frames / rate, rate, warn)
    size = _size(picture, max_width)

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=rate)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        if video.name == "libx264":
            video.options = {"preset": "veryfast", "crf": "23"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        painter = _Painter(picture, rate, size, warn)
        sent = 0
        try:
            for index in tqdm(range(frames), desc="preview", unit="frame"):
                for packet in video.encode(painter.frame(index)):
                    container.mux(packet)
                # Interleave: the sound up to the end of this frame goes in beside it.
                until = round((index + 1) / rate * SAMPLE_RATE)
                while sent + AAC_FRAME <= until or (index == frames - 1 and sent < len(mix)):
                    for packet in audio.encode(_audio_frame(mix, sent)):
                        container.mux(packet)
                    sent += AAC_FRAME
        finally:
            painter.close()
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    write_atomically(Path(output), buffer.getvalue())


def _size(picture: list[PlayedClip], max_width: int) -> tuple[int, int]:
    """The preview's size: the first readable clip's aspect, at most `max_width` wide, even sides."""
    width, height = next(
        (size for clip in picture if clip.path is not None and (size := picture_size(clip.path)) is not None),
        DEFAULT_SIZE,
    )
    scale = min(1.0, max_width / width)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _mix(sound: list[PlayedClip], seconds: Fraction, rate: Fraction, warn: Callable[[str], None]) -> np.ndarray:
    """Every playable audio clip added in at its place; scaled down if the sum would clip."""
    mix = np.zeros(round(seconds * SAMPLE_RATE), np.float32)
    playable = [clip for clip in sound if clip.path is not None]
    # Each file is decoded once, as far as its last clip reaches.
    reach: dict[Path, Fraction] = {}
    for clip in playable:
        reach[clip.path] = max(reach.get(clip.path, Fraction(0)), clip.file_end(rate))
    decoded: dict[Path, np.ndarray | None] = {}
    for clip in playable:
        if clip.path not in decoded:
            try:
                decoded[clip.path] = read_sound(clip.path, SAMPLE_RATE, reach[clip.path])
            except DecodingError as error:
                decoded[clip.path] = None
                warn(f"clip {clip.name!r}: {error}; it is left out of the preview's sound")
        samples = decoded[clip.path]
        if samples is None:
            continue
        start = round(clip.start / rate * SAMPLE_RATE)
        end = min(round(clip.end / rate * SAMPLE_RATE), len(mix))
        first = round(clip.file_start * SAMPLE_RATE)
        part = samples[first : first + end - start]
        mix[start : start + len(part)] += part
    peak = float(np.max(np.abs(mix))) if len(mix) else 0.0
    return mix * (PEAK / peak) if peak > 1 else mix


def _audio_frame(mix: np.ndarray, start: int) -> av.AudioFrame:
    chunk = np.zeros(AAC_FRAME, np.float32)
    part = mix[start : start + AAC_FRAME]
    chunk[: len(part)] = part
    frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
    return frame


class _Painter:
    """The preview's frames, one per timeline frame: the picture clip there, or black."""

    def __init__(self, picture: list[PlayedClip], rate: Fraction, size: tuple[int, int], warn: Callable[[str], None]):
        self.picture = sorted(picture, key=lambda c: c.start)
        self.rate, self.size, self.warn = rate, size, warn
        self.readers: dict[Path, FrameReader] = {}
        self.broken: set[Path] = set()

    def frame(self, index: int) -> av.VideoFrame:
        clip = next((c for c in self.picture if c.start <= index < c.end and c.path is not None), None)
        shown = None
        if clip is not None and clip.path not in self.broken:
            try:
                reader = self.readers.get(clip.path)
                if reader is None:
                    reader = self.readers[clip.path] = FrameReader(clip.path)
                shown = reader.frame_at(float(clip.file_start + (index - clip.start) / self.rate))
            except DecodingError as error:
                self.broken.add(clip.path)
                self.warn(f"clip {clip.name!r}: {error}; it is black in the preview from here on")
        width, height = self.size
        if shown is None:
            shown = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
        frame = shown.reformat(width=width, height=height, format="yuv420p")
        frame.pts, frame.time_base = index, 1 / self.rate
        return frame

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
