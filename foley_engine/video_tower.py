"""The contract every video tower of the pipeline keeps.

The small default `VideoEncoder` and CAVP's SlowOnly-50 (`foley_engine.cavp`)
both subclass `VideoTower`, so a pipeline, its saved `model_index.json` and
the engine accept either one.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin


class VideoTower(ModelMixin, ConfigMixin):
    """Frames (B, T, 3, H, W) in [0, 1] → per-frame features (B, T, feature_dim).

    A subclass's config holds at least `image_size` (the square frame size the
    engine samples frames at) and `feature_dim` (what the feature projector reads).
    """

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode (B, T, 3, H, W) frames in [0, 1] into (B, T, feature_dim) features."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward")
