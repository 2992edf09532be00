"""Diff-Foley's LDM checkpoint (`ldm_epoch240.ckpt`) → UNet, VAE and feature-projector state dicts.

The checkpoint is a Latent Diffusion `LatentDiffusion` state dict:
`model.diffusion_model.*` (the UNet), `first_stage_model.*` (the SD
AutoencoderKL), `cond_stage_model.*` (a Linear 512 → 768 and a 40 × 768
position table over the CAVP features), the noise-schedule buffers, and
possibly an EMA copy of the UNet (`model_ema.*`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..diff_foley import DIFF_FOLEY, DiffFoleyConfig, build_unet, build_vae
from .ldm_layout import VAE_CONV_TO_LINEAR, original_name, unet_layout, vae_layout
from .matching import StateDictMatcher, take_module

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
COND_PREFIX = "cond_stage_model."
EMA_PREFIX = "model_ema."
EMA_BOOKKEEPING = ("model_ema.decay", "model_ema.num_updates")
# DDPM's buffers derived from `betas`; `betas` and `alphas_cumprod` are checked,
# the rest follow from them.
SCHEDULE_BUFFERS = (
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
)
# Training-only state: the learned log-variance (when learned) and the latent
# scale (a buffer only with `scale_by_std`; read below when present).
LOGVAR = "logvar"
SCALE_FACTOR = "scale_factor"

EXPECTED = (
    "Diff-Foley's LDM checkpoint (ldm_epoch240.ckpt): a Latent Diffusion state dict with "
    "model.diffusion_model.* (SD 1.x UNet), first_stage_model.* (SD AutoencoderKL) and "
    "cond_stage_model.* (Linear 512→768 + 40×768 position table)"
)


@dataclass
class ConvertedLdm:
    """The LDM's parts in our layout: diffusers UNet and VAE state dicts, the
    FeatureProjector state dict, and the latent scale."""

    unet: dict[str, torch.Tensor]
    vae: dict[str, torch.Tensor]
    projector: dict[str, torch.Tensor]
    latent_scale: float


def _ema_name(name: str) -> str:
    # LitEma names its buffers after the wrapped model's parameters with the dots removed.
    return EMA_PREFIX + ("diffusion_model." + name).replace(".", "")


def _scaled_linear_betas(config: DiffFoleyConfig) -> torch.Tensor:
    """Latent Diffusion's "linear" schedule (diffusers' "scaled_linear"), in float64."""
    return torch.linspace(config.linear_start**0.5, config.linear_end**0.5, config.timesteps, dtype=torch.float64) ** 2


def _check_schedule(matcher: StateDictMatcher, config: DiffFoleyConfig) -> None:
    betas = _scaled_linear_betas(config)
    for name, expected in (("betas", betas), ("alphas_cumprod", torch.cumprod(1 - betas, 0))):
        found = matcher.remaining.get(name)
        if found is None or found.is_meta:
            continue
        if found.shape != expected.shape or not torch.allclose(found.double(), expected, rtol=1e-4, atol=1e-7):
            raise matcher.fail(
                f"its noise schedule ({name}) is not the scaled-linear {config.linear_start}–{config.linear_end} "
                f"schedule over {config.timesteps} steps that the converted scheduler uses"
            )
    matcher.skip(SCHEDULE_BUFFERS)


def _take_cond_stage(matcher: StateDictMatcher, config: DiffFoleyConfig) -> dict[str, torch.Tensor]:
    """The cond stage's linear map and position table, found by shape (the names vary between versions)."""
    c = config.cond_stage
    names = matcher.names_under(COND_PREFIX)
    dims = {n: matcher.remaining[n].ndim for n in names}
    biases = [n for n in names if n.endswith(".bias") and dims[n] == 1]
    weights = [n for b in biases for n in names if n == b.removesuffix("bias") + "weight" and dims[n] == 2]
    tables = [n for n in names if n not in biases + weights and dims[n] == 2]
    if len(names) != 3 or len(biases) != 1 or len(weights) != 1 or len(tables) != 1:
        found = ", ".join(f"{n} {tuple(matcher.remaining[n].shape)}" for n in names[:6]) or "nothing"
        raise matcher.fail(
            f"its cond stage holds {found}, not a Linear {c.feature_dim}→{c.context_dim} (weight and bias) "
            f"and one {c.positions}×{c.context_dim} position table"
        )
    taken = {
        "proj.weight": matcher.take(weights[0], (c.context_dim, c.feature_dim)),
        "proj.bias": matcher.take(biases[0], (c.context_dim,)),
        "position_embedding": matcher.take(tables[0], (c.positions, c.context_dim)),
    }
    return {name: tensor for name, tensor in taken.items() if tensor is not None}


def convert_ldm(
    state: dict[str, torch.Tensor],
    config: DiffFoleyConfig = DIFF_FOLEY,
    use_ema: bool = False,
    source: str = "the LDM checkpoint",
) -> ConvertedLdm:
    """Rename and reshape an LDM state dict into our layout, checking every name and shape.

    `use_ema` takes the UNet from the EMA copy instead of `model.diffusion_model.*`.
    Works on meta tensors too (names and shapes only). Raises ModelError naming
    every missing, misshapen or unexpected tensor.
    """
    matcher = StateDictMatcher(state, source, EXPECTED)
    if not matcher.names_under(UNET_PREFIX):
        hint = " (it looks like a CAVP checkpoint)" if any(n.endswith("conv1.conv.weight") for n in state) else ""
        raise matcher.fail(f"no {UNET_PREFIX}* tensors among its {len(state)}{hint}")
    if use_ema and not matcher.names_under(EMA_PREFIX):
        raise matcher.fail("no EMA weights (model_ema.*) to convert")

    with torch.device("meta"):
        unet, vae = build_unet(config), build_vae(config)
    unet_names = unet_layout(config.unet)
    vae_names = vae_layout(config.autoencoder)
    unet_source = {
        name: _ema_name(original_name(unet_names, name)) if use_ema else UNET_PREFIX + original_name(unet_names, name)
        for name in unet.state_dict()
    }
    vae_source = {name: VAE_PREFIX + original_name(vae_names, name) for name in vae.state_dict()}

    converted_unet = take_module(matcher, unet, unet_source)
    converted_vae = take_module(matcher, vae, vae_source, reshaped=VAE_CONV_TO_LINEAR)
    converted_projector = _take_cond_stage(matcher, config)
    _check_schedule(matcher, config)
    latent_scale = config.scale_factor
    scale = matcher.remaining.pop(SCALE_FACTOR, None)
    if scale is not None and not scale.is_meta:
        latent_scale = float(scale)
    # The weights not converted are known, not stray: the other UNet copy and the EMA bookkeeping.
    matcher.skip(matcher.names_under(UNET_PREFIX if use_ema else EMA_PREFIX))
    matcher.skip((*EMA_BOOKKEEPING, LOGVAR))
    matcher.finish()
    return ConvertedLdm(
        unet=converted_unet, vae=converted_vae, projector=converted_projector, latent_scale=latent_scale
    )
