"""`foley convert diff-foley`: the public Diff-Foley checkpoints → a pipeline directory.

The output is `RhythmicFoleyPipeline.save_pretrained` (safetensors) with
Diff-Foley's UNet, VAE and cond stage, CAVP's SlowOnly-50 as the video tower,
the mel repeated into the VAE's three channels, and two untrained adapters
copied from the UNet (marked untrained). CAVP's Cnn14 audio tower, which
inference does not use, is saved beside the pipeline's components in
`DIR/audio_encoder` (`Cnn14AudioEncoder.from_pretrained(DIR / "audio_encoder")`)
for pure-audio adapter training.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from ..cavp import Cnn14AudioEncoder
from ..diff_foley import (
    DIFF_FOLEY,
    DiffFoleyConfig,
    assemble_pipeline,
    build_projector,
    build_unet,
    build_vae,
    build_video_tower,
)
from ..errors import ModelError
from .cavp import convert_cavp
from .cavp import EXPECTED as CAVP_EXPECTED
from .checkpoint import read_state_dict
from .ldm import EXPECTED as LDM_EXPECTED
from .ldm import convert_ldm

AUDIO_ENCODER_FOLDER = "audio_encoder"
MODEL_NAME = "diff-foley"


def _filled(build: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """`build` (constructed on the meta device) holding `state`'s tensors; every tensor must fit."""
    build.load_state_dict(state, strict=True, assign=True)
    left = [name for name, tensor in [*build.named_parameters(), *build.named_buffers()] if tensor.is_meta]
    if left:
        raise ModelError(f"{type(build).__name__}: no weights for {', '.join(left[:5])}")
    return build.eval()


def convert_diff_foley(
    ldm_path: Path | str,
    cavp_path: Path | str,
    output_dir: Path | str,
    config: DiffFoleyConfig = DIFF_FOLEY,
    use_ema: bool = False,
    overwrite: bool = False,
) -> Path:
    """Convert the LDM and CAVP checkpoints into a pipeline directory that `FoleyEngine.load` reads.

    The directory appears complete or not at all: it is written beside its
    final place and renamed into it. Raises ModelError for a file that is not
    the expected checkpoint, FileExistsError if `output_dir` exists and
    `overwrite` is false.
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise FileExistsError(f"{output_dir} already exists; pass overwrite to replace it")
    ldm_path, cavp_path = Path(ldm_path), Path(cavp_path)
    ldm = convert_ldm(read_state_dict(ldm_path, LDM_EXPECTED), config, use_ema=use_ema, source=str(ldm_path))
    cavp = convert_cavp(read_state_dict(cavp_path, CAVP_EXPECTED), config, source=str(cavp_path))

    with torch.device("meta"):
        unet, vae, projector = build_unet(config), build_vae(config), build_projector(config)
        video_tower = build_video_tower(config)
        audio_tower = Cnn14AudioEncoder(**cavp.audio_config)
    pipeline = assemble_pipeline(
        _filled(unet, ldm.unet),
        _filled(vae, ldm.vae),
        _filled(video_tower, cavp.video),
        _filled(projector, ldm.projector),
        latent_scale=ldm.latent_scale,
        model_name=MODEL_NAME,
        trained=True,
    )
    _filled(audio_tower, cavp.audio)

    partial = output_dir.with_name(f".{output_dir.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    pipeline.save_pretrained(partial, safe_serialization=True)
    audio_tower.save_pretrained(partial / AUDIO_ENCODER_FOLDER, safe_serialization=True)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    partial.rename(output_dir)
    return output_dir
