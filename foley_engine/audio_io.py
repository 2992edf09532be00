"""Reading, writing and resampling mono audio files."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from .errors import MediaError


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 samples and its sample rate.

    Multi-channel files are averaged down to one channel.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(str(path), "no such audio file")
    try:
        samples, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise MediaError(str(path), f"cannot be read as audio ({error})") from None
    return np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), int(sample_rate)


def write_wav(path: Path | str, samples: np.ndarray, sample_rate: int, overwrite: bool = False) -> Path:
    """Write mono `samples` as a 32-bit float WAV file and return its path.

    An existing file is never replaced unless `overwrite` is true, so a
    generated take cannot silently destroy an earlier one.
    """
    path = Path(path)
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {samples.shape}")
    mode = "w" if overwrite else "x"
    try:
        with open(path, mode + "b") as handle:
            sf.write(handle, samples, sample_rate, subtype="FLOAT", format="WAV")
    except FileExistsError:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it") from None
    return path


def resample(samples: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample mono float samples from `sr_in` to `sr_out` Hz (SoX high quality).

    The result has exactly len(samples) * sr_out / sr_in samples, rounded half
    up, so a clip's duration survives the conversion.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if sr_in == sr_out:
        return samples.copy()
    n_out = math.floor(Fraction(len(samples) * sr_out, sr_in) + Fraction(1, 2))
    out = librosa.resample(samples, orig_sr=sr_in, target_sr=sr_out, res_type="soxr_hq")
    # librosa rounds the length up; trim (or, defensively, pad) to the exact count.
    out = out[:n_out]
    if len(out) < n_out:
        out = np.pad(out, (0, n_out - len(out)))
    return np.ascontiguousarray(out, dtype=np.float32)
