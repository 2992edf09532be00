"""The audio and latent configuration, defined once (Diff-Foley compatible).

Every module that needs a sample rate, an STFT size or a window length
imports it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class AudioConfig:
    """Mel-spectrogram front end shared by training, inference and metrics."""

    sample_rate: int = 16_000
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 128
    fmin: float = 125.0
    fmax: float = 7600.0
    # Log normalisation: clip((20*log10(max(x, amin)) - ref_db + min_db_span) / min_db_span, 0, 1)
    amin: float = 1e-5
    ref_db: float = 20.0
    db_span: float = 100.0
    window_samples: int = 131_072
    video_fps: int = 4

    @property
    def window_frames(self) -> int:
        """Mel frames in one generation window (512)."""
        return self.window_samples // self.hop_length

    @property
    def window_seconds(self) -> Fraction:
        """Exact length of one window (8.192 s)."""
        return Fraction(self.window_samples, self.sample_rate)

    @property
    def frame_rate(self) -> Fraction:
        """Mel frames per second (62.5)."""
        return Fraction(self.sample_rate, self.hop_length)

    @property
    def video_frames_per_window(self) -> int:
        """Video frames sampled per window at `video_fps` (32)."""
        return int(self.window_seconds * self.video_fps)


AUDIO = AudioConfig()
