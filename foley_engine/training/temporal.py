"""Stage `temporal`: the temporal synchronization adapter, trained with the base frozen.

The adapter is `ControlNetModel.from_unet(base)` as the preset makes it,
conditioned on an onset mask. As in the paper, the mask comes from an onset
detector run on the training audio (`detect_onsets`), not from the dataset's
labels: that is what lets unlabelled sound libraries train it. Setup logs how
well those detected onsets agree with the labels. Only the adapter's weights
are in the optimiser; the base UNet and projector take no gradient steps.

The base is either `foley train base`'s or a saved pipeline's, such as
converted Diff-Foley (`foley train temporal --pretrained DIR`); the adapter
then copies that pipeline's UNet and keeps its temporal adapter's mask
embedding channels, so it drops into the pipeline's place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..onsets import mask_onsets
from .clips import label_onsets, tolerance
from .config import TrainingConfig
from .diffusion import WINDOW_S, DiffusionStage, sample_figures
from .figures import OnsetTally, onset_lags
from .frozen_parts import ClipEncoders, FrozenBase


class TemporalStage(DiffusionStage):
    """Trains `temporal_adapter`; exports it under that name."""

    name = "temporal"

    def __init__(
        self,
        config: TrainingConfig,
        data: Path,
        out: Path,
        encoders: ClipEncoders,
        base: FrozenBase,
        device: torch.device,
    ) -> None:
        super().__init__(config.temporal, config, data, out, encoders, device, with_onsets=True)
        self.adapter = self.setup_adapter(base, config)
        self._base_figures: dict[str, float] | None = None

    def trainable(self) -> dict[str, nn.Module]:
        return {"temporal_adapter": self.adapter}

    def describe(self) -> dict[str, Any]:
        """Adds how the detected training onsets compare with the labelled ones (±2 video frames)."""
        tally, lags = OnsetTally(), []
        for record, mask in zip(self.train_set.records, self.train_set.onset_masks.numpy()):
            detected = mask_onsets(mask)
            tally.add(label_onsets(record), detected, tolerance(record), WINDOW_S)
            lags += onset_lags(label_onsets(record), detected, tolerance(record))
        return {
            **super().describe(),
            "detected_vs_labels_recall": tally.recall,
            "detected_vs_labels_precision": tally.precision,
            "detected_lag_ms_median": 1000 * float(np.median(lags)) if lags else 0.0,
            "detected_per_min": tally.detected_per_minute,
            "labelled_per_min": tally.references / (tally.seconds / 60) if tally.seconds else 0.0,
        }

    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor, masks: torch.Tensor | None
    ) -> torch.Tensor:
        image = self.codec.conditioning_image(self.adapter, masks, noisy)
        down, mid = self.adapter(
            noisy, timesteps, encoder_hidden_states=context, controlnet_cond=image, return_dict=False
        )
        return self.unet(
            noisy,
            timesteps,
            encoder_hidden_states=context,
            down_block_additional_residuals=down,
            mid_block_additional_residual=mid,
        ).sample

    def validate(self) -> dict[str, float]:
        """Val loss, and sampled val clips' onsets with the adapter (labelled onsets as its mask)
        next to the frozen base's own (sampled once: it never changes here)."""
        if self._base_figures is None:
            self._base_figures = sample_figures(self.sample_tally(self.pipeline(), False), "base")
        return {
            "loss": self.validation_loss(),
            **sample_figures(self.sample_tally(self.pipeline(self.adapter), True), "adapter"),
            **self._base_figures,
        }

    def export(self, out: Path) -> None:
        self.adapter.save_pretrained(out / "temporal_adapter")
