"""The built dataset's clips as training tensors: mels, frames and onset times.

Mels are computed from each clip's WAV with the engine's own front end
(`foley_engine.mel`), so training and inference see the same spectrogram.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio_io import read_wav
from ..config import AUDIO
from ..data import ClipRecord, load_split
from ..mel import log_mel
from ..metrics import precise_onsets
from ..onsets import onset_mask

# Audio-only clips have no frame rate; their onset tolerances use film's 24 fps
# (the slowest common rate, so the most lenient frame).
DEFAULT_FPS = Fraction(24)
MEL_BATCH = 32


def pick(records: Sequence[ClipRecord], count: int) -> list[ClipRecord]:
    """`count` records (0: all), taken in turn from each kind so both kinds stay represented."""
    if count <= 0 or count >= len(records):
        return list(records)
    by_kind: dict[str, list[ClipRecord]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    picked: list[ClipRecord] = []
    queues = [iter(group) for group in by_kind.values()]
    while len(picked) < count:
        for queue in queues:
            record = next(queue, None)
            if record is not None and len(picked) < count:
                picked.append(record)
    return picked


def load_records(
    data: Path, split: str, count: int = 0, kinds: Sequence[str] = ("paired", "audio")
) -> list[ClipRecord]:
    """Up to `count` (0: all) clips of the given kinds from one split of the dataset in `data`."""
    return pick([r for r in load_split(data, split) if r.kind in kinds], count)


def read_samples(record: ClipRecord) -> np.ndarray:
    """A clip's audio as float32 samples; exactly one window at the front end's rate."""
    samples, rate = read_wav(record.audio)
    if rate != AUDIO.sample_rate or len(samples) != AUDIO.window_samples:
        raise ValueError(
            f"{record.audio}: expected {AUDIO.window_samples} samples at {AUDIO.sample_rate} Hz, "
            f"got {len(samples)} at {rate} Hz"
        )
    return samples


def load_mels(records: Sequence[ClipRecord]) -> torch.Tensor:
    """Normalised log mels (N, n_mels, window_frames) of the clips' audio."""
    mels = []
    for start in range(0, len(records), MEL_BATCH):
        waves = np.stack([read_samples(r) for r in records[start : start + MEL_BATCH]])
        mels.append(log_mel(torch.from_numpy(waves)))
    return torch.cat(mels) if mels else torch.zeros(0, AUDIO.n_mels, AUDIO.window_frames)


def load_frames(records: Sequence[ClipRecord]) -> torch.Tensor:
    """The 4 fps frames (N, T, H, W, 3) uint8 of paired clips."""
    missing = [r.id for r in records if r.frames is None]
    if missing:
        raise ValueError(f"clips without frames (audio-only?): {missing[:5]}")
    return torch.from_numpy(np.stack([np.load(r.frames) for r in records]))


def frames_to_pixels(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 frames (B, T, H, W, 3) → video-tower input (B, T, 3, size, size) in [0, 1]."""
    batch, length = frames.shape[:2]
    pixels = frames.permute(0, 1, 4, 2, 3).float() / 255.0
    if pixels.shape[-1] != size or pixels.shape[-2] != size:
        flat = F.interpolate(pixels.flatten(0, 1), size=(size, size), mode="area")
        pixels = flat.reshape(batch, length, 3, size, size)
    return pixels


def label_onsets(record: ClipRecord) -> list[Fraction]:
    """The clip's placed onsets (exact seconds from the dataset metadata)."""
    return [onset.seconds for onset in record.onsets]


def tolerance(record: ClipRecord, frames: int = 2) -> float:
    """`frames` video frames of the clip (of 24 fps for audio-only clips), in seconds."""
    return float(frames / (record.fps or DEFAULT_FPS))


# What a detected training mask marks, part of the latent cache's key: each onset on its
# attack's first sample, the instant a cue means at inference. (librosa's own onsets read
# ~15 ms late, and an adapter trained on them renders every hit that much early.)
DETECTED_MASKS = "precise_onsets"


def onset_masks(records: Sequence[ClipRecord], detected: bool) -> torch.Tensor:
    """(N, window_frames) onset masks: from `precise_onsets` on the audio, or from the metadata."""
    masks = []
    for record in records:
        times = precise_onsets(read_samples(record), AUDIO.sample_rate) if detected else label_onsets(record)
        masks.append(onset_mask(times, AUDIO.window_frames))
    return torch.from_numpy(np.stack(masks)) if masks else torch.zeros(0, AUDIO.window_frames)
