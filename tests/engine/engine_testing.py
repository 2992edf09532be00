"""Test helpers: tiny videos whose frames show their own index."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

BITS = 8


def index_picture(index: int, height: int = 64, width: int = 64) -> np.ndarray:
    """An RGB picture showing `index` as 8 black/white vertical bars (bit 0 leftmost).

    Bars survive lossy codecs, chroma subsampling and resizing, unlike a colour code.
    """
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    bar = width // BITS
    for bit in range(BITS):
        if (index >> bit) & 1:
            picture[:, bit * bar : (bit + 1) * bar] = 255
    return picture


def picture_index(picture: np.ndarray) -> int:
    """The index `index_picture` drew, read back from the middle of each bar."""
    bar = picture.shape[1] // BITS
    margin = max(bar // 4, 0)
    return sum(
        1 << bit
        for bit in range(BITS)
        if picture[:, bit * bar + margin : (bit + 1) * bar - margin].mean() > 128
    )


def write_video(
    path: Path, n_frames: int, rate: Fraction | int, codec: str = "libx264", size: tuple[int, int] = (64, 64)
) -> Path:
    """Encode `n_frames` index pictures at `rate` fps with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(index_picture(index, *size), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
