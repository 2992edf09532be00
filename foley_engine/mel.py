"""The log-mel front end (Diff-Foley compatible) in torch.

A waveform (B, N) becomes a normalised log-mel spectrogram (B, n_mels, N // hop)
in [0, 1]; `denormalize_mel` undoes the log scaling for the vocoder.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np
import torch

from .config import AUDIO, AudioConfig


@functools.lru_cache(maxsize=8)
def _mel_basis_np(config: AudioConfig) -> np.ndarray:
    # librosa's defaults (Slaney scale and area normalisation) are what Diff-Foley's
    # spectrograms were computed with.
    basis = librosa.filters.mel(
        sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax
    )
    basis.setflags(write=False)
    return basis


def mel_basis(
    config: AudioConfig = AUDIO, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The mel filter bank (n_mels, n_fft // 2 + 1), built once per configuration."""
    return torch.tensor(_mel_basis_np(config), device=device, dtype=dtype)


def stft_window(config: AudioConfig = AUDIO, device: torch.device | str | None = None) -> torch.Tensor:
    """The periodic Hann analysis window the front end and the vocoder share."""
    return torch.hann_window(config.win_length, periodic=True, device=device)


def magnitude_spectrogram(waveform: torch.Tensor, config: AudioConfig = AUDIO) -> torch.Tensor:
    """|STFT| of (B, N) samples as (B, n_fft // 2 + 1, N // hop).

    The STFT is centred (zero padding), which yields N // hop + 1 frames; the last
    one only sees the padding, so it is dropped and a window of 131072 samples
    gives exactly 512 frames.
    """
    if waveform.ndim != 2:
        raise ValueError(f"expected a (batch, samples) waveform, got shape {tuple(waveform.shape)}")
    spec = torch.stft(
        waveform,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=stft_window(config, waveform.device).to(waveform.dtype),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    return spec.abs()[..., : waveform.shape[-1] // config.hop_length]


def mel_magnitude(waveform: torch.Tensor, config: AudioConfig = AUDIO) -> torch.Tensor:
    """Linear-magnitude mel spectrogram (B, n_mels, N // hop) of (B, N) samples."""
    spec = magnitude_spectrogram(waveform, config)
    return mel_basis(config, spec.device, spec.dtype) @ spec


def normalize_mel(mel: torch.Tensor, config: AudioConfig = AUDIO) -> torch.Tensor:
    """Linear mel magnitude → clip((20·log10(max(x, amin)) − ref_db + span) / span, 0, 1)."""
    db = 20.0 * torch.log10(mel.clamp_min(config.amin))
    return ((db - config.ref_db + config.db_span) / config.db_span).clamp(0.0, 1.0)


def denormalize_mel(mel: torch.Tensor, config: AudioConfig = AUDIO) -> torch.Tensor:
    """Normalised log mel in [0, 1] → linear mel magnitude (the inverse of `normalize_mel`).

    Values clipped to 0 by the normalisation come back as the floor magnitude.
    """
    db = mel.clamp(0.0, 1.0) * config.db_span - config.db_span + config.ref_db
    return torch.pow(10.0, db / 20.0)


def log_mel(waveform: torch.Tensor, config: AudioConfig = AUDIO) -> torch.Tensor:
    """Normalised log-mel spectrogram (B, n_mels, N // hop) in [0, 1] of (B, N) samples."""
    return normalize_mel(mel_magnitude(waveform, config), config)
