"""Writing generated audio as 24-bit PCM WAV files, never over an existing file."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from .files import write_atomically

PCM24_MAX = 2**23 - 1


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono float samples in [-1, 1] as 24-bit PCM; FileExistsError if `path` exists.

    The file appears complete or not at all (`files.write_atomically`); a failed
    write raises OutputError.
    """
    write_atomically(path, _wav_bytes(samples, sample_rate), replace=False)


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A whole mono 24-bit PCM WAV file holding `samples` (floats in [-1, 1])."""
    ints = np.round(np.clip(samples, -1.0, 1.0) * PCM24_MAX).astype("<i4")
    frames = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(3)
        out.setframerate(sample_rate)
        out.writeframes(frames)
    return buffer.getvalue()


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a mono 16- or 24-bit PCM WAV back as float samples (for checks and tests)."""
    with wave.open(str(path), "rb") as src:
        width, rate, count = src.getsampwidth(), src.getframerate(), src.getnframes()
        data = np.frombuffer(src.readframes(count), dtype=np.uint8)
    if width == 2:
        return data.view("<i2").astype(np.float32) / 32767, rate
    if width != 3:
        raise ValueError(f"{path}: {8 * width}-bit WAV is not supported here")
    padded = np.zeros((count, 4), dtype=np.uint8)
    padded[:, 1:] = data.reshape(-1, 3)
    return (padded.view("<i4")[:, 0] >> 8).astype(np.float32) / PCM24_MAX, rate


def unused_path(folder: Path, stem: str, suffix: str = ".wav") -> Path:
    """`folder/stem.wav`, or `stem-2.wav`, `stem-3.wav`, … whichever does not exist yet."""
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate
