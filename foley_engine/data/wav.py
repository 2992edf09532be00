"""Writing 32-bit float WAV files byte-for-byte reproducibly.

libsndfile adds a PEAK chunk to float WAV files that carries the time of
writing, so two identical builds would differ in their headers; this writer
emits only the fmt, fact and data chunks.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_IEEE_FLOAT = 3


def write_float_wav(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write mono `samples` as a little-endian 32-bit float WAV file at `path` (replacing it)."""
    data = np.asarray(samples, dtype="<f4")
    if data.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {data.shape}")
    payload = data.tobytes()
    fmt = struct.pack("<HHIIHHH", _IEEE_FLOAT, 1, sample_rate, 4 * sample_rate, 4, 32, 0)
    chunks = b"".join(
        (b"fmt ", struct.pack("<I", len(fmt)), fmt)
        + (b"fact", struct.pack("<II", 4, len(data)))
        + (b"data", struct.pack("<I", len(payload)), payload)
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path
