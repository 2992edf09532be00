"""Stage `base`: the latent diffusion UNet and the feature projector, with the VAE and CAVP frozen.

Paired clips condition on their video features, audio-only clips on their
audio-tower features (the towers share one space). The EMA weights are
validated and exported, with the DPM-Solver scheduler set to the trained
prediction type.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .components import build_projector, build_unet, inference_scheduler
from .config import TrainingConfig
from .diffusion import DiffusionStage, sample_figures
from .frozen_parts import ClipEncoders


class BaseStage(DiffusionStage):
    """Trains `unet` and `feature_projector`; exports both and `scheduler`."""

    name = "base"

    def __init__(
        self, config: TrainingConfig, data: Path, out: Path, encoders: ClipEncoders, device: torch.device
    ) -> None:
        super().__init__(config.base, config, data, out, encoders, device, with_onsets=False)
        self.setup_denoiser(
            build_unet(config.model).to(device),
            build_projector(config.model).to(device),
            inference_scheduler(config.diffusion.prediction_type),
        )

    def trainable(self) -> dict[str, nn.Module]:
        return {"unet": self.unet, "feature_projector": self.projector}

    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor, masks: torch.Tensor | None
    ) -> torch.Tensor:
        return self.unet(noisy, timesteps, encoder_hidden_states=context).sample

    def validate(self) -> dict[str, float]:
        """Val loss, and the onsets of a few sampled val clips (false onsets per minute first)."""
        return {"loss": self.validation_loss(), **sample_figures(self.sample_tally(self.pipeline(), False), "sample")}

    def export(self, out: Path) -> None:
        self.unet.save_pretrained(out / "unet")
        self.projector.save_pretrained(out / "feature_projector")
        self.scheduler.save_pretrained(out / "scheduler")
