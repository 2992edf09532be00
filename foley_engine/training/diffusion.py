"""What the diffusion stages (base, temporal and semantic) share.

- **The cache.** The VAE and the CAVP towers are frozen here, so every clip's
  latent and features are computed once and kept in `cache.pt` in the stage's
  folder; a training step is then only the denoiser's forward and backward.
  The latent is the VAE posterior's *mean* (times the VAE's scaling factor),
  not a sample: it is deterministic, it is what the pipeline's `encode_mel`
  gives for SDEdit, and with the VAE's small KL weight the posterior spread is
  small next to the diffusion noise anyway. Paired clips get their features
  from the video tower, audio-only clips from the aligned audio tower (a
  base without one trains on its paired clips only). The frozen parts come
  from stage folders or from a saved pipeline (`frozen_parts.py`), whose mel
  layout and latent scale the cache and the sampled figures follow.
- **The loss.** Epsilon (or v) prediction with min-SNR-γ weighting, noise and
  timesteps drawn per example, on exactly the inference scheduler's betas.
- **Classifier-free guidance.** A share of examples has its features replaced
  by zeros before the projector: the pipeline's null condition.
- **Validation.** The loss on the val clips with fixed noise, and onset figures
  of a few clips sampled with the real pipeline and Griffin-Lim.
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import ControlNetModel, DDPMScheduler, DPMSolverMultistepScheduler, UNet2DConditionModel
from diffusers.training_utils import compute_snr

from ..config import AUDIO
from ..data import ClipRecord
from ..onsets import detect_onsets
from ..pipeline import RhythmicFoleyPipeline
from ..projector import FeatureProjector
from ..video_tower import VideoTower
from ..vocoder import GriffinLimVocoder
from .clips import (
    DETECTED_MASKS,
    frames_to_pixels,
    label_onsets,
    load_frames,
    load_mels,
    load_records,
    onset_masks,
    tolerance,
)
from .components import build_adapter, training_scheduler
from .config import Schedule, TrainingConfig
from .figures import OnsetTally
from .frozen_parts import AudioTower, ClipEncoders, FrozenBase
from .loop import Stage, TrainingError

CACHE_FILE = "cache.pt"
ENCODE_BATCH = 16
VALIDATION_SEED = 1234
WINDOW_S = float(AUDIO.window_seconds)


@dataclass
class LatentSet:
    """The cached inputs of one split: what the denoiser trains or validates on."""

    records: list[ClipRecord]
    latents: torch.Tensor  # (N, C, h, w) scaled VAE posterior means
    features: torch.Tensor  # (N, 32, 512) CAVP features (video tower, or audio tower for audio-only clips)
    onset_masks: torch.Tensor | None  # (N, window_frames) from precise_onsets on the clip's audio

    def __len__(self) -> int:
        return len(self.records)


@torch.no_grad()
def encode_clips(
    records: Sequence[ClipRecord],
    codec: RhythmicFoleyPipeline,
    video_tower: VideoTower,
    audio_tower: AudioTower | None,
    with_onsets: bool,
) -> LatentSet:
    """Latents, CAVP features (and detected onset masks) of `records`; audio-only ones need `audio_tower`."""
    device = codec.vae.device
    latents, features = [], []
    for start in range(0, len(records), ENCODE_BATCH):
        batch = records[start : start + ENCODE_BATCH]
        mels = load_mels(batch).to(device)
        latents.append(codec.encode_mel(mels).float().cpu())
        rows = torch.empty(len(batch), AUDIO.video_frames_per_window, video_tower.config.feature_dim)
        paired = [i for i, record in enumerate(batch) if record.kind == "paired"]
        heard = [i for i, record in enumerate(batch) if record.kind != "paired"]
        if paired:
            pixels = frames_to_pixels(load_frames([batch[i] for i in paired]), video_tower.config.image_size)
            rows[paired] = video_tower(pixels.to(device)).float().cpu()
        if heard:
            if audio_tower is None:
                raise TrainingError(f"{batch[heard[0]].id} is an audio-only clip, and there is no audio tower")
            rows[heard] = audio_tower(mels[heard]).float().cpu()
        features.append(rows)
    masks = onset_masks(records, detected=True) if with_onsets else None
    return LatentSet(list(records), torch.cat(latents), torch.cat(features), masks)


def _file_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cached_sets(
    path: Path,
    data: Path,
    splits: dict[str, list[ClipRecord]],
    components: dict[str, Path],
    build: Callable[[list[ClipRecord]], LatentSet],
) -> dict[str, LatentSet]:
    """The latent sets of `splits`, read from `path` when it was made from the same clips and weights.

    The key is the dataset folder, the clip ids and a digest of every
    component folder the sets are computed with; anything else rebuilds.
    """
    key = {
        "data": str(Path(data).resolve()),
        "clips": {split: [r.id for r in records] for split, records in splits.items()},
        "components": {name: _file_digest(folder) for name, folder in components.items()},
        "masks": DETECTED_MASKS,
    }
    key_text = json.dumps(key, sort_keys=True)
    if path.is_file():
        cached = torch.load(path, map_location="cpu", weights_only=False)
        if cached["key"] == key_text:
            return {
                split: LatentSet(splits[split], **tensors) for split, tensors in cached["sets"].items()
            }
        print(f"{path}: made from other clips or weights; rebuilding")
    sets = {split: build(records) for split, records in splits.items()}
    tensors = {
        split: {"latents": s.latents, "features": s.features, "onset_masks": s.onset_masks} for split, s in sets.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"key": key_text, "sets": tensors}, path)
    return sets


class DenoisingLoss:
    """min-SNR-γ weighted denoising loss (Hang et al. 2023) for epsilon or v prediction.

    The weight of an example at timestep t is min(SNR(t), γ) / SNR(t) for epsilon
    prediction and min(SNR(t), γ) / (SNR(t) + 1) for v prediction: the same
    clamp of the implied x0 loss's weight at γ in both parameterisations.
    """

    def __init__(self, scheduler: DDPMScheduler, prediction_type: str, snr_gamma: float) -> None:
        self.scheduler = scheduler
        self.prediction_type = prediction_type
        self.snr_gamma = snr_gamma

    def __call__(
        self,
        predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        latents: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The batch's mean weighted loss; `predict(noisy, timesteps)` is the model's output."""
        batch = len(latents)
        # Drawn on the CPU so a seed gives the same noise on every device.
        noise = torch.randn(latents.shape, generator=generator).to(latents.device)
        timesteps = torch.randint(0, self.scheduler.config.num_train_timesteps, (batch,), generator=generator)
        timesteps = timesteps.to(latents.device)
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        if self.prediction_type == "epsilon":
            target = noise
        else:
            target = self.scheduler.get_velocity(latents, noise, timesteps)
        error = (predict(noisy, timesteps).float() - target).pow(2).mean(dim=(1, 2, 3))
        snr = compute_snr(self.scheduler, timesteps)
        clamped = snr.clamp(max=self.snr_gamma)
        weight = clamped / snr if self.prediction_type == "epsilon" else clamped / (snr + 1)
        return (weight * error).mean()


def drop_features(features: torch.Tensor, rate: float) -> torch.Tensor:
    """`features` with each example's rows zeroed with probability `rate` (the null condition)."""
    if rate <= 0:
        return features
    keep = (torch.rand(len(features)) >= rate).to(features.device, features.dtype)
    return features * keep[:, None, None]


class DiffusionStage(Stage):
    """A stage that trains on cached latents with the denoising loss; subclasses say what predicts."""

    def __init__(
        self,
        schedule: Schedule,
        config: TrainingConfig,
        data: Path,
        out: Path,
        encoders: ClipEncoders,
        device: torch.device,
        with_onsets: bool,
    ) -> None:
        super().__init__(schedule)
        self.recipe = config.diffusion
        self.device = device
        self.vae, self.codec = encoders.vae, encoders.codec
        kinds = ("paired", "audio") if encoders.audio_tower is not None else ("paired",)
        splits = {
            "train": load_records(data, "train", schedule.train_clips, kinds),
            "val": load_records(data, "val", schedule.val_clips, kinds),
        }
        if encoders.audio_tower is None:
            paired = len(splits["train"])
            print(f"{self.name}: the base has no audio tower; training on the {paired} paired clips only")
        sets = cached_sets(
            out / CACHE_FILE,
            data,
            splits,
            encoders.sources,
            lambda records: encode_clips(records, self.codec, encoders.video_tower, encoders.audio_tower, with_onsets),
        )
        self.train_set, self.val_set = sets["train"], sets["val"]
        self.vocoder = GriffinLimVocoder().to(device)

    def setup_denoiser(
        self, unet: UNet2DConditionModel, projector: FeatureProjector, scheduler: DPMSolverMultistepScheduler
    ) -> None:
        """Give the stage its denoiser, projector and the scheduler the pipeline will sample with."""
        expected = tuple(unet.config.sample_size)
        if tuple(self.codec.latent_shape[1:]) != expected or self.codec.latent_shape[0] != unet.config.in_channels:
            raise TrainingError(f"the VAE's latent {self.codec.latent_shape} does not fit the UNet's input {expected}")
        if scheduler.config.prediction_type != self.recipe.prediction_type:
            raise TrainingError(
                f"the base was trained for {scheduler.config.prediction_type!r} prediction, "
                f"the config says {self.recipe.prediction_type!r}"
            )
        self.unet, self.projector, self.scheduler = unet, projector, scheduler
        self.loss_fn = DenoisingLoss(training_scheduler(scheduler), self.recipe.prediction_type, self.recipe.snr_gamma)

    def setup_adapter(self, base: FrozenBase, config: TrainingConfig) -> ControlNetModel:
        """Give an adapter stage the frozen base to train around, and a fresh trainable adapter
        copied from its UNet (keeping a pretrained pipeline's mask embedding channels)."""
        self.setup_denoiser(base.unet, base.projector, base.scheduler)
        channels = base.adapter_channels or config.model.adapter_embedding_channels
        return build_adapter(base.unet, channels).to(self.device).requires_grad_(True)

    @property
    def train_size(self) -> int:
        return len(self.train_set)

    def describe(self) -> dict[str, Any]:
        kinds = [r.kind for r in self.train_set.records]
        return {
            "train_clips": len(kinds),
            "paired": kinds.count("paired"),
            "audio_only": kinds.count("audio"),
            "val_clips": len(self.val_set),
            "trainable_params": sum(p.numel() for p in self.parameters()),
            "latent_std": self.train_set.latents.std().item(),
        }

    @abstractmethod
    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor, masks: torch.Tensor | None
    ) -> torch.Tensor:
        """The model output for noisy latents under `context` (and onset masks, for an adapter)."""

    def _batch_loss(
        self, latent_set: LatentSet, indices: torch.Tensor, dropout: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        latents = latent_set.latents[indices].to(self.device)
        features = drop_features(latent_set.features[indices].to(self.device), dropout)
        context = self.projector(features)
        masks = None if latent_set.onset_masks is None else latent_set.onset_masks[indices].to(self.device)
        return self.loss_fn(lambda noisy, t: self.predict(noisy, t, context, masks), latents, generator)

    def loss(self, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return self._batch_loss(self.train_set, indices, self.recipe.condition_dropout), {}

    def validation_loss(self, **conditions: bool) -> float:
        """The loss on every val clip with the same noise and timesteps at every validation.

        `conditions` go to `_batch_loss` (a stage's switches for leaving a condition out)."""
        generator = torch.Generator().manual_seed(VALIDATION_SEED)
        total = 0.0
        for start in range(0, len(self.val_set), self.schedule.batch_size):
            indices = torch.arange(start, min(start + self.schedule.batch_size, len(self.val_set)))
            total += self._batch_loss(self.val_set, indices, 0.0, generator, **conditions).item() * len(indices)
        return total / len(self.val_set)

    def pipeline(self, temporal_adapter: ControlNetModel | None = None) -> RhythmicFoleyPipeline:
        """The inference pipeline around the current weights (no semantic adapter, no video tower)."""
        pipe = RhythmicFoleyPipeline(
            vae=self.vae,
            unet=self.unet,
            temporal_adapter=temporal_adapter,
            semantic_adapter=None,
            scheduler=DPMSolverMultistepScheduler.from_config(self.scheduler.config),
            vocoder=self.vocoder,
            video_encoder=None,
            feature_projector=self.projector,
            mel_layout=self.codec.config.mel_layout,
            latent_scale=self.codec.config.latent_scale,
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def sample_tally(self, pipe: RhythmicFoleyPipeline, with_masks: bool) -> OnsetTally:
        """Onsets of the first `sample_clips` val clips as sampled (few DPM-Solver steps, CFG), against their labels.

        With `with_masks` the temporal adapter gets the labelled onsets as its
        mask, as an editor's markers would give them.
        """
        count = min(self.recipe.sample_clips, len(self.val_set))
        records = self.val_set.records[:count]
        masks = onset_masks(records, detected=False).numpy() if with_masks else None
        generator = torch.Generator().manual_seed(VALIDATION_SEED)
        mels = pipe(
            self.val_set.features[:count].to(self.device),
            onset_mask=masks,
            num_inference_steps=self.recipe.sample_steps,
            guidance_scale=self.recipe.guidance_scale,
            generator=generator,
            output_type="mel",
        ).mels
        tally = OnsetTally()
        for record, wave in zip(records, self.vocoder(mels).cpu().numpy()):
            tally.add(label_onsets(record), detect_onsets(wave, AUDIO.sample_rate), tolerance(record), WINDOW_S)
        return tally


def sample_figures(tally: OnsetTally, prefix: str) -> dict[str, float]:
    """The sampled clips' false onsets per minute (the first figure to watch), onsets per minute and recall."""
    return {
        f"{prefix}_false_per_min": tally.false_per_minute,
        f"{prefix}_onsets_per_min": tally.detected_per_minute,
        f"{prefix}_recall": tally.recall,
    }
