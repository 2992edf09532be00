"""A small audio tower that turns a window's mel spectrogram into per-step CAVP features.

It is the audio half of the project's own CAVP: trained contrastively with
`VideoEncoder`, it maps audio into the same 512-d space, one vector per 4 fps
video step, so pure-audio clips can condition the diffusion model in place of
video features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .config import AUDIO


class AudioEncoder(ModelMixin, ConfigMixin):
    """Normalised mel (B, n_mels, window_frames) in [0, 1] → L2-normalised features (B, steps, feature_dim).

    A strided conv stack (conv, BatchNorm, SiLU, as `VideoEncoder(batch_norm=True)`:
    contrastive training from scratch needs the clips' features to start apart)
    halves frequency and time per layer; the remaining frequency rows are
    flattened into each time column (they carry the spectral envelope, which
    tells a glass from a door), the columns are averaged down to one per video
    step, projected, and mixed with their neighbours by a residual temporal
    convolution, as in `VideoEncoder`.

    Config: `n_mels` and `window_frames` the input size; `conv_channels` the conv
    stack; `feature_dim` the output size (CAVP's 512); `steps` the output steps
    per window (32: one per 4 fps frame, 16 mel frames each); `temporal_kernel`
    the steps the temporal convolution spans.
    """

    @register_to_config
    def __init__(
        self,
        n_mels: int = AUDIO.n_mels,
        window_frames: int = AUDIO.window_frames,
        conv_channels: tuple[int, ...] = (16, 32, 64, 128),
        feature_dim: int = 512,
        steps: int = AUDIO.video_frames_per_window,
        temporal_kernel: int = 3,
    ) -> None:
        super().__init__()
        rows = n_mels >> len(conv_channels)
        if rows < 1 or rows << len(conv_channels) != n_mels:
            raise ValueError(f"{len(conv_channels)} stride-2 layers cannot halve {n_mels} mel bins evenly")
        if (window_frames >> len(conv_channels)) % steps:
            raise ValueError(
                f"{window_frames} frames halved {len(conv_channels)} times do not split into {steps} steps"
            )
        layers: list[nn.Module] = []
        previous = 1
        for channels in conv_channels:
            layers += [
                nn.Conv2d(previous, channels, kernel_size=3, stride=2, padding=1),
                nn.BatchNorm2d(channels),
                nn.SiLU(),
            ]
            previous = channels
        self.mel_net = nn.Sequential(*layers)
        self.step_proj = nn.Linear(previous * rows, feature_dim)
        self.temporal = nn.Conv1d(feature_dim, feature_dim, temporal_kernel, padding=temporal_kernel // 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Encode (B, n_mels, window_frames) normalised mels into (B, steps, feature_dim) unit vectors."""
        expected = (self.config.n_mels, self.config.window_frames)
        if mel.ndim != 3 or tuple(mel.shape[1:]) != expected:
            raise ValueError(f"expected a (batch, {expected[0]}, {expected[1]}) mel, got {tuple(mel.shape)}")
        # Centre the [0, 1] range so the first convolution sees zero-mean input.
        x = self.mel_net(mel.unsqueeze(1).to(self.dtype) * 2.0 - 1.0)
        batch, channels, rows, columns = x.shape
        x = x.reshape(batch, channels * rows, columns)
        x = F.adaptive_avg_pool1d(x, self.config.steps).transpose(1, 2)
        x = self.step_proj(x)
        x = x + self.temporal(x.transpose(1, 2)).transpose(1, 2)
        return F.normalize(x, dim=-1)
