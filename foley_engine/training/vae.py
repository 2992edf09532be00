"""Stage `vae`: the mel autoencoder (an `AutoencoderKL` on the "fold" layout).

The loss is L1 between the folded mel image and its reconstruction from a
posterior sample, plus a small KL term that keeps the latent a well-scaled
Gaussian for the diffusion model; no perceptual or adversarial terms. The
export measures the latents' spread on training clips and stores its inverse
as the VAE's `scaling_factor`, which the pipeline uses as `latent_scale`, so
the diffusion stages see unit-variance latents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import AUDIO
from ..onsets import detect_onsets
from ..vocoder import GriffinLimVocoder
from .clips import label_onsets, load_mels, load_records, read_samples, tolerance
from .components import build_vae, mel_codec
from .config import TrainingConfig
from .figures import OnsetTally
from .loop import Stage, TrainingError

SCALE_CLIPS = 256  # training clips the latent spread is measured on
WINDOW_S = float(AUDIO.window_seconds)


class VaeStage(Stage):
    """Trains `vae`; exports it with its measured `scaling_factor`."""

    name = "vae"

    def __init__(self, config: TrainingConfig, data: Path, device: torch.device) -> None:
        super().__init__(config.vae)
        self.config = config.vae
        self.device = device
        self.vae = build_vae(config.model).to(device)
        self.codec = mel_codec(self.vae)
        self.factor = self.codec.vae_scale_factor
        if self.config.crop_frames % self.factor or not 0 < self.config.crop_frames <= AUDIO.window_frames:
            raise TrainingError(f"[vae] crop_frames must be a multiple of {self.factor} up to {AUDIO.window_frames}")
        self.train_records = load_records(data, "train", self.config.train_clips)
        self.val_records = load_records(data, "val", self.config.val_clips)
        self.train_mels = load_mels(self.train_records)
        self.val_mels = load_mels(self.val_records)
        self.vocoder = GriffinLimVocoder().to(device)
        self._reference: dict[str, float] | None = None

    @property
    def train_size(self) -> int:
        return len(self.train_mels)

    def trainable(self) -> dict[str, nn.Module]:
        return {"vae": self.vae}

    def describe(self) -> dict[str, Any]:
        return {
            "train_clips": len(self.train_mels),
            "val_clips": len(self.val_mels),
            "params": sum(p.numel() for p in self.vae.parameters()),
            "latent_shape": list(self.codec.latent_shape),
        }

    def loss(self, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        mels = self.train_mels[indices]
        crop = self.config.crop_frames
        # Crops start on latent-column boundaries, so each sees the grid inference sees.
        starts = torch.randint(0, (AUDIO.window_frames - crop) // self.factor + 1, (len(mels),)) * self.factor
        mels = torch.stack([mel[:, start : start + crop] for mel, start in zip(mels, starts.tolist())])
        image = self.codec.mel_to_image(mels.to(self.device))
        posterior = self.vae.encode(image).latent_dist
        latents = posterior.sample()
        reconstruction = self.vae.decode(latents).sample
        l1 = (reconstruction - image).abs().mean()
        kl = posterior.kl().mean() / latents[0].numel()
        return l1 + self.config.kl_weight * kl, {"l1": l1.item(), "kl": kl.item()}

    def _encode(self, mels: torch.Tensor) -> torch.Tensor:
        """Posterior means of (B, n_mels, T) mels."""
        return self.vae.encode(self.codec.mel_to_image(mels.to(self.device))).latent_dist.mean

    def _reference_figures(self) -> dict[str, float]:
        """Onset figures that do not depend on the VAE: Griffin-Lim of the original mel, and
        the detector against the labelled onsets. Computed on the first validation only."""
        if self._reference is None:
            original, labels = OnsetTally(), OnsetTally()
            for start in range(0, len(self.val_mels), self.config.batch_size):
                waves = self.vocoder(self.val_mels[start : start + self.config.batch_size].to(self.device))
                for record, wave in zip(self.val_records[start:], waves.cpu().numpy()):
                    reference = detect_onsets(read_samples(record), AUDIO.sample_rate)
                    original.add(reference, detect_onsets(wave, AUDIO.sample_rate), tolerance(record), WINDOW_S)
                    labels.add(label_onsets(record), reference, tolerance(record), WINDOW_S)
            self._reference = {**original.figures("onsets_gl_original"), **labels.figures("onsets_detector_vs_labels")}
        return self._reference

    def validate(self) -> dict[str, float]:
        """Mel MAE of whole val windows, and whether Griffin-Lim of the decoded mel keeps the onsets.

        Onsets (librosa, `detect_onsets`) of the clip's audio are the reference;
        recall/precision count matches within ±2 video frames. The same figures
        for Griffin-Lim of the original mel show what the vocoder alone loses.
        """
        errors, spreads = [], []
        decoded = OnsetTally()
        for start in range(0, len(self.val_mels), self.config.batch_size):
            mels = self.val_mels[start : start + self.config.batch_size].to(self.device)
            means = self._encode(mels)
            rebuilt = self.codec.image_to_mel(self.vae.decode(means).sample)
            errors.append((rebuilt - mels).abs().mean(dim=(1, 2)))
            spreads.append(means.flatten())
            for record, wave in zip(self.val_records[start:], self.vocoder(rebuilt).cpu().numpy()):
                reference = detect_onsets(read_samples(record), AUDIO.sample_rate)
                decoded.add(reference, detect_onsets(wave, AUDIO.sample_rate), tolerance(record), WINDOW_S)
        return {
            "mel_mae": torch.cat(errors).mean().item(),
            "latent_std": torch.cat(spreads).std().item(),
            **decoded.figures("onsets_decoded"),
            **self._reference_figures(),
        }

    def latent_scale(self) -> float:
        """1 / standard deviation of the posterior means of (up to) `SCALE_CLIPS` training clips."""
        chosen = np.linspace(0, len(self.train_mels) - 1, min(SCALE_CLIPS, len(self.train_mels))).astype(int)
        means = [
            self._encode(self.train_mels[chosen[i : i + self.config.batch_size]])
            for i in range(0, len(chosen), self.config.batch_size)
        ]
        return 1.0 / torch.cat(means).std().item()

    def export(self, out: Path) -> None:
        with torch.no_grad():
            scale = self.latent_scale()
        self.vae.register_to_config(scaling_factor=scale)
        self.vae.save_pretrained(out / "vae")
