"""CAVP's audio tower: a PANNs Cnn14 over the window's mel, one feature per video frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..config import AUDIO

# (time, frequency) average pooling after each conv block. PANNs halves both axes
# in blocks 1-5; here block 5 keeps time, so the 16x time reduction turns a
# 512-frame window into 32 steps: one per 4 fps video frame, aligned with the
# video tower's features.
ALIGNED_POOLING = ((2, 2), (2, 2), (2, 2), (2, 2), (1, 2), (1, 1))


class ConvBlock(nn.Module):
    """Two 3×3 conv + BatchNorm + ReLU layers, then average pooling (PANNs' ConvBlock layout)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool_size: tuple[int, int]) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool_size)


class Cnn14(nn.Module):
    """The Cnn14 backbone over a mel input (B, 1, T, n_mels) → frame features (B, T', channels[-1]).

    A BatchNorm over the mel bins, six conv blocks, the mean over frequency,
    PANNs' 3-step max + mean smoothing in time, and (if `use_fc1`) its
    2048-wide fully connected layer. PANNs' dropout layers hold no weights and
    do nothing at inference, so they are left out.
    """

    def __init__(self, n_mels: int, channels: tuple[int, ...], pool_sizes: tuple[tuple[int, int], ...], use_fc1: bool):
        super().__init__()
        if len(channels) != len(pool_sizes):
            raise ValueError(f"{len(channels)} conv blocks need as many pool sizes, got {len(pool_sizes)}")
        self.bn0 = nn.BatchNorm2d(n_mels)
        previous = 1
        for index, width in enumerate(channels):
            self.add_module(f"conv_block{index + 1}", ConvBlock(previous, width))
            previous = width
        self.pool_sizes = tuple(tuple(size) for size in pool_sizes)
        self.fc1 = nn.Linear(previous, previous) if use_fc1 else None
        self.out_channels = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BatchNorm2d normalises dim 1, so the mel bins move there and back.
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        for index, pool_size in enumerate(self.pool_sizes):
            x = getattr(self, f"conv_block{index + 1}")(x, pool_size)
        x = x.mean(dim=3)
        x = F.max_pool1d(x, 3, stride=1, padding=1) + F.avg_pool1d(x, 3, stride=1, padding=1)
        x = x.transpose(1, 2)
        return x if self.fc1 is None else F.relu(self.fc1(x))


class Cnn14AudioEncoder(ModelMixin, ConfigMixin):
    """CAVP's audio tower: normalised mel (B, n_mels, T) in [0, 1] → L2-normalised (B, T', feature_dim).

    T' = T / (product of the time pooling), 32 for one 512-frame window with
    the default pooling, in step with the video tower's 4 fps features; that is
    what lets pure-audio material stand in for video during adapter training.

    Config: `n_mels` the input bins (128); `channels` the conv blocks' widths
    (Cnn14: 64 … 2048); `pool_sizes` the (time, frequency) pooling per block;
    `use_fc1` whether Cnn14's fully connected layer precedes the head;
    `feature_dim` the CAVP space (512).
    """

    @register_to_config
    def __init__(
        self,
        n_mels: int = AUDIO.n_mels,
        channels: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048),
        pool_sizes: tuple[tuple[int, int], ...] = ALIGNED_POOLING,
        use_fc1: bool = True,
        feature_dim: int = 512,
    ) -> None:
        super().__init__()
        self.backbone = Cnn14(n_mels, tuple(channels), tuple(pool_sizes), use_fc1)
        self.projection = nn.Linear(self.backbone.out_channels, feature_dim)

    @property
    def time_reduction(self) -> int:
        """Mel frames per output feature (16 with the default pooling)."""
        reduction = 1
        for time, _ in self.backbone.pool_sizes:
            reduction *= time
        return reduction

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Encode (B, n_mels, T) mel in [0, 1] into (B, T / time_reduction, feature_dim) unit vectors."""
        if mel.ndim != 3 or mel.shape[1] != self.config.n_mels:
            raise ValueError(f"expected a (batch, {self.config.n_mels}, frames) mel, got {tuple(mel.shape)}")
        if mel.shape[-1] % self.time_reduction:
            raise ValueError(f"{mel.shape[-1]} mel frames are not a multiple of {self.time_reduction}")
        x = self.backbone(mel.to(self.dtype).transpose(1, 2).unsqueeze(1))
        return F.normalize(self.projection(x), dim=-1)
