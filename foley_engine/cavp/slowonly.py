"""CAVP's video tower: a ResNet3D SlowOnly-50 with a linear head onto the 512-d CAVP space."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# diffusers' from_pretrained finds a component's loader by looking its base class up
# in the module that defines the component, so ModelMixin must be a name here.
from diffusers import ModelMixin  # noqa: F401
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..config import AUDIO
from ..video_tower import VideoTower

EXPANSION = 4


class ConvBN3d(nn.Module):
    """Conv3d (no bias) + BatchNorm3d (+ ReLU): mmcv's ConvModule, named `conv` and `bn` as there."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int, int],
        stride: tuple[int, int, int] = (1, 1, 1),
        padding: tuple[int, int, int] = (0, 0, 0),
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm3d(out_channels)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class Bottleneck3d(nn.Module):
    """mmaction2's Bottleneck3d in the "pytorch" style: the spatial stride sits on the 3×3 conv.

    An inflated block's first conv spans three frames (the "3x1x1" style);
    the others see one frame. No block ever strides in time.
    """

    def __init__(self, in_channels: int, planes: int, spatial_stride: int, inflate: bool) -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        temporal = 3 if inflate else 1
        self.conv1 = ConvBN3d(in_channels, planes, (temporal, 1, 1), padding=(temporal // 2, 0, 0))
        self.conv2 = ConvBN3d(planes, planes, (1, 3, 3), stride=(1, spatial_stride, spatial_stride), padding=(0, 1, 1))
        self.conv3 = ConvBN3d(planes, out_channels, (1, 1, 1), relu=False)
        self.downsample = None
        if spatial_stride != 1 or in_channels != out_channels:
            self.downsample = ConvBN3d(
                in_channels, out_channels, (1, 1, 1), stride=(1, spatial_stride, spatial_stride), relu=False
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class ResNet3dSlowOnly(nn.Module):
    """The SlowOnly backbone: (B, 3, T, H, W) → (B, 32·base, T, H/32, W/32).

    A 1×7×7 stem and a 1×3×3 max pool, then four bottleneck stages; every stride
    is spatial, so each input frame keeps its own output step.
    """

    def __init__(self, base_channels: int, stage_blocks: tuple[int, ...], inflate: tuple[int, ...]) -> None:
        super().__init__()
        self.conv1 = ConvBN3d(3, base_channels, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3))
        self.maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        in_channels = base_channels
        for index, (blocks, inflated) in enumerate(zip(stage_blocks, inflate, strict=True)):
            planes = base_channels * 2**index
            stage = [
                Bottleneck3d(
                    in_channels if block == 0 else planes * EXPANSION,
                    planes,
                    spatial_stride=2 if index > 0 and block == 0 else 1,
                    inflate=bool(inflated),
                )
                for block in range(blocks)
            ]
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
            in_channels = planes * EXPANSION
        self.n_stages = len(stage_blocks)
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        for index in range(self.n_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return x


class SlowOnlyEncoder(VideoTower):
    """CAVP's video tower: frames (B, T, 3, H, W) in [0, 1] → L2-normalised (B, T, feature_dim).

    The backbone's output is averaged over space (never over time), projected
    by a linear head and normalised. Frames go in as they are: CAVP applies no
    mean/std normalisation.

    Config: `image_size` the square frame size (224); `base_channels`,
    `stage_blocks` and `inflate` the backbone (64, (3, 4, 6, 3), (0, 0, 1, 1)
    is SlowOnly-50); `feature_dim` the CAVP space (512); `frames` and `fps` the
    window it was trained on.
    """

    @register_to_config
    def __init__(
        self,
        image_size: int = 224,
        base_channels: int = 64,
        stage_blocks: tuple[int, ...] = (3, 4, 6, 3),
        inflate: tuple[int, ...] = (0, 0, 1, 1),
        feature_dim: int = 512,
        frames: int = AUDIO.video_frames_per_window,
        fps: int = AUDIO.video_fps,
    ) -> None:
        super().__init__()
        self.backbone = ResNet3dSlowOnly(base_channels, tuple(stage_blocks), tuple(inflate))
        self.projection = nn.Linear(self.backbone.out_channels, feature_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode (B, T, 3, H, W) frames in [0, 1] into (B, T, feature_dim) unit vectors."""
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"expected (batch, frames, 3, height, width), got {tuple(frames.shape)}")
        x = self.backbone(frames.to(self.dtype).transpose(1, 2))
        x = x.mean(dim=(-2, -1)).transpose(1, 2)
        return F.normalize(self.projection(x), dim=-1)
