"""The video event detector: per video frame, does a contact start here, is a sound going on, and what sound.

It reads the frames of a clip at the video's own rate (an onset is a frame,
so a 4 fps sampling would miss most of them). Each frame and its difference
to the previous frame go through a small 2-D CNN: the picture says what is on
screen, the difference says what just moved or appeared (the flash, dust or
squash that starts on the contact frame itself). Pooled per-frame features
then pass through non-causal dilated temporal convolutions, so a frame's
decision sees the approach before it and the aftermath after it.
`foley_engine.detection` turns the outputs into `OnsetCue`s and `EventSpan`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from .data.taxonomy import CLASSES


@dataclass
class EventDetectorOutput(BaseOutput):
    """Per-frame logits of `VideoEventDetector`.

    onset_logits: (B, T) a contact (sound onset) starts on this frame.
    activity_logits: (B, T) a sound event is going on during this frame.
    class_logits: (B, T, C) which class the sound on this frame is, over `class_names`.
    """

    onset_logits: torch.Tensor
    activity_logits: torch.Tensor
    class_logits: torch.Tensor


class _TemporalBlock(nn.Module):
    """A residual dilated 1-D convolution over frames, padded so the length stays."""

    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=dilation * (kernel // 2))
        self.norm = nn.BatchNorm1d(channels)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.norm(self.conv(x)))


class VideoEventDetector(ModelMixin, ConfigMixin):
    """Frames (B, T, 3, H, W) in [0, 1] at the video's own rate → per-frame onset, activity and class logits.

    Config: `image_size` is the square size frames are sampled at; `conv_channels`
    the per-frame CNN (each layer halves the picture); `hidden` the width of the
    temporal stack; `temporal_kernel` and `temporal_dilations` its blocks (their
    reach is `context_frames` each side); `class_names` the classes of
    `class_logits`; `onset_threshold` and `activity_threshold` the probabilities
    `foley_engine.detection` reports an onset or an active frame at, and
    `adjacent_threshold` the probability at which a frame right beside a
    higher one is an onset too (two contacts on consecutive frames).
    """

    @register_to_config
    def __init__(
        self,
        image_size: int = 64,
        conv_channels: tuple[int, ...] = (16, 32, 64, 128),
        hidden: int = 128,
        temporal_kernel: int = 5,
        temporal_dilations: tuple[int, ...] = (1, 2, 4),
        class_names: Sequence[str] = CLASSES,
        onset_threshold: float = 0.5,
        activity_threshold: float = 0.5,
        adjacent_threshold: float = 0.8,
    ) -> None:
        super().__init__()
        if temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd (centred on the frame), got {temporal_kernel}")
        if not class_names:
            raise ValueError("class_names must name at least one class")
        layers: list[nn.Module] = []
        previous = 6  # the frame and its difference to the previous frame
        for channels in conv_channels:
            layers += [
                nn.Conv2d(previous, channels, kernel_size=3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.SiLU(),
            ]
            previous = channels
        self.frame_net = nn.Sequential(*layers)
        # Mean and max pooling: the mean tells the scene, the max a small bright cue (a spark, a flash).
        self.frame_proj = nn.Linear(2 * previous, hidden)
        self.temporal = nn.Sequential(*(_TemporalBlock(hidden, temporal_kernel, d) for d in temporal_dilations))
        self.head = nn.Conv1d(hidden, 2 + len(class_names), kernel_size=1)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes of `class_logits`, in order."""
        return tuple(self.config.class_names)

    @property
    def context_frames(self) -> int:
        """How many frames on each side can change a frame's outputs (the difference input adds one before)."""
        return 1 + sum(d * (self.config.temporal_kernel // 2) for d in self.config.temporal_dilations)

    def forward(self, frames: torch.Tensor) -> EventDetectorOutput:
        """Per-frame logits of (B, T, 3, H, W) frames in [0, 1]; the first frame counts as unchanged."""
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"expected (batch, frames, 3, height, width), got {tuple(frames.shape)}")
        batch, length = frames.shape[:2]
        x = frames.to(self.dtype) * 2.0 - 1.0
        difference = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)
        x = torch.cat([x, difference], dim=2).flatten(0, 1)
        x = self.frame_net(x)
        pooled = torch.cat([x.mean(dim=(-2, -1)), x.amax(dim=(-2, -1))], dim=-1)
        x = self.frame_proj(pooled).reshape(batch, length, -1).transpose(1, 2)
        x = self.head(self.temporal(x))
        return EventDetectorOutput(
            onset_logits=x[:, 0],
            activity_logits=x[:, 1],
            class_logits=x[:, 2:].transpose(1, 2),
        )
