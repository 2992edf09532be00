"""`foley train assemble`: the trained stages' components → one `RhythmicFoleyPipeline` folder.

With `--semantic` the semantic adapter and its text projector are the
semantic stage's; without it the semantic adapter is saved as a fresh
`ControlNetModel.from_unet` copy of the trained base (zero output
convolutions, so it changes nothing) and marked untrained. With `--detector`
the pipeline carries the detector stage's video event detector (the engine's
`detect` and video cues need one); without it, none (or, with `--pretrained`,
the saved pipeline's own).

With `--pretrained DIR` the pipeline is DIR's (a converted Diff-Foley, say)
with the adapters trained on it in place and marked trained; DIR's
audio tower, if it has one, is kept beside it. Either way the folder is
written beside its place and renamed in, so it is never seen half-written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from diffusers import AutoencoderKL, ControlNetModel, DPMSolverMultistepScheduler, UNet2DConditionModel

from ..conversion.diff_foley import AUDIO_ENCODER_FOLDER
from ..event_detector import VideoEventDetector
from ..pipeline import RhythmicFoleyPipeline
from ..projector import FeatureProjector
from ..semantic_projector import SemanticProjector
from ..video_encoder import VideoEncoder
from ..vocoder import GriffinLimVocoder
from .components import load_trained
from .config import TrainingConfig
from .frozen_parts import pipeline_config
from .loop import TrainingError

# Settings a ControlNet copies from its UNet in `from_unet`: an adapter fits a UNet only if they agree
# (the last two change no weight's shape, so loading alone would not notice).
SHARED_WITH_UNET = (
    "in_channels",
    "down_block_types",
    "block_out_channels",
    "layers_per_block",
    "cross_attention_dim",
    "attention_head_dim",
    "norm_num_groups",
)
# The pipeline's settings a pretrained assembly keeps as they are.
KEPT_CONFIG = ("mel_layout", "latent_scale", "model_name", "trained", "semantic_adapter_trained")


def folder_megabytes(folder: Path) -> float:
    """The size of every file under `folder`, in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def write_pipeline(pipeline: RhythmicFoleyPipeline, out: Path, extra: dict[str, Path] | None = None) -> None:
    """`save_pretrained` (safetensors) `pipeline` and copy the `extra` folders (name → source) into `out`.

    Everything is written to a hidden folder beside `out` and renamed into
    place; an existing `out` is moved aside first and removed last.
    """
    out = Path(out)
    partial = out.with_name(f".{out.name}.partial")
    replaced = out.with_name(f".{out.name}.replaced")
    for leftover in (partial, replaced):
        shutil.rmtree(leftover, ignore_errors=True)
    pipeline.save_pretrained(partial, safe_serialization=True)
    for name, source in (extra or {}).items():
        shutil.copytree(source, partial / name)
    if out.exists():
        out.rename(replaced)
    partial.rename(out)
    shutil.rmtree(replaced, ignore_errors=True)


def trained_semantic(semantic: Path, unet: UNet2DConditionModel) -> dict[str, ControlNetModel | SemanticProjector]:
    """The semantic stage's adapter and text projector, checked to fit `unet`."""
    adapter = load_trained(ControlNetModel, semantic, "semantic_adapter")
    check_fits(adapter, unet, semantic, "semantic")
    return {"semantic_adapter": adapter, "semantic_projector": load_trained(SemanticProjector, semantic, "semantic_projector")}


def assemble(
    config: TrainingConfig,
    cavp: Path,
    vae: Path,
    base: Path,
    temporal: Path,
    out: Path,
    semantic: Path | None = None,
    detector: Path | None = None,
) -> RhythmicFoleyPipeline:
    """Load every trained component, build the pipeline and write it into `out`."""
    unet = load_trained(UNet2DConditionModel, base, "unet")
    temporal_adapter = load_trained(ControlNetModel, temporal, "temporal_adapter")
    trained_vae = load_trained(AutoencoderKL, vae, "vae")
    if semantic is not None:
        semantic_parts = trained_semantic(semantic, unet)
    else:
        with torch.random.fork_rng(devices=[]):
            # A fresh mask embedding, seeded so that a rerun writes the same file.
            torch.manual_seed(config.seed)
            semantic_parts = {
                "semantic_adapter": ControlNetModel.from_unet(
                    unet,
                    conditioning_channels=1,
                    conditioning_embedding_out_channels=tuple(
                        temporal_adapter.config.conditioning_embedding_out_channels
                    ),
                )
            }
    pipeline = RhythmicFoleyPipeline(
        vae=trained_vae,
        unet=unet,
        temporal_adapter=temporal_adapter,
        **semantic_parts,
        scheduler=load_trained(DPMSolverMultistepScheduler, base, "scheduler"),
        vocoder=GriffinLimVocoder(),
        video_encoder=load_trained(VideoEncoder, cavp, "video_encoder"),
        feature_projector=load_trained(FeatureProjector, base, "feature_projector"),
        event_detector=None if detector is None else load_trained(VideoEventDetector, detector, "event_detector"),
        mel_layout="fold",
        latent_scale=trained_vae.config.scaling_factor,
        model_name=config.model_name,
        trained=True,
        temporal_adapter_trained=True,
        semantic_adapter_trained=semantic is not None,
    )
    write_pipeline(pipeline, out)
    return pipeline


def _plain(value: object) -> object:
    # A config read from JSON holds lists where the constructor was given tuples.
    return list(value) if isinstance(value, (list, tuple)) else value


def check_fits(adapter: ControlNetModel, unet: UNet2DConditionModel, source: Path, kind: str = "temporal") -> None:
    """A TrainingError unless `adapter` (read from `source`) was copied from a UNet shaped like `unet`."""
    differ = [key for key in SHARED_WITH_UNET if _plain(adapter.config[key]) != _plain(unet.config[key])]
    if differ:
        raise TrainingError(
            f"{source}: this {kind} adapter was trained on another base ({', '.join(differ)} differ from the "
            f"pipeline's UNet); train it with `foley train {kind} --pretrained` on this pipeline"
        )


def assemble_pretrained(
    pretrained: Path, temporal: Path, out: Path, semantic: Path | None = None, detector: Path | None = None
) -> RhythmicFoleyPipeline:
    """The pipeline in `pretrained` with the trained adapters (`temporal`'s, and `semantic`'s if
    given) and `detector`'s event detector (if given) in their places, written into `out`."""
    pipeline_config(pretrained)
    adapter = load_trained(ControlNetModel, temporal, "temporal_adapter")
    base = RhythmicFoleyPipeline.from_pretrained(pretrained, low_cpu_mem_usage=False)
    check_fits(adapter, base.unet, temporal)
    replaced = {"temporal_adapter": adapter, **(trained_semantic(semantic, base.unet) if semantic else {})}
    if detector is not None:
        replaced["event_detector"] = load_trained(VideoEventDetector, detector, "event_detector")
    kept = {key: base.config[key] for key in KEPT_CONFIG}
    if semantic is not None:
        kept["semantic_adapter_trained"] = True
    pipeline = RhythmicFoleyPipeline(
        **{**base.components, **replaced},
        **kept,
        temporal_adapter_trained=True,
    )
    audio_tower = Path(pretrained) / AUDIO_ENCODER_FOLDER
    write_pipeline(pipeline, out, {AUDIO_ENCODER_FOLDER: audio_tower} if audio_tower.is_dir() else None)
    return pipeline
