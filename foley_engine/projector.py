"""Projection of per-frame video features into the UNet's cross-attention context."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .config import AUDIO


class FeatureProjector(ModelMixin, ConfigMixin):
    """Features (B, T, feature_dim) → context (B, T, context_dim): a linear map plus a
    learned position embedding per frame slot (Diff-Foley's `c_f` path)."""

    @register_to_config
    def __init__(
        self,
        feature_dim: int = 512,
        context_dim: int = 768,
        n_positions: int = AUDIO.video_frames_per_window,
    ) -> None:
        super().__init__()
        self.proj = nn.Linear(feature_dim, context_dim)
        self.position_embedding = nn.Parameter(torch.randn(n_positions, context_dim) * 0.02)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Project (B, T, feature_dim) features, T ≤ n_positions, to (B, T, context_dim)."""
        if features.ndim != 3 or features.shape[-1] != self.config.feature_dim:
            raise ValueError(
                f"expected (batch, frames, {self.config.feature_dim}) features, got {tuple(features.shape)}"
            )
        length = features.shape[1]
        if length > self.config.n_positions:
            raise ValueError(f"{length} frames exceed the {self.config.n_positions} learned positions")
        return self.proj(features.to(self.dtype)) + self.position_embedding[:length]

    def null_condition(self, batch_size: int, length: int | None = None) -> torch.Tensor:
        """The classifier-free-guidance "no video" context: the projection of all-zero
        features (bias plus position embedding), as Diff-Foley trains its null condition."""
        length = self.config.n_positions if length is None else length
        zeros = torch.zeros(batch_size, length, self.config.feature_dim, device=self.device, dtype=self.dtype)
        return self.forward(zeros)
