"""Straightforward forward passes that read weights by their ORIGINAL names.

Each function follows the original module's code (Latent Diffusion's
openaimodel / autoencoder, Diff-Foley's cond stage, mmaction2's
Bottleneck3d, PANNs' ConvBlock) on a plain dict of tensors; the converted
modules must compute the same thing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Weights = dict[str, torch.Tensor]


def group_norm(w: Weights, p: str, x: torch.Tensor, eps: float) -> torch.Tensor:
    return F.group_norm(x, 32, w[f"{p}.weight"], w[f"{p}.bias"], eps)


def layer_norm(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], w[f"{p}.weight"], w[f"{p}.bias"])


def conv(w: Weights, p: str, x: torch.Tensor, **kwargs) -> torch.Tensor:
    return F.conv2d(x, w[f"{p}.weight"], w.get(f"{p}.bias"), **kwargs)


def linear(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, w[f"{p}.weight"], w.get(f"{p}.bias"))


def has(w: Weights, p: str) -> bool:
    return any(name.startswith(p + ".") for name in w)


# --- openaimodel.UNetModel ---------------------------------------------------------------


def res_block(w: Weights, p: str, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    h = conv(w, f"{p}.in_layers.2", F.silu(group_norm(w, f"{p}.in_layers.0", x, 1e-5)), padding=1)
    h = h + linear(w, f"{p}.emb_layers.1", F.silu(emb))[:, :, None, None]
    h = conv(w, f"{p}.out_layers.3", F.silu(group_norm(w, f"{p}.out_layers.0", h, 1e-5)), padding=1)
    skip = conv(w, f"{p}.skip_connection", x) if has(w, f"{p}.skip_connection") else x
    return skip + h


def cross_attention(w: Weights, p: str, x: torch.Tensor, context: torch.Tensor, heads: int) -> torch.Tensor:
    q, k, v = linear(w, f"{p}.to_q", x), linear(w, f"{p}.to_k", context), linear(w, f"{p}.to_v", context)
    batch, length, dim = q.shape

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(batch, -1, heads, dim // heads).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    weights = (q @ k.transpose(-1, -2) * (dim // heads) ** -0.5).softmax(dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(batch, length, dim)
    return linear(w, f"{p}.to_out.0", out)


def spatial_transformer(w: Weights, p: str, x: torch.Tensor, context: torch.Tensor, heads: int) -> torch.Tensor:
    batch, channels, height, width = x.shape
    h = conv(w, f"{p}.proj_in", group_norm(w, f"{p}.norm", x, 1e-6))
    h = h.flatten(2).transpose(1, 2)
    b = f"{p}.transformer_blocks.0"
    normed = layer_norm(w, f"{b}.norm1", h)
    h = cross_attention(w, f"{b}.attn1", normed, normed, heads) + h
    h = cross_attention(w, f"{b}.attn2", layer_norm(w, f"{b}.norm2", h), context, heads) + h
    value, gate = linear(w, f"{b}.ff.net.0.proj", layer_norm(w, f"{b}.norm3", h)).chunk(2, dim=-1)
    h = linear(w, f"{b}.ff.net.2", value * F.gelu(gate)) + h
    h = h.transpose(1, 2).reshape(batch, channels, height, width)
    return conv(w, f"{p}.proj_out", h) + x


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def timestep_sequential(
    w: Weights, p: str, h: torch.Tensor, emb: torch.Tensor, context: torch.Tensor, heads: int
) -> torch.Tensor:
    """One entry of input_blocks / output_blocks / middle_block: its layers in order."""
    layer = 0
    while has(w, f"{p}.{layer}"):
        q = f"{p}.{layer}"
        if has(w, f"{q}.in_layers"):
            h = res_block(w, q, h, emb)
        elif has(w, f"{q}.proj_in"):
            h = spatial_transformer(w, q, h, context, heads)
        elif has(w, f"{q}.op"):
            h = conv(w, f"{q}.op", h, stride=2, padding=1)
        elif has(w, f"{q}.conv"):
            h = conv(w, f"{q}.conv", F.interpolate(h, scale_factor=2.0, mode="nearest"), padding=1)
        else:
            h = conv(w, q, h, padding=1)
        layer += 1
    return h


def unet(
    w: Weights, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor, model_channels: int, heads: int
) -> torch.Tensor:
    emb = linear(w, "time_embed.2", F.silu(linear(w, "time_embed.0", timestep_embedding(t, model_channels))))
    skips, h, block = [], x, 0
    while has(w, f"input_blocks.{block}"):
        h = timestep_sequential(w, f"input_blocks.{block}", h, emb, context, heads)
        skips.append(h)
        block += 1
    h = timestep_sequential(w, "middle_block", h, emb, context, heads)
    block = 0
    while has(w, f"output_blocks.{block}"):
        h = timestep_sequential(w, f"output_blocks.{block}", torch.cat([h, skips.pop()], dim=1), emb, context, heads)
        block += 1
    return conv(w, "out.2", F.silu(group_norm(w, "out.0", h, 1e-5)), padding=1)


# --- Latent Diffusion autoencoder ---------------------------------------------------------


def vae_resnet(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    h = conv(w, f"{p}.conv1", F.silu(group_norm(w, f"{p}.norm1", x, 1e-6)), padding=1)
    h = conv(w, f"{p}.conv2", F.silu(group_norm(w, f"{p}.norm2", h, 1e-6)), padding=1)
    skip = conv(w, f"{p}.nin_shortcut", x) if has(w, f"{p}.nin_shortcut") else x
    return skip + h


def vae_attention(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    h = group_norm(w, f"{p}.norm", x, 1e-6)
    q, k, v = conv(w, f"{p}.q", h), conv(w, f"{p}.k", h), conv(w, f"{p}.v", h)
    batch, channels, height, width = q.shape
    q = q.reshape(batch, channels, -1).permute(0, 2, 1)
    weights = torch.bmm(q, k.reshape(batch, channels, -1)) * channels**-0.5
    weights = weights.softmax(dim=2)
    h = torch.bmm(v.reshape(batch, channels, -1), weights.permute(0, 2, 1)).reshape(batch, channels, height, width)
    return x + conv(w, f"{p}.proj_out", h)


def _vae_middle(w: Weights, p: str, h: torch.Tensor) -> torch.Tensor:
    return vae_resnet(w, f"{p}.block_2", vae_attention(w, f"{p}.attn_1", vae_resnet(w, f"{p}.block_1", h)))


def vae_encode_mean(w: Weights, x: torch.Tensor, levels: int, res_blocks: int) -> torch.Tensor:
    h = conv(w, "encoder.conv_in", x, padding=1)
    for level in range(levels):
        for index in range(res_blocks):
            h = vae_resnet(w, f"encoder.down.{level}.block.{index}", h)
        if level != levels - 1:
            h = conv(w, f"encoder.down.{level}.downsample.conv", F.pad(h, (0, 1, 0, 1)), stride=2)
    h = _vae_middle(w, "encoder.mid", h)
    h = conv(w, "encoder.conv_out", F.silu(group_norm(w, "encoder.norm_out", h, 1e-6)), padding=1)
    return conv(w, "quant_conv", h).chunk(2, dim=1)[0]


def vae_decode(w: Weights, z: torch.Tensor, levels: int, res_blocks: int) -> torch.Tensor:
    h = conv(w, "decoder.conv_in", conv(w, "post_quant_conv", z), padding=1)
    h = _vae_middle(w, "decoder.mid", h)
    for level in reversed(range(levels)):
        for index in range(res_blocks + 1):
            h = vae_resnet(w, f"decoder.up.{level}.block.{index}", h)
        if level != 0:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = conv(w, f"decoder.up.{level}.upsample.conv", h, padding=1)
    return conv(w, "decoder.conv_out", F.silu(group_norm(w, "decoder.norm_out", h, 1e-6)), padding=1)


# --- Diff-Foley's cond stage --------------------------------------------------------------


def cond_stage(w: Weights, features: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(features.shape[1])
    return linear(w, "embed_video_feat", features) + F.embedding(positions, w["pos_emb.weight"])


# --- mmaction2 ResNet3dSlowOnly -----------------------------------------------------------


def batch_norm(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(
        x, w[f"{p}.running_mean"], w[f"{p}.running_var"], w[f"{p}.weight"], w[f"{p}.bias"], training=False, eps=1e-5
    )


def conv_module3d(w: Weights, p: str, x: torch.Tensor, stride=1, padding=0, relu: bool = True) -> torch.Tensor:
    x = batch_norm(w, f"{p}.bn", F.conv3d(x, w[f"{p}.conv.weight"], stride=stride, padding=padding))
    return F.relu(x) if relu else x


def bottleneck3d(w: Weights, p: str, x: torch.Tensor, spatial_stride: int) -> torch.Tensor:
    temporal = w[f"{p}.conv1.conv.weight"].shape[2]
    out = conv_module3d(w, f"{p}.conv1", x, padding=(temporal // 2, 0, 0))
    out = conv_module3d(w, f"{p}.conv2", out, stride=(1, spatial_stride, spatial_stride), padding=(0, 1, 1))
    out = conv_module3d(w, f"{p}.conv3", out, relu=False)
    identity = x
    if has(w, f"{p}.downsample"):
        identity = conv_module3d(w, f"{p}.downsample", x, stride=(1, spatial_stride, spatial_stride), relu=False)
    return F.relu(out + identity)


def slowonly_features(w: Weights, tower: str, head: str, frames: torch.Tensor) -> torch.Tensor:
    """CAVP's video features of (B, T, 3, H, W) frames: backbone, spatial mean, head, L2 norm."""
    x = conv_module3d(w, f"{tower}conv1", frames.transpose(1, 2), stride=(1, 2, 2), padding=(0, 3, 3))
    x = F.max_pool3d(x, kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
    stage = 1
    while has(w, f"{tower}layer{stage}"):
        index = 0
        while has(w, f"{tower}layer{stage}.{index}"):
            stride = 2 if stage > 1 and index == 0 else 1
            x = bottleneck3d(w, f"{tower}layer{stage}.{index}", x, stride)
            index += 1
        stage += 1
    x = x.mean(dim=(-2, -1)).transpose(1, 2)
    return F.normalize(linear(w, head.rstrip("."), x), dim=-1)


# --- PANNs Cnn14 --------------------------------------------------------------------------


def cnn14_conv_block(w: Weights, p: str, x: torch.Tensor, pool_size: tuple[int, int]) -> torch.Tensor:
    x = F.relu(batch_norm(w, f"{p}.bn1", F.conv2d(x, w[f"{p}.conv1.weight"], padding=1)))
    x = F.relu(batch_norm(w, f"{p}.bn2", F.conv2d(x, w[f"{p}.conv2.weight"], padding=1)))
    return F.avg_pool2d(x, kernel_size=pool_size)


def cnn14_features(
    w: Weights, tower: str, head: str, mel: torch.Tensor, pool_sizes: tuple[tuple[int, int], ...]
) -> torch.Tensor:
    """CAVP's audio features of a (B, n_mels, T) mel: Cnn14 frame features, head, L2 norm."""
    x = mel.transpose(1, 2).unsqueeze(1)
    x = batch_norm(w, f"{tower}bn0", x.transpose(1, 3)).transpose(1, 3)
    for index, pool_size in enumerate(pool_sizes):
        x = cnn14_conv_block(w, f"{tower}conv_block{index + 1}", x, pool_size)
    x = x.mean(dim=3)
    x = F.max_pool1d(x, 3, 1, 1) + F.avg_pool1d(x, 3, 1, 1)
    x = F.relu(linear(w, f"{tower}fc1", x.transpose(1, 2)))
    return F.normalize(linear(w, head.rstrip("."), x), dim=-1)
