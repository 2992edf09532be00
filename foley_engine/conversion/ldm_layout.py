"""Where each diffusers module's weights sit in a Latent Diffusion (Stable Diffusion 1.x) checkpoint.

Both layouts map a diffusers module path to the original module path; every
parameter below a diffusers path keeps its name below the original path
(`down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight` ←
`input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight`). A longer entry
overrides a shorter one, which is how renamed leaves inside a block are written.
"""

from __future__ import annotations

from ..diff_foley import AutoencoderConfig, UNetConfig

Layout = dict[str, str]

# The VAE's middle attention: the original's 1×1 convolutions are diffusers' Linear layers.
VAE_ATTENTION_PROJECTIONS = {"to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
VAE_CONV_TO_LINEAR = frozenset(
    f"{part}.mid_block.attentions.0.{target}.weight"
    for part in ("encoder", "decoder")
    for target in VAE_ATTENTION_PROJECTIONS
)


def _unet_resblock(layout: Layout, target: str, original: str) -> None:
    # openaimodel's ResBlock keeps its layers in Sequentials: in_layers = (norm, SiLU, conv),
    # emb_layers = (SiLU, linear), out_layers = (norm, SiLU, dropout, conv).
    layout[f"{target}.norm1"] = f"{original}.in_layers.0"
    layout[f"{target}.conv1"] = f"{original}.in_layers.2"
    layout[f"{target}.time_emb_proj"] = f"{original}.emb_layers.1"
    layout[f"{target}.norm2"] = f"{original}.out_layers.0"
    layout[f"{target}.conv2"] = f"{original}.out_layers.3"
    layout[f"{target}.conv_shortcut"] = f"{original}.skip_connection"


def unet_layout(config: UNetConfig) -> Layout:
    """diffusers `UNet2DConditionModel` paths → `UNetModel` paths (below `model.diffusion_model.`).

    `input_blocks` run level by level: `num_res_blocks` blocks of (ResBlock[, SpatialTransformer])
    and a Downsample after every level but the last; `output_blocks` run the levels in
    reverse with one block more each, the last block of a level carrying the Upsample.
    """
    layout: Layout = {
        "conv_in": "input_blocks.0.0",
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
    }
    levels = len(config.channel_mult)
    block = 1
    for level in range(levels):
        for index in range(config.num_res_blocks):
            _unet_resblock(layout, f"down_blocks.{level}.resnets.{index}", f"input_blocks.{block}.0")
            if config.has_attention(level):
                layout[f"down_blocks.{level}.attentions.{index}"] = f"input_blocks.{block}.1"
            block += 1
        if level < levels - 1:
            layout[f"down_blocks.{level}.downsamplers.0.conv"] = f"input_blocks.{block}.0.op"
            block += 1

    _unet_resblock(layout, "mid_block.resnets.0", "middle_block.0")
    layout["mid_block.attentions.0"] = "middle_block.1"
    _unet_resblock(layout, "mid_block.resnets.1", "middle_block.2")

    block = 0
    for up in range(levels):
        level = levels - 1 - up
        for index in range(config.num_res_blocks + 1):
            _unet_resblock(layout, f"up_blocks.{up}.resnets.{index}", f"output_blocks.{block}.0")
            upsample_layer = 1
            if config.has_attention(level):
                layout[f"up_blocks.{up}.attentions.{index}"] = f"output_blocks.{block}.1"
                upsample_layer = 2
            if index == config.num_res_blocks and up < levels - 1:
                layout[f"up_blocks.{up}.upsamplers.0.conv"] = f"output_blocks.{block}.{upsample_layer}.conv"
            block += 1
    return layout


def _vae_resblock(layout: Layout, target: str, original: str) -> None:
    layout[target] = original
    layout[f"{target}.conv_shortcut"] = f"{original}.nin_shortcut"


def _vae_middle(layout: Layout, part: str) -> None:
    _vae_resblock(layout, f"{part}.mid_block.resnets.0", f"{part}.mid.block_1")
    _vae_resblock(layout, f"{part}.mid_block.resnets.1", f"{part}.mid.block_2")
    attention, original = f"{part}.mid_block.attentions.0", f"{part}.mid.attn_1"
    layout[f"{attention}.group_norm"] = f"{original}.norm"
    for target, name in VAE_ATTENTION_PROJECTIONS.items():
        layout[f"{attention}.{target}"] = f"{original}.{name}"



def vae_layout(config: AutoencoderConfig) -> Layout:
    """diffusers `AutoencoderKL` paths → Latent Diffusion `AutoencoderKL` paths (below `first_stage_model.`).

    The decoder's `up.N` counts from the smallest resolution's end (N = 0 is the
    full-size level, run last), diffusers' `up_blocks.N` in running order.
    """
    layout: Layout = {"quant_conv": "quant_conv", "post_quant_conv": "post_quant_conv"}
    levels = len(config.ch_mult)
    for part in ("encoder", "decoder"):
        layout[f"{part}.conv_in"] = f"{part}.conv_in"
        layout[f"{part}.conv_norm_out"] = f"{part}.norm_out"
        layout[f"{part}.conv_out"] = f"{part}.conv_out"
        _vae_middle(layout, part)
    for level in range(levels):
        for index in range(config.num_res_blocks):
            _vae_resblock(layout, f"encoder.down_blocks.{level}.resnets.{index}", f"encoder.down.{level}.block.{index}")
        if level < levels - 1:
            layout[f"encoder.down_blocks.{level}.downsamplers.0.conv"] = f"encoder.down.{level}.downsample.conv"
        up = levels - 1 - level
        for index in range(config.num_res_blocks + 1):
            _vae_resblock(layout, f"decoder.up_blocks.{up}.resnets.{index}", f"decoder.up.{level}.block.{index}")
        if level > 0:
            layout[f"decoder.up_blocks.{up}.upsamplers.0.conv"] = f"decoder.up.{level}.upsample.conv"
    return layout


def original_name(layout: Layout, target: str) -> str:
    """The original parameter name of diffusers parameter `target` (longest layout entry wins)."""
    parts = target.split(".")
    for end in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in layout:
            return layout[prefix] + target[len(prefix) :]
    raise KeyError(f"no layout entry covers {target}")
