"""The Diff-Foley architecture: its original configuration and our modules at those shapes.

`DiffFoleyConfig` states the original model in the original configuration's
terms (Latent Diffusion's `UNetModel` and autoencoder `ddconfig`, the
video-feature cond stage, the two CAVP towers); the `build_*` functions turn
it into the diffusers modules and our own towers that hold the converted
weights. `DIFF_FOLEY` is the released model; `TINY_DIFF_FOLEY` has the same
structure at a fraction of the width, for checks on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

from .cavp import SlowOnlyEncoder
from .config import AUDIO
from .pipeline import RhythmicFoleyPipeline
from .presets import diffusion_scheduler
from .projector import FeatureProjector
from .vocoder import GriffinLimVocoder

# Latent Diffusion normalises with GroupNorm(32) everywhere.
NORM_GROUPS = 32


@dataclass(frozen=True)
class UNetConfig:
    """Latent Diffusion's `UNetModel` parameters (SD 1.x: one transformer layer, conv projections)."""

    in_channels: int = 4
    out_channels: int = 4
    model_channels: int = 320
    channel_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    # Downsampling factors (1 = the first level) whose blocks carry a SpatialTransformer.
    attention_resolutions: tuple[int, ...] = (4, 2, 1)
    num_heads: int = 8
    context_dim: int = 768

    def has_attention(self, level: int) -> bool:
        """Whether resolution level `level` (0 = full size) has cross-attention."""
        return 2**level in self.attention_resolutions


@dataclass(frozen=True)
class AutoencoderConfig:
    """Latent Diffusion's AutoencoderKL `ddconfig` (SD 1.x: no attention outside the middle block)."""

    in_channels: int = 3
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    z_channels: int = 4
    embed_dim: int = 4


@dataclass(frozen=True)
class CondStageConfig:
    """Diff-Foley's cond stage: CAVP features → a linear map plus a learned position table."""

    feature_dim: int = 512
    context_dim: int = 768
    positions: int = 40


@dataclass(frozen=True)
class DiffFoleyConfig:
    """Everything that fixes the Diff-Foley checkpoints' names and shapes.

    `video_tower` and `audio_tower` are keyword arguments of `SlowOnlyEncoder`
    and `Cnn14AudioEncoder` on top of their defaults (which are CAVP's).
    """

    unet: UNetConfig = UNetConfig()
    autoencoder: AutoencoderConfig = AutoencoderConfig()
    cond_stage: CondStageConfig = CondStageConfig()
    video_tower: dict[str, Any] = field(default_factory=dict)
    audio_tower: dict[str, Any] = field(default_factory=dict)
    scale_factor: float = 0.18215
    linear_start: float = 0.00085
    linear_end: float = 0.012
    timesteps: int = 1000


DIFF_FOLEY = DiffFoleyConfig()

TINY_DIFF_FOLEY = DiffFoleyConfig(
    unet=UNetConfig(model_channels=32, context_dim=64),
    autoencoder=AutoencoderConfig(ch=32),
    cond_stage=CondStageConfig(context_dim=64),
    video_tower={"image_size": 32, "base_channels": 8, "stage_blocks": (1, 1, 1, 1)},
    audio_tower={"channels": (4, 8, 16, 32, 64, 128)},
)


def build_unet(config: DiffFoleyConfig) -> UNet2DConditionModel:
    """The diffusers UNet with the original's structure (random weights)."""
    c = config.unet
    levels = range(len(c.channel_mult))
    a = config.autoencoder
    factor = 2 ** (len(a.ch_mult) - 1)
    return UNet2DConditionModel(
        sample_size=(AUDIO.n_mels // factor, AUDIO.window_frames // factor),
        in_channels=c.in_channels,
        out_channels=c.out_channels,
        down_block_types=tuple("CrossAttnDownBlock2D" if c.has_attention(i) else "DownBlock2D" for i in levels),
        up_block_types=tuple("CrossAttnUpBlock2D" if c.has_attention(i) else "UpBlock2D" for i in reversed(levels)),
        block_out_channels=tuple(c.model_channels * m for m in c.channel_mult),
        layers_per_block=c.num_res_blocks,
        cross_attention_dim=c.context_dim,
        # diffusers' historical name: for SD 1.x UNets this is the number of heads.
        attention_head_dim=c.num_heads,
        norm_num_groups=NORM_GROUPS,
    )


def build_vae(config: DiffFoleyConfig) -> AutoencoderKL:
    """The diffusers AutoencoderKL with the original's structure (random weights)."""
    a = config.autoencoder
    return AutoencoderKL(
        in_channels=a.in_channels,
        out_channels=a.in_channels,
        down_block_types=("DownEncoderBlock2D",) * len(a.ch_mult),
        up_block_types=("UpDecoderBlock2D",) * len(a.ch_mult),
        block_out_channels=tuple(a.ch * m for m in a.ch_mult),
        layers_per_block=a.num_res_blocks,
        latent_channels=a.z_channels,
        norm_num_groups=NORM_GROUPS,
        sample_size=AUDIO.window_frames,
        scaling_factor=config.scale_factor,
    )


def build_projector(config: DiffFoleyConfig) -> FeatureProjector:
    """The cond stage as our FeatureProjector (random weights)."""
    c = config.cond_stage
    return FeatureProjector(feature_dim=c.feature_dim, context_dim=c.context_dim, n_positions=c.positions)


def build_video_tower(config: DiffFoleyConfig) -> SlowOnlyEncoder:
    """CAVP's video tower (random weights)."""
    return SlowOnlyEncoder(**config.video_tower)


def assemble_pipeline(
    unet: UNet2DConditionModel,
    vae: AutoencoderKL,
    video_tower: SlowOnlyEncoder,
    projector: FeatureProjector,
    latent_scale: float,
    model_name: str,
    trained: bool,
) -> RhythmicFoleyPipeline:
    """A pipeline around Diff-Foley's parts, with untrained adapters copied from `unet`.

    The adapters are `ControlNetModel.from_unet` copies with zeroed output
    convolutions, so until they are trained they leave the base model's output
    unchanged. The mel is repeated into the VAE's three channels, as Diff-Foley does.
    """
    adapters = [ControlNetModel.from_unet(unet, conditioning_channels=1) for _ in range(2)]
    pipeline = RhythmicFoleyPipeline(
        vae=vae,
        unet=unet,
        temporal_adapter=adapters[0],
        semantic_adapter=adapters[1],
        scheduler=diffusion_scheduler(),
        vocoder=GriffinLimVocoder(),
        video_encoder=video_tower,
        feature_projector=projector,
        mel_layout="repeat",
        latent_scale=latent_scale,
        model_name=model_name,
        trained=trained,
    )
    # Freshly built modules are in training mode; the video tower's BatchNorms
    # must use their running statistics.
    for component in pipeline.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    return pipeline


def build_random_pipeline(config: DiffFoleyConfig = DIFF_FOLEY, seed: int = 0) -> RhythmicFoleyPipeline:
    """A randomly initialised pipeline at Diff-Foley's shapes (for benchmarks and plumbing tests)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return assemble_pipeline(
            build_unet(config),
            build_vae(config),
            build_video_tower(config),
            build_projector(config),
            latent_scale=config.scale_factor,
            model_name=f"random-diff-foley-{seed}",
            trained=False,
        )
