"""Training configuration: one file (TOML or JSON) describes the model and every stage.

A file has top-level `seed` and `model_name` and the sections `[model]`
(architectures), `[diffusion]` (the recipe the diffusion stages share) and one
per stage (`[cavp]`, `[vae]`, `[base]`, `[temporal]`, `[semantic]`, `[detector]`). Missing keys take the
defaults below; unknown keys are an error, so a typo never trains silently
with a default. The bundled files live in `configs/` and can be named
without their path (`--config small`).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import FoleyError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PREDICTION_TYPES = ("epsilon", "v_prediction")


class ConfigError(FoleyError):
    """A training configuration file is missing or malformed."""


@dataclass(frozen=True)
class Schedule:
    """How one stage trains: steps, batches, optimiser, and how often it logs, validates and saves.

    The learning rate warms up linearly over `warmup_steps`, then follows a
    cosine down to `min_lr_ratio` of its peak at `steps`. `ema_decay` 0 trains
    without an EMA; otherwise the EMA weights are validated and exported.
    `train_clips` 0 uses every training clip; `val_clips` caps the validation set.
    """

    steps: int = 1000
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.0
    log_every: int = 10
    val_every: int = 200
    checkpoint_every: int = 200
    train_clips: int = 0
    val_clips: int = 16


@dataclass(frozen=True)
class CavpConfig(Schedule):
    """CAVP: contrastive training of the video and audio towers on paired clips.

    The loss is the clip-level (semantic) InfoNCE across the batch plus
    `temporal_weight` times the step-level (temporal) InfoNCE within each clip;
    `temperature` is where the learned temperature starts.
    """

    temperature: float = 0.07
    temporal_weight: float = 1.0


@dataclass(frozen=True)
class VaeConfig(Schedule):
    """The mel VAE: L1 reconstruction plus `kl_weight` × the mean KL per latent element.

    Training sees random crops of `crop_frames` mel frames (the VAE is
    convolutional, and a quarter window costs a quarter of the time);
    validation always sees whole windows.
    """

    kl_weight: float = 1e-4
    crop_frames: int = 128


@dataclass(frozen=True)
class SemanticConfig(Schedule):
    """The semantic adapter: how often each condition is left out in training.

    `text_dropout` is the share of examples trained with no text tokens and
    `span_dropout` the share with an empty span mask, so the adapter also
    works (and the Table IV ablation is fair) with only one of the two;
    `summary_rate` is the share that gets a whole-window text naming the
    clip's classes, standing in for a prompt or clip name.
    `feature_dropout` replaces [diffusion] condition_dropout here: the share
    of examples whose video features become the null condition. The features
    already name the class (the scene's look, or for audio-only clips the
    audio tower's view of the very sound), so with the base's 0.1 the text
    brings the loss nothing and is never learned; without the features the
    class must come from the text.
    """

    text_dropout: float = 0.15
    span_dropout: float = 0.15
    summary_rate: float = 0.5
    feature_dropout: float = 0.5


@dataclass(frozen=True)
class DetectorConfig(Schedule):
    """The video event detector (`foley_engine.event_detector`), trained on paired clips' frames
    at their own rate; it shares no weights with the other stages, so its architecture is here.

    Architecture: `image_size` (frames are cached at it), `conv_channels`,
    `hidden`, `temporal_kernel`, `temporal_dilations` (see `VideoEventDetector`).
    Training sees random crops of `crop_frames` frames (`flip`: mirrored half
    the time). Targets: the contact frame of each onset; activity from the
    onset until the clip's sound falls `decay_db` below that sound's peak (or
    the next onset); the onset's class on its active frames. The loss is the
    onset BCE with positives weighted `onset_pos_weight` (one frame in twenty
    is an onset) plus `activity_weight` × the activity BCE plus
    `class_weight` × the class cross-entropy on active frames.
    """

    image_size: int = 64
    conv_channels: tuple[int, ...] = (16, 32, 64, 128)
    hidden: int = 128
    temporal_kernel: int = 5
    temporal_dilations: tuple[int, ...] = (1, 2, 4)
    crop_frames: int = 64
    flip: bool = True
    decay_db: float = 35.0
    onset_pos_weight: float = 4.0
    activity_weight: float = 1.0
    class_weight: float = 1.0


@dataclass(frozen=True)
class DiffusionConfig:
    """The denoising recipe the base and the temporal adapter share.

    `prediction_type` is what the UNet predicts and what the exported
    scheduler is told; the loss is min-SNR-γ weighted (`snr_gamma`).
    `condition_dropout` is the share of training examples whose video
    features are replaced by zeros: the pipeline's null condition for
    classifier-free guidance. Validation samples `sample_clips` val clips
    with `sample_steps` DPM-Solver steps at `guidance_scale`.
    """

    prediction_type: str = "epsilon"
    snr_gamma: float = 5.0
    condition_dropout: float = 0.1
    sample_steps: int = 10
    sample_clips: int = 2
    guidance_scale: float = 4.5


@dataclass(frozen=True)
class ModelConfig:
    """Architectures of every trained component.

    The defaults are `presets.build_untrained_pipeline`'s; `configs/small.toml`
    narrows the UNet to fit its inference-time budget.
    """

    image_size: int = 64
    video_channels: tuple[int, ...] = (16, 32, 64, 128)
    audio_channels: tuple[int, ...] = (16, 32, 64, 128)
    fold_channels: int = 4
    vae_channels: tuple[int, ...] = (32, 32, 64)
    vae_layers_per_block: int = 1
    vae_norm_groups: int = 16
    latent_channels: int = 4
    unet_channels: tuple[int, ...] = (64, 128)
    unet_layers_per_block: int = 1
    unet_norm_groups: int = 16
    cross_attention_dim: int = 128
    attention_head_dim: int = 4
    adapter_embedding_channels: tuple[int, ...] = (16, 32, 48)


@dataclass(frozen=True)
class TrainingConfig:
    """Everything `foley train` reads from a configuration file."""

    seed: int = 0
    model_name: str = "rhythmic-foley"
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    cavp: CavpConfig = field(default_factory=CavpConfig)
    vae: VaeConfig = field(default_factory=VaeConfig)
    base: Schedule = field(default_factory=Schedule)
    temporal: Schedule = field(default_factory=Schedule)
    semantic: SemanticConfig = field(default_factory=SemanticConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able values."""
        return dataclasses.asdict(self)


T = TypeVar("T")


def _section(cls: type[T], values: Any, where: str) -> T:
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a table, got {type(values).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; expected some of {sorted(names)}")
    # TOML and JSON have no tuples; the configs hold tuples so they stay hashable and frozen.
    return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})


def parse_config(values: dict[str, Any]) -> TrainingConfig:
    """Build a `TrainingConfig` from the parsed contents of a configuration file."""
    names = {f.name for f in dataclasses.fields(TrainingConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown top-level keys {unknown}; expected some of {sorted(names)}")
    classes = {
        "model": ModelConfig,
        "diffusion": DiffusionConfig,
        "cavp": CavpConfig,
        "vae": VaeConfig,
        "base": Schedule,
        "temporal": Schedule,
        "semantic": SemanticConfig,
        "detector": DetectorConfig,
    }
    parsed: dict[str, Any] = {
        name: _section(cls, values[name], f"[{name}]") for name, cls in classes.items() if name in values
    }
    for name in ("seed", "model_name"):
        if name in values:
            parsed[name] = values[name]
    config = TrainingConfig(**parsed)
    if config.diffusion.prediction_type not in PREDICTION_TYPES:
        raise ConfigError(f"[diffusion] prediction_type must be one of {PREDICTION_TYPES}")
    return config


def resolve_config_path(name: Path | str) -> Path:
    """A configuration file by path, or a bundled one by name ("tiny", "small")."""
    path = Path(name)
    if path.is_file():
        return path
    bundled = CONFIG_DIR / f"{name}.toml"
    if path.suffix == "" and bundled.is_file():
        return bundled
    available = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
    raise ConfigError(f"{name}: no such configuration file (bundled ones: {available})")


def load_config(name: Path | str) -> TrainingConfig:
    """Read a TOML or JSON configuration file (see the module docstring)."""
    path = resolve_config_path(name)
    try:
        if path.suffix == ".json":
            values = json.loads(path.read_text(encoding="utf-8"))
        else:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return parse_config(values)
