"""Sound-event text as cross-attention tokens for the semantic alignment adapter.

Each described event (and the prompt) arrives as a sentence embedding
(`foley_engine.text`, 384-d). One token per event: the embedding projected to
the UNet's context width plus an embedding of *where* the event sits in the
window (its centre, on the video features' 4 fps slots), so attention can tie
"door slam" to the slot where the door slams. The prompt and the clip name
carry no time: they get a learned "whole window" position. Empty slots (an
all-zero embedding) become one learned "no event" token, so a window with
fewer events than slots, or none, still has a defined context.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .config import AUDIO

TEXT_DIM = 384  # all-MiniLM-L6-v2's sentence embedding width
MAX_TOKENS = 16  # text tokens per window: events, then the whole-window summary in the last


class SemanticProjector(ModelMixin, ConfigMixin):
    """Event embeddings (B, E, text_dim) and centres (B, E) → tokens (B, E, context_dim).

    A centre is the event's middle as a fraction of the window in [0, 1];
    a negative centre marks a whole-window text (prompt, clip name).
    """

    @register_to_config
    def __init__(
        self,
        text_dim: int = TEXT_DIM,
        context_dim: int = 768,
        n_positions: int = AUDIO.video_frames_per_window,
        max_events: int = MAX_TOKENS,
    ) -> None:
        super().__init__()
        self.proj = nn.Linear(text_dim, context_dim)
        # n_positions slots in the window, then one for "the whole window".
        self.position_embedding = nn.Parameter(torch.randn(n_positions + 1, context_dim) * 0.02)
        self.empty_token = nn.Parameter(torch.randn(context_dim) * 0.02)

    def forward(self, embeddings: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        """Project events to tokens; rows whose embedding is all zeros become the "no event" token."""
        if embeddings.ndim != 3 or embeddings.shape[-1] != self.config.text_dim:
            raise ValueError(f"expected (batch, events, {self.config.text_dim}) embeddings, got {tuple(embeddings.shape)}")
        if tuple(centres.shape) != tuple(embeddings.shape[:2]):
            raise ValueError(f"centres must be {tuple(embeddings.shape[:2])}, got {tuple(centres.shape)}")
        if embeddings.shape[1] > self.config.max_events:
            raise ValueError(f"{embeddings.shape[1]} events exceed the {self.config.max_events} the projector takes")
        slots = self.config.n_positions
        centres = centres.to(self.device, torch.float32)
        index = (centres.clamp(0, 1) * slots).long().clamp(max=slots - 1)
        index = torch.where(centres < 0, torch.full_like(index, slots), index)
        embeddings = embeddings.to(self.device, self.dtype)
        tokens = self.proj(embeddings) + self.position_embedding[index]
        empty = (embeddings == 0).all(dim=-1, keepdim=True)
        return torch.where(empty, self.empty_token.expand_as(tokens), tokens)

    def empty(self, batch_size: int) -> torch.Tensor:
        """The tokens of a window with no text at all: (B, max_events, context_dim)."""
        return self.empty_token.expand(batch_size, self.config.max_events, -1)
