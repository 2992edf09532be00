"""Building the trainable components from a `ModelConfig`, and loading trained ones from stage folders.

Each stage exports its components under the pipeline's own component names
(`<stage out>/<component>/`), so the final pipeline is assembled by loading
them and `save_pretrained`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    ModelMixin,
    UNet2DConditionModel,
)
from diffusers.configuration_utils import ConfigMixin

from ..audio_encoder import AudioEncoder
from ..config import AUDIO
from ..errors import ModelError
from ..pipeline import RhythmicFoleyPipeline
from ..presets import diffusion_scheduler
from ..projector import FeatureProjector
from ..video_encoder import VideoEncoder
from .config import ModelConfig

FEATURE_DIM = 512
# The command that makes each stage's folder, for error messages about a missing one.
MAKERS = {
    "video_encoder": "cavp",
    "audio_encoder": "cavp",
    "vae": "vae",
    "unet": "base",
    "feature_projector": "base",
    "scheduler": "base",
    "temporal_adapter": "temporal",
    "event_detector": "detector",
}


def build_video_encoder(model: ModelConfig) -> VideoEncoder:
    """CAVP's video tower: 4 fps frames → (B, 32, 512)."""
    return VideoEncoder(
        image_size=model.image_size, conv_channels=model.video_channels, feature_dim=FEATURE_DIM, batch_norm=True
    )


def build_audio_encoder(model: ModelConfig) -> AudioEncoder:
    """CAVP's audio tower: mel → (B, 32, 512)."""
    return AudioEncoder(conv_channels=model.audio_channels, feature_dim=FEATURE_DIM)


def build_vae(model: ModelConfig) -> AutoencoderKL:
    """The mel VAE on the "fold" layout: `fold_channels` channels in, a latent halved
    `len(vae_channels) - 1` times."""
    depth = len(model.vae_channels)
    return AutoencoderKL(
        in_channels=model.fold_channels,
        out_channels=model.fold_channels,
        down_block_types=("DownEncoderBlock2D",) * depth,
        up_block_types=("UpDecoderBlock2D",) * depth,
        block_out_channels=model.vae_channels,
        layers_per_block=model.vae_layers_per_block,
        latent_channels=model.latent_channels,
        norm_num_groups=model.vae_norm_groups,
    )


def latent_size(model: ModelConfig) -> tuple[int, int]:
    """(height, width) of one window's latent under `model`'s VAE."""
    factor = 2 ** (len(model.vae_channels) - 1)
    return AUDIO.n_mels // model.fold_channels // factor, AUDIO.window_frames // factor


def build_unet(model: ModelConfig) -> UNet2DConditionModel:
    """The base denoiser, cross-attending to the projected video features at its coarser level only."""
    return UNet2DConditionModel(
        sample_size=latent_size(model),
        in_channels=model.latent_channels,
        out_channels=model.latent_channels,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=model.unet_channels,
        layers_per_block=model.unet_layers_per_block,
        cross_attention_dim=model.cross_attention_dim,
        attention_head_dim=model.attention_head_dim,
        norm_num_groups=model.unet_norm_groups,
    )


def build_projector(model: ModelConfig) -> FeatureProjector:
    """Linear + learned position embedding from CAVP features to the UNet's context."""
    return FeatureProjector(feature_dim=FEATURE_DIM, context_dim=model.cross_attention_dim)


def build_adapter(unet: UNet2DConditionModel, embedding_channels: tuple[int, ...]) -> ControlNetModel:
    """An adapter as the preset makes one: the UNet's encoder copied, a 1-channel mask embedding
    with `embedding_channels` (its length fixes how far the mask image is downsampled)."""
    return ControlNetModel.from_unet(
        unet, conditioning_channels=1, conditioning_embedding_out_channels=tuple(embedding_channels)
    )


def inference_scheduler(prediction_type: str) -> DPMSolverMultistepScheduler:
    """The pipeline's DPM-Solver++ told what the UNet was trained to predict."""
    return DPMSolverMultistepScheduler.from_config(diffusion_scheduler().config, prediction_type=prediction_type)


def training_scheduler(scheduler: DPMSolverMultistepScheduler) -> DDPMScheduler:
    """The forward (noising) process on exactly the inference scheduler's betas."""
    return DDPMScheduler.from_config(scheduler.config)


def mel_codec(vae: AutoencoderKL, mel_layout: str = "fold", latent_scale: float | None = None) -> RhythmicFoleyPipeline:
    """A pipeline holding only `vae`, for its mel ↔ image ↔ latent conversions and mask images.

    Training then lays out mels and scales latents exactly as inference does:
    give a saved pipeline's own `mel_layout` and `latent_scale` when `vae` is
    its VAE; a VAE of `foley train vae` folds and carries its scale.
    """
    scale = vae.config.scaling_factor if latent_scale is None else latent_scale
    return RhythmicFoleyPipeline(
        vae=vae,
        unet=None,
        temporal_adapter=None,
        semantic_adapter=None,
        scheduler=None,
        vocoder=None,
        video_encoder=None,
        feature_projector=None,
        mel_layout=mel_layout,
        latent_scale=scale,
    )


C = TypeVar("C", bound=ConfigMixin)


def load_trained(cls: type[C], stage_dir: Path, name: str) -> C:
    """Component `name` of a stage's output folder, or a ModelError naming the command that makes it."""
    folder = Path(stage_dir) / name
    if not (folder / cls.config_name).is_file():
        raise ModelError(
            f"{folder}: no trained {name} here; make it with `foley train {MAKERS[name]} --out {stage_dir}`"
        )
    return load_saved(cls, folder)


def load_saved(cls: type[C], folder: Path) -> C:
    """`cls.from_pretrained(folder)`, models loaded straight into memory."""
    if issubclass(cls, ModelMixin):
        # Without accelerate installed, the default low-memory loading only warns and falls back.
        return cls.from_pretrained(folder, low_cpu_mem_usage=False)
    return cls.from_pretrained(folder)
