"""Test helpers: tiny videos whose frames show their own index, and a tiny pipeline."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

from foley_engine.event_detector import VideoEventDetector
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.presets import diffusion_scheduler
from foley_engine.projector import FeatureProjector
from foley_engine.semantic_projector import SemanticProjector
from foley_engine.video_encoder import VideoEncoder
from foley_engine.vocoder import GriffinLimVocoder

BITS = 8


def index_picture(index: int, height: int = 64, width: int = 64) -> np.ndarray:
    """An RGB picture showing `index` as 8 black/white vertical bars (bit 0 leftmost).

    Bars survive lossy codecs, chroma subsampling and resizing, unlike a colour code.
    """
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    bar = width // BITS
    for bit in range(BITS):
        if (index >> bit) & 1:
            picture[:, bit * bar : (bit + 1) * bar] = 255
    return picture


def picture_index(picture: np.ndarray) -> int:
    """The index `index_picture` drew, read back from the middle of each bar."""
    bar = picture.shape[1] // BITS
    margin = max(bar // 4, 0)
    return sum(
        1 << bit
        for bit in range(BITS)
        if picture[:, bit * bar + margin : (bit + 1) * bar - margin].mean() > 128
    )


def write_video(
    path: Path, n_frames: int, rate: Fraction | int, codec: str = "libx264", size: tuple[int, int] = (64, 64)
) -> Path:
    """Encode `n_frames` index pictures at `rate` fps with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(index_picture(index, *size), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def fresh_pipeline(
    vae_levels: int = 2, vae_attention: bool = True, griffin_lim_iterations: int = 4
) -> RhythmicFoleyPipeline:
    """The pipeline's structure at a few channels per layer: bfloat16 arithmetic is slow on CPUs.

    A third VAE level, no VAE attention and one Griffin-Lim iteration make it
    faster still (a few jobs a second on one CPU thread), for tests that run
    hundreds of jobs.
    """
    torch.manual_seed(3)
    vae = AutoencoderKL(
        in_channels=4,
        out_channels=4,
        down_block_types=("DownEncoderBlock2D",) * vae_levels,
        up_block_types=("UpDecoderBlock2D",) * vae_levels,
        block_out_channels=(8,) * vae_levels,
        layers_per_block=1,
        norm_num_groups=4,
        mid_block_add_attention=vae_attention,
    )
    # The folded mel is a (4, 32, 512) image; each VAE level past the first halves it.
    shrink = 2 ** (vae_levels - 1)
    unet = UNet2DConditionModel(
        sample_size=(32 // shrink, 512 // shrink),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(8, 16),
        layers_per_block=1,
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    adapters = [
        ControlNetModel.from_unet(unet, conditioning_channels=1, conditioning_embedding_out_channels=(4, 8))
        for _ in range(2)
    ]
    for adapter in adapters:
        # Live (not zeroed) adapter outputs, so the adapters' arithmetic reaches the result.
        for block in [*adapter.controlnet_down_blocks, adapter.controlnet_mid_block]:
            torch.nn.init.normal_(block.weight, std=0.05)
    pipe = RhythmicFoleyPipeline(
        vae=vae,
        unet=unet,
        temporal_adapter=adapters[0],
        semantic_adapter=adapters[1],
        scheduler=diffusion_scheduler(),
        vocoder=GriffinLimVocoder(n_iter=griffin_lim_iterations),
        video_encoder=VideoEncoder(image_size=16, conv_channels=(8,)),
        feature_projector=FeatureProjector(context_dim=16),
        semantic_projector=SemanticProjector(context_dim=16),
        event_detector=VideoEventDetector(image_size=16, conv_channels=(8,), hidden=8, temporal_dilations=(1,)),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
