"""Ready-made model configurations."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, ControlNetModel, DPMSolverMultistepScheduler, UNet2DConditionModel

from .event_detector import VideoEventDetector
from .pipeline import RhythmicFoleyPipeline
from .projector import FeatureProjector
from .semantic_projector import SemanticProjector
from .video_encoder import VideoEncoder
from .vocoder import GriffinLimVocoder

LATENT_SCALE = 0.18215


def diffusion_scheduler() -> DPMSolverMultistepScheduler:
    """DPM-Solver++ (2M) over Stable Diffusion's (and Diff-Foley's) training noise schedule."""
    return DPMSolverMultistepScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        algorithm_type="dpmsolver++",
        solver_order=2,
        prediction_type="epsilon",
    )


def build_untrained_pipeline(seed: int = 0) -> RhythmicFoleyPipeline:
    """A small, randomly initialised pipeline that runs on a laptop CPU.

    Same seed, same weights. The mel is folded time-preservingly into a 4-channel
    image (4, 32, 512); the VAE halves it twice to a (4, 8, 128) latent, so one
    latent column is 64 ms (4 mel frames) rather than the 128 ms of Diff-Foley's
    8× VAE. The adapters start as exact copies of the UNet's encoder with zeroed
    output convolutions (ControlNet's initialisation), so until they are trained
    they change nothing.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = AutoencoderKL(
            in_channels=4,
            out_channels=4,
            down_block_types=("DownEncoderBlock2D",) * 3,
            up_block_types=("UpDecoderBlock2D",) * 3,
            block_out_channels=(32, 32, 64),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=16,
            sample_size=32,
            scaling_factor=LATENT_SCALE,
        )
        unet = UNet2DConditionModel(
            sample_size=(8, 128),
            in_channels=4,
            out_channels=4,
            # Cross-attention to the 4 fps video features only at the coarser level
            # (128 ms columns): it carries semantics, while timing reaches the
            # full-resolution level through the adapters' residuals.
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            block_out_channels=(64, 128),
            layers_per_block=1,
            cross_attention_dim=128,
            attention_head_dim=4,
            norm_num_groups=16,
        )
        adapters = [
            ControlNetModel.from_unet(unet, conditioning_channels=1, conditioning_embedding_out_channels=(16, 32, 48))
            for _ in range(2)
        ]
        video_encoder = VideoEncoder(image_size=64, conv_channels=(16, 32, 64, 128))
        feature_projector = FeatureProjector(feature_dim=512, context_dim=128)
        semantic_projector = SemanticProjector(context_dim=128)
        # The architecture `foley train detector --config small` trains (64×64 frames, 1.5 MB).
        event_detector = VideoEventDetector()
    return RhythmicFoleyPipeline(
        vae=vae,
        unet=unet,
        temporal_adapter=adapters[0],
        semantic_adapter=adapters[1],
        scheduler=diffusion_scheduler(),
        vocoder=GriffinLimVocoder(n_iter=32),
        video_encoder=video_encoder,
        feature_projector=feature_projector,
        semantic_projector=semantic_projector,
        event_detector=event_detector,
        mel_layout="fold",
        latent_scale=LATENT_SCALE,
        model_name=f"untrained-tiny-{seed}",
    )
