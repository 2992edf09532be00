"""`foley train assemble`: the trained stages' components → one `RhythmicFoleyPipeline` folder.

The semantic adapter has no training stage yet: it is saved as a fresh
`ControlNetModel.from_unet` copy of the trained base (zero output
convolutions, so it changes nothing) and marked untrained.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, ControlNetModel, DPMSolverMultistepScheduler, UNet2DConditionModel

from ..pipeline import RhythmicFoleyPipeline
from ..projector import FeatureProjector
from ..video_encoder import VideoEncoder
from ..vocoder import GriffinLimVocoder
from .components import load_trained
from .config import TrainingConfig


def folder_megabytes(folder: Path) -> float:
    """The size of every file under `folder`, in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def assemble(
    config: TrainingConfig, cavp: Path, vae: Path, base: Path, temporal: Path, out: Path
) -> RhythmicFoleyPipeline:
    """Load every trained component, build the pipeline and `save_pretrained` it (safetensors) into `out`."""
    unet = load_trained(UNet2DConditionModel, base, "unet")
    temporal_adapter = load_trained(ControlNetModel, temporal, "temporal_adapter")
    trained_vae = load_trained(AutoencoderKL, vae, "vae")
    with torch.random.fork_rng(devices=[]):
        # The semantic adapter's mask embedding is freshly initialised: seeded, so a rerun writes the same file.
        torch.manual_seed(config.seed)
        semantic_adapter = ControlNetModel.from_unet(
            unet,
            conditioning_channels=1,
            conditioning_embedding_out_channels=tuple(temporal_adapter.config.conditioning_embedding_out_channels),
        )
    pipeline = RhythmicFoleyPipeline(
        vae=trained_vae,
        unet=unet,
        temporal_adapter=temporal_adapter,
        semantic_adapter=semantic_adapter,
        scheduler=load_trained(DPMSolverMultistepScheduler, base, "scheduler"),
        vocoder=GriffinLimVocoder(),
        video_encoder=load_trained(VideoEncoder, cavp, "video_encoder"),
        feature_projector=load_trained(FeatureProjector, base, "feature_projector"),
        mel_layout="fold",
        latent_scale=trained_vae.config.scaling_factor,
        model_name=config.model_name,
        trained=True,
        temporal_adapter_trained=True,
        semantic_adapter_trained=False,
    )
    pipeline.save_pretrained(out, safe_serialization=True)
    return pipeline
