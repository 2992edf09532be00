"""Checkpoint names and shapes exactly as Diff-Foley's original code writes them, for any configuration.

Written from the original architectures (Latent Diffusion's `openaimodel.UNetModel`
and `model.Encoder/Decoder`, Diff-Foley's cond stage, mmaction2's
`ResNet3dSlowOnly`, PANNs' `Cnn14`), independently of the converter's layout
tables, so that the converter is checked against the original rather than
against itself.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from foley_engine.diff_foley import AutoencoderConfig, DiffFoleyConfig, UNetConfig

Shapes = dict[str, tuple[int, ...]]

# The top-level names of Diff-Foley's CAVP model.
VIDEO_TOWER, VIDEO_HEAD = "video_encoder.", "video_project_head."
AUDIO_TOWER, AUDIO_HEAD = "spec_encoder.", "spec_project_head."
AUDIOSET_CLASSES = 527


def _affine(shapes: Shapes, prefix: str, channels: int) -> None:
    shapes[f"{prefix}.weight"] = (channels,)
    shapes[f"{prefix}.bias"] = (channels,)


def _layer(shapes: Shapes, prefix: str, weight: tuple[int, ...]) -> None:
    shapes[f"{prefix}.weight"] = weight
    shapes[f"{prefix}.bias"] = (weight[0],)


def _batch_norm(shapes: Shapes, prefix: str, channels: int) -> None:
    _affine(shapes, prefix, channels)
    shapes[f"{prefix}.running_mean"] = (channels,)
    shapes[f"{prefix}.running_var"] = (channels,)
    shapes[f"{prefix}.num_batches_tracked"] = ()


# --- Latent Diffusion UNetModel ----------------------------------------------------------


def _res_block(shapes: Shapes, prefix: str, cin: int, cout: int, emb: int) -> None:
    _affine(shapes, f"{prefix}.in_layers.0", cin)
    _layer(shapes, f"{prefix}.in_layers.2", (cout, cin, 3, 3))
    _layer(shapes, f"{prefix}.emb_layers.1", (cout, emb))
    _affine(shapes, f"{prefix}.out_layers.0", cout)
    _layer(shapes, f"{prefix}.out_layers.3", (cout, cout, 3, 3))
    if cin != cout:
        _layer(shapes, f"{prefix}.skip_connection", (cout, cin, 1, 1))


def _spatial_transformer(shapes: Shapes, prefix: str, ch: int, context: int) -> None:
    _affine(shapes, f"{prefix}.norm", ch)
    _layer(shapes, f"{prefix}.proj_in", (ch, ch, 1, 1))
    block = f"{prefix}.transformer_blocks.0"
    for attention, source in (("attn1", ch), ("attn2", context)):
        shapes[f"{block}.{attention}.to_q.weight"] = (ch, ch)
        shapes[f"{block}.{attention}.to_k.weight"] = (ch, source)
        shapes[f"{block}.{attention}.to_v.weight"] = (ch, source)
        _layer(shapes, f"{block}.{attention}.to_out.0", (ch, ch))
    _layer(shapes, f"{block}.ff.net.0.proj", (ch * 8, ch))  # GEGLU: value and gate
    _layer(shapes, f"{block}.ff.net.2", (ch, ch * 4))
    for norm in ("norm1", "norm2", "norm3"):
        _affine(shapes, f"{block}.{norm}", ch)
    _layer(shapes, f"{prefix}.proj_out", (ch, ch, 1, 1))


def unet_shapes(c: UNetConfig) -> Shapes:
    """`UNetModel.state_dict()` names and shapes (without `model.diffusion_model.`)."""
    shapes: Shapes = {}
    mc, emb = c.model_channels, c.model_channels * 4
    _layer(shapes, "time_embed.0", (emb, mc))
    _layer(shapes, "time_embed.2", (emb, emb))
    _layer(shapes, "input_blocks.0.0", (mc, c.in_channels, 3, 3))
    skips, ch, ds, block = [mc], mc, 1, 1
    for level, mult in enumerate(c.channel_mult):
        for _ in range(c.num_res_blocks):
            _res_block(shapes, f"input_blocks.{block}.0", ch, mult * mc, emb)
            ch = mult * mc
            if ds in c.attention_resolutions:
                _spatial_transformer(shapes, f"input_blocks.{block}.1", ch, c.context_dim)
            skips.append(ch)
            block += 1
        if level != len(c.channel_mult) - 1:
            _layer(shapes, f"input_blocks.{block}.0.op", (ch, ch, 3, 3))
            skips.append(ch)
            ds *= 2
            block += 1
    _res_block(shapes, "middle_block.0", ch, ch, emb)
    _spatial_transformer(shapes, "middle_block.1", ch, c.context_dim)
    _res_block(shapes, "middle_block.2", ch, ch, emb)
    block = 0
    for level, mult in reversed(list(enumerate(c.channel_mult))):
        for index in range(c.num_res_blocks + 1):
            _res_block(shapes, f"output_blocks.{block}.0", ch + skips.pop(), mc * mult, emb)
            ch = mc * mult
            layer = 1
            if ds in c.attention_resolutions:
                _spatial_transformer(shapes, f"output_blocks.{block}.1", ch, c.context_dim)
                layer = 2
            if level and index == c.num_res_blocks:
                _layer(shapes, f"output_blocks.{block}.{layer}.conv", (ch, ch, 3, 3))
                ds //= 2
            block += 1
    _affine(shapes, "out.0", ch)
    _layer(shapes, "out.2", (c.out_channels, ch, 3, 3))
    return shapes


# --- Latent Diffusion AutoencoderKL -------------------------------------------------------


def _vae_resnet(shapes: Shapes, prefix: str, cin: int, cout: int) -> None:
    _affine(shapes, f"{prefix}.norm1", cin)
    _layer(shapes, f"{prefix}.conv1", (cout, cin, 3, 3))
    _affine(shapes, f"{prefix}.norm2", cout)
    _layer(shapes, f"{prefix}.conv2", (cout, cout, 3, 3))
    if cin != cout:
        _layer(shapes, f"{prefix}.nin_shortcut", (cout, cin, 1, 1))


def _vae_middle(shapes: Shapes, prefix: str, ch: int) -> None:
    _vae_resnet(shapes, f"{prefix}.block_1", ch, ch)
    _affine(shapes, f"{prefix}.attn_1.norm", ch)
    for conv in ("q", "k", "v", "proj_out"):
        _layer(shapes, f"{prefix}.attn_1.{conv}", (ch, ch, 1, 1))
    _vae_resnet(shapes, f"{prefix}.block_2", ch, ch)


def vae_shapes(a: AutoencoderConfig) -> Shapes:
    """`AutoencoderKL.state_dict()` names and shapes (without `first_stage_model.`)."""
    shapes: Shapes = {}
    levels = len(a.ch_mult)
    _layer(shapes, "encoder.conv_in", (a.ch, a.in_channels, 3, 3))
    block_in = a.ch
    for level in range(levels):
        block_out = a.ch * a.ch_mult[level]
        for index in range(a.num_res_blocks):
            _vae_resnet(shapes, f"encoder.down.{level}.block.{index}", block_in, block_out)
            block_in = block_out
        if level != levels - 1:
            _layer(shapes, f"encoder.down.{level}.downsample.conv", (block_in, block_in, 3, 3))
    _vae_middle(shapes, "encoder.mid", block_in)
    _affine(shapes, "encoder.norm_out", block_in)
    _layer(shapes, "encoder.conv_out", (2 * a.z_channels, block_in, 3, 3))
    _layer(shapes, "quant_conv", (2 * a.embed_dim, 2 * a.z_channels, 1, 1))
    _layer(shapes, "post_quant_conv", (a.z_channels, a.embed_dim, 1, 1))
    block_in = a.ch * a.ch_mult[-1]
    _layer(shapes, "decoder.conv_in", (block_in, a.z_channels, 3, 3))
    _vae_middle(shapes, "decoder.mid", block_in)
    for level in reversed(range(levels)):
        block_out = a.ch * a.ch_mult[level]
        for index in range(a.num_res_blocks + 1):
            _vae_resnet(shapes, f"decoder.up.{level}.block.{index}", block_in, block_out)
            block_in = block_out
        if level != 0:
            _layer(shapes, f"decoder.up.{level}.upsample.conv", (block_in, block_in, 3, 3))
    _affine(shapes, "decoder.norm_out", block_in)
    _layer(shapes, "decoder.conv_out", (a.in_channels, block_in, 3, 3))
    return shapes


SCHEDULE = (
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


def ldm_shapes(config: DiffFoleyConfig, ema: bool = False) -> Shapes:
    """The whole `LatentDiffusion.state_dict()` of Diff-Foley's LDM."""
    unet = unet_shapes(config.unet)
    shapes = {f"model.diffusion_model.{k}": v for k, v in unet.items()}
    shapes |= {f"first_stage_model.{k}": v for k, v in vae_shapes(config.autoencoder).items()}
    cond = config.cond_stage
    _layer(shapes, "cond_stage_model.embed_video_feat", (cond.context_dim, cond.feature_dim))
    shapes["cond_stage_model.pos_emb.weight"] = (cond.positions, cond.context_dim)
    shapes |= {name: (config.timesteps,) for name in SCHEDULE}
    if ema:
        shapes |= {"model_ema.decay": (), "model_ema.num_updates": ()}
        shapes |= {"model_ema." + ("diffusion_model." + k).replace(".", ""): v for k, v in unet.items()}
    return shapes


# --- CAVP: mmaction2 ResNet3dSlowOnly and PANNs Cnn14 -------------------------------------


def _conv_module(shapes: Shapes, prefix: str, weight: tuple[int, ...]) -> None:
    shapes[f"{prefix}.conv.weight"] = weight
    _batch_norm(shapes, f"{prefix}.bn", weight[0])


def slowonly_shapes(
    base: int = 64, stage_blocks: tuple[int, ...] = (3, 4, 6, 3), inflate: tuple[int, ...] = (0, 0, 1, 1)
) -> Shapes:
    """`ResNet3dSlowOnly(depth=50, conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1)).state_dict()`."""
    shapes: Shapes = {}
    _conv_module(shapes, "conv1", (base, 3, 1, 7, 7))
    inplanes = base
    for stage, blocks in enumerate(stage_blocks):
        planes = base * 2**stage
        for index in range(blocks):
            prefix = f"layer{stage + 1}.{index}"
            _conv_module(shapes, f"{prefix}.conv1", (planes, inplanes, 3 if inflate[stage] else 1, 1, 1))
            _conv_module(shapes, f"{prefix}.conv2", (planes, planes, 1, 3, 3))
            _conv_module(shapes, f"{prefix}.conv3", (planes * 4, planes, 1, 1, 1))
            if index == 0:
                _conv_module(shapes, f"{prefix}.downsample", (planes * 4, inplanes, 1, 1, 1))
            inplanes = planes * 4
    return shapes


def cnn14_shapes(
    n_mels: int = 128, channels: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048), classifier: bool = True
) -> Shapes:
    """PANNs `Cnn14.state_dict()` over a mel input (no waveform front end)."""
    shapes: Shapes = {}
    _batch_norm(shapes, "bn0", n_mels)
    previous = 1
    for index, width in enumerate(channels):
        prefix = f"conv_block{index + 1}"
        shapes[f"{prefix}.conv1.weight"] = (width, previous, 3, 3)
        shapes[f"{prefix}.conv2.weight"] = (width, width, 3, 3)
        _batch_norm(shapes, f"{prefix}.bn1", width)
        _batch_norm(shapes, f"{prefix}.bn2", width)
        previous = width
    _layer(shapes, "fc1", (previous, previous))
    if classifier:
        _layer(shapes, "fc_audioset", (AUDIOSET_CLASSES, previous))
    return shapes


def cavp_shapes(config: DiffFoleyConfig, data_parallel: bool = False) -> Shapes:
    """The CAVP model's state dict: both towers, their heads and the contrastive temperature."""
    video = {"base": config.video_tower.get("base_channels", 64)}
    if "stage_blocks" in config.video_tower:
        video["stage_blocks"] = config.video_tower["stage_blocks"]
    audio_channels = config.audio_tower.get("channels", (64, 128, 256, 512, 1024, 2048))
    shapes = {VIDEO_TOWER + k: v for k, v in slowonly_shapes(**video).items()}
    _layer(shapes, VIDEO_HEAD.rstrip("."), (512, video["base"] * 32))
    shapes |= {AUDIO_TOWER + k: v for k, v in cnn14_shapes(channels=audio_channels).items()}
    _layer(shapes, AUDIO_HEAD.rstrip("."), (512, audio_channels[-1]))
    shapes["logit_scale"] = ()
    return {("module." if data_parallel else "") + k: v for k, v in shapes.items()}


# --- Tensors for those shapes -------------------------------------------------------------


def meta_state_dict(shapes: Shapes) -> dict[str, torch.Tensor]:
    """Shape-only tensors: no memory, whatever the model's size."""
    return {name: torch.empty(shape, device="meta") for name, shape in shapes.items()}


def _scheduled(config: DiffFoleyConfig) -> dict[str, torch.Tensor]:
    betas = torch.linspace(config.linear_start**0.5, config.linear_end**0.5, config.timesteps, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    return {"betas": betas.float(), "alphas_cumprod": alphas_cumprod.float()}


def random_state_dict(shapes: Shapes, seed: int = 0, config: DiffFoleyConfig | None = None) -> dict[str, torch.Tensor]:
    """Random tensors of these shapes that make a numerically sane model.

    Weights are scaled by 1/sqrt(fan-in), norms sit near 1, BatchNorm variances
    are positive; with `config`, `betas` and `alphas_cumprod` follow its schedule.
    """
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        normal = torch.randn(shape, generator=generator)
        if name.endswith("num_batches_tracked") or name == "model_ema.num_updates":
            state[name] = torch.tensor(100, dtype=torch.int64)
        elif name.endswith("running_var"):
            state[name] = normal.abs() + 0.5
        elif len(shape) >= 2:
            state[name] = normal / math.sqrt(math.prod(shape[1:]))
        elif name.endswith(".weight"):
            state[name] = 1 + 0.1 * normal
        else:
            state[name] = 0.1 * normal
    if config is not None:
        state |= {k: v for k, v in _scheduled(config).items() if k in state}
    return state


def save_checkpoint(path: Path, state: dict[str, torch.Tensor], **extra: object) -> Path:
    """Write `state` the way Lightning does: {"state_dict": ..., "epoch": ..., ...}."""
    torch.save({"state_dict": state, "epoch": 240, "global_step": 1, **extra}, path)
    return path
