"""Encoding a scene to a small H.264 MP4 and keeping the frames a 4 fps sampler would see."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .drawing import downscale
from .scenes import Scene, render_frame


def shown_frame(time: Fraction, fps: Fraction, n_frames: int) -> int:
    """The frame on screen at `time`: the last one starting at or before it, clamped to the clip."""
    return min(max(math.floor(time * fps), 0), n_frames - 1)


def encode_scene(
    scene: Scene, path: Path, sample_fps: int, sample_count: int, sample_size: int, crf: int = 18
) -> np.ndarray:
    """Write the scene to `path` (H.264, yuv420p, frame k at exactly k / fps) and return the
    (sample_count, sample_size, sample_size, 3) uint8 frames shown at times k / sample_fps.

    Those are the frames decoding the file at `sample_fps` returns (up to
    codec error): the same pictures, area-scaled the same way.
    """
    wanted: dict[int, list[int]] = {}
    for k in range(sample_count):
        wanted.setdefault(shown_frame(Fraction(k, sample_fps), scene.fps, scene.n_frames), []).append(k)
    samples = np.zeros((sample_count, sample_size, sample_size, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=scene.fps)
        stream.width = stream.height = scene.size
        stream.pix_fmt = "yuv420p"
        # One encoder thread: x264's output then depends on nothing but the input.
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"crf": str(crf), "preset": "veryfast"}
        for index in range(scene.n_frames):
            picture = render_frame(scene, index)
            for k in wanted.get(index, ()):
                samples[k] = downscale(picture, sample_size)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return samples
