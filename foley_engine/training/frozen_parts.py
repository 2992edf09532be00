"""The frozen parts the diffusion stages train around, read from stage folders or from a saved pipeline.

Every diffusion stage encodes its clips once with a frozen VAE and the CAVP
towers (`ClipEncoders`); the temporal stage also keeps a trained base fixed
(`FrozenBase`). Both come either from the folders `foley train cavp|vae|base`
write (`stage_encoders`, `stage_base`) or from any saved
`RhythmicFoleyPipeline` folder, such as the one `foley convert diff-foley`
writes (`pipeline_encoders`, `pipeline_base`). A pipeline's mels become
latents by its own `mel_layout` and `latent_scale` ("repeat" for Diff-Foley's
3-channel VAE, "fold" for ours), so training sees what its inference will.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from diffusers import AutoencoderKL, ControlNetModel, DPMSolverMultistepScheduler, UNet2DConditionModel
from diffusers.configuration_utils import ConfigMixin
from torch import nn

from ..audio_encoder import AudioEncoder
from ..cavp import Cnn14AudioEncoder
from ..conversion.diff_foley import AUDIO_ENCODER_FOLDER
from ..errors import ModelError
from ..pipeline import RhythmicFoleyPipeline
from ..projector import FeatureProjector
from ..video_encoder import VideoEncoder
from ..video_tower import VideoTower
from .components import load_saved, load_trained, mel_codec

C = TypeVar("C", bound=ConfigMixin)
M = TypeVar("M", bound=nn.Module)

AudioTower = AudioEncoder | Cnn14AudioEncoder
# The audio towers a pipeline folder may hold beside its components: ours, or CAVP's Cnn14.
AUDIO_TOWERS: tuple[type[AudioTower], ...] = (AudioEncoder, Cnn14AudioEncoder)
PIPELINE_INDEX = "model_index.json"


def frozen(module: M) -> M:
    """`module` in evaluation mode with every parameter's requires_grad off."""
    return module.requires_grad_(False).eval()


@dataclass
class ClipEncoders:
    """What turns clips into the cached latents and CAVP features, all frozen."""

    vae: AutoencoderKL
    codec: RhythmicFoleyPipeline  # `vae` with the mel layout and latent scale to use it with
    video_tower: VideoTower
    audio_tower: AudioTower | None  # None: audio-only clips cannot be encoded, so only paired clips train
    # The folders the cached latents and features are computed from: their digests key the cache.
    sources: dict[str, Path]


@dataclass
class FrozenBase:
    """A trained base the temporal adapter learns to steer, frozen."""

    unet: UNet2DConditionModel
    projector: FeatureProjector
    scheduler: DPMSolverMultistepScheduler
    # The conditioning embedding of the base's own temporal adapter, which the trained one replaces;
    # None for a `foley train base` folder, whose adapter architecture is the config's [model].
    adapter_channels: tuple[int, ...] | None


def stage_encoders(cavp: Path, vae: Path, device: torch.device) -> ClipEncoders:
    """The VAE of a `foley train vae` folder (on the "fold" layout) and the towers of a `foley train cavp` folder."""
    trained_vae = frozen(load_trained(AutoencoderKL, vae, "vae").to(device))
    return ClipEncoders(
        vae=trained_vae,
        codec=mel_codec(trained_vae),
        video_tower=frozen(load_trained(VideoEncoder, cavp, "video_encoder").to(device)),
        audio_tower=frozen(load_trained(AudioEncoder, cavp, "audio_encoder").to(device)),
        sources={"vae": vae / "vae", "video_encoder": cavp / "video_encoder", "audio_encoder": cavp / "audio_encoder"},
    )


def stage_base(base: Path, device: torch.device) -> FrozenBase:
    """The UNet, projector and scheduler of a `foley train base` folder."""
    return FrozenBase(
        unet=frozen(load_trained(UNet2DConditionModel, base, "unet").to(device)),
        projector=frozen(load_trained(FeatureProjector, base, "feature_projector").to(device)),
        scheduler=load_trained(DPMSolverMultistepScheduler, base, "scheduler"),
        adapter_channels=None,
    )


def pipeline_config(folder: Path) -> dict[str, Any]:
    """The saved pipeline's `model_index.json`, or a ModelError if `folder` holds no `RhythmicFoleyPipeline`."""
    index = Path(folder) / PIPELINE_INDEX
    if not index.is_file():
        raise ModelError(
            f"{folder}: not a saved pipeline (no {PIPELINE_INDEX}); "
            "make one with `foley convert diff-foley` or `foley train assemble`"
        )
    config = json.loads(index.read_text(encoding="utf-8"))
    if config.get("_class_name") != RhythmicFoleyPipeline.__name__:
        raise ModelError(f"{folder}: a {config.get('_class_name')} folder, not a {RhythmicFoleyPipeline.__name__}")
    return config


def _saved_config(folder: Path, config_name: str = "config.json") -> dict[str, Any]:
    """A pipeline component's saved config, or a ModelError if the pipeline lacks that component."""
    path = folder / config_name
    if not path.is_file():
        raise ModelError(f"{folder}: no saved component (no {config_name}); is {folder.parent} a complete pipeline?")
    return json.loads(path.read_text(encoding="utf-8"))


def _component(cls: type[C], folder: Path) -> C:
    """`cls` from a pipeline's component folder, or a ModelError if the pipeline lacks it."""
    _saved_config(folder, cls.config_name)
    return load_saved(cls, folder)


def _saved_class(folder: Path, classes: tuple[type[M], ...]) -> type[M]:
    """The class among `classes` that `folder` was saved from (its config's `_class_name`)."""
    name = _saved_config(folder).get("_class_name")
    for cls in classes:
        if cls.__name__ == name:
            return cls
    raise ModelError(f"{folder}: holds a {name}, expected one of {', '.join(c.__name__ for c in classes)}")


def pipeline_encoders(folder: Path, device: torch.device) -> ClipEncoders:
    """The VAE, video tower and (if `folder/audio_encoder` exists) audio tower of a saved pipeline.

    Components are read one by one rather than through the pipeline's
    `from_pretrained`: its two adapters are each as large as the UNet's
    encoder, and encoding needs neither.
    """
    folder = Path(folder)
    config = pipeline_config(folder)
    vae = frozen(_component(AutoencoderKL, folder / "vae").to(device))
    # Any VideoTower subclass: the pipeline module has imported every one we have.
    video_class = _saved_class(folder / "video_encoder", tuple(VideoTower.__subclasses__()))
    video_tower = frozen(load_saved(video_class, folder / "video_encoder").to(device))
    # model_index.json holds the layout and scale the latents depend on, so it keys the cache too.
    sources = {"pipeline": folder, "vae": folder / "vae", "video_encoder": folder / "video_encoder"}
    audio_folder = folder / AUDIO_ENCODER_FOLDER
    audio_tower = None
    if audio_folder.is_dir():
        audio_tower = frozen(load_saved(_saved_class(audio_folder, AUDIO_TOWERS), audio_folder).to(device))
        sources["audio_encoder"] = audio_folder
    return ClipEncoders(
        vae=vae,
        codec=mel_codec(vae, config["mel_layout"], config["latent_scale"]),
        video_tower=video_tower,
        audio_tower=audio_tower,
        sources=sources,
    )


def pipeline_base(folder: Path, device: torch.device) -> FrozenBase:
    """The UNet, feature projector and scheduler of a saved pipeline, and its temporal adapter's embedding."""
    folder = Path(folder)
    pipeline_config(folder)
    adapter = _saved_config(folder / "temporal_adapter", ControlNetModel.config_name)
    return FrozenBase(
        unet=frozen(_component(UNet2DConditionModel, folder / "unet").to(device)),
        projector=frozen(_component(FeatureProjector, folder / "feature_projector").to(device)),
        scheduler=_component(DPMSolverMultistepScheduler, folder / "scheduler"),
        adapter_channels=tuple(adapter["conditioning_embedding_out_channels"]),
    )
