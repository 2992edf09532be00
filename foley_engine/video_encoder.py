"""A small video tower that turns sampled frames into per-frame semantic features.

It stands in for CAVP's video tower (a ResNet3D-SlowOnly-50 in Diff-Foley):
same input and output contract, a fraction of the size, so the default model
runs on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# diffusers' from_pretrained finds a component's loader by looking its base class up
# in the module that defines the component, so ModelMixin must be a name here.
from diffusers import ModelMixin  # noqa: F401
from diffusers.configuration_utils import register_to_config
from torch import nn

from .config import AUDIO
from .video_tower import VideoTower


class VideoEncoder(VideoTower):
    """Frames (B, T, 3, H, W) in [0, 1] → L2-normalised features (B, T, feature_dim).

    Each frame goes through a strided conv stack and global average pooling; a
    residual temporal convolution then mixes neighbouring frames.

    Config: `image_size` is the square frame size callers should sample at;
    `conv_channels` the per-frame conv stack (each layer halves the size);
    `feature_dim` the output size (CAVP's 512); `temporal_kernel` the frames
    the temporal convolution spans; `frames` and `fps` the window it was trained on;
    `batch_norm` puts a BatchNorm after every convolution, which contrastive
    training from scratch needs (without it every frame's pooled features start
    out almost parallel, and the InfoNCE gradient cannot separate them).
    """

    @register_to_config
    def __init__(
        self,
        image_size: int = 112,
        conv_channels: tuple[int, ...] = (32, 64, 128, 256),
        feature_dim: int = 512,
        temporal_kernel: int = 3,
        frames: int = AUDIO.video_frames_per_window,
        fps: int = AUDIO.video_fps,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for channels in conv_channels:
            layers.append(nn.Conv2d(previous, channels, kernel_size=3, stride=2, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(channels))
            layers.append(nn.SiLU())
            previous = channels
        self.frame_net = nn.Sequential(*layers)
        self.frame_proj = nn.Linear(previous, feature_dim)
        self.temporal = nn.Conv1d(feature_dim, feature_dim, temporal_kernel, padding=temporal_kernel // 2)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode (B, T, 3, H, W) frames in [0, 1] into (B, T, feature_dim) unit vectors."""
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"expected (batch, frames, 3, height, width), got {tuple(frames.shape)}")
        batch, length = frames.shape[:2]
        # Centre the pixel range so the first convolution sees zero-mean input.
        x = frames.reshape(batch * length, *frames.shape[2:]).to(self.dtype) * 2.0 - 1.0
        x = self.frame_net(x).mean(dim=(-2, -1))
        x = self.frame_proj(x).reshape(batch, length, -1)
        x = x + self.temporal(x.transpose(1, 2)).transpose(1, 2)
        return F.normalize(x, dim=-1)
