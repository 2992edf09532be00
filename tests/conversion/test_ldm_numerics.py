"""Converted LDM modules compute what the original layout computes (tiny configuration, random weights)."""

import pytest
import torch

from foley_engine.conversion.ldm import ConvertedLdm
from foley_engine.diff_foley import TINY_DIFF_FOLEY, build_projector, build_unet, build_vae
from foley_engine.projector import FeatureProjector

from . import reference

CONFIG = TINY_DIFF_FOLEY
HEADS = CONFIG.unet.num_heads


def original(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def unet_weights(ldm_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return original(ldm_state, "model.diffusion_model.")


@pytest.fixture(scope="module")
def vae_weights(ldm_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return original(ldm_state, "first_stage_model.")


@pytest.fixture(scope="module")
def unet(converted_ldm: ConvertedLdm) -> torch.nn.Module:
    model = build_unet(CONFIG).eval()
    model.load_state_dict(converted_ldm.unet)
    return model


@pytest.fixture(scope="module")
def vae(converted_ldm: ConvertedLdm) -> torch.nn.Module:
    model = build_vae(CONFIG).eval()
    model.load_state_dict(converted_ldm.vae)
    return model


def noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
@pytest.mark.parametrize(
    "level, index, block",
    [(0, 0, "input_blocks.1.0"), (1, 0, "input_blocks.4.0"), (3, 1, "input_blocks.11.0")],
    ids=["same-width", "widening", "deepest"],
)
def test_res_block(unet, unet_weights, level: int, index: int, block: str) -> None:
    resnet = unet.down_blocks[level].resnets[index]
    x = noise(2, resnet.conv1.in_channels, 8, 16)
    emb = noise(2, CONFIG.unet.model_channels * 4, seed=1)
    torch.testing.assert_close(resnet(x, emb), reference.res_block(unet_weights, block, x, emb))


@torch.no_grad()
@pytest.mark.parametrize("level, index, block", [(0, 1, "input_blocks.2.1"), (2, 0, "input_blocks.7.1")])
def test_spatial_transformer(unet, unet_weights, level: int, index: int, block: str) -> None:
    transformer = unet.down_blocks[level].attentions[index]
    channels = transformer.config.in_channels
    x = noise(2, channels, 4, 8)
    context = noise(2, 32, CONFIG.unet.context_dim, seed=1)
    torch.testing.assert_close(
        transformer(x, encoder_hidden_states=context, return_dict=False)[0],
        reference.spatial_transformer(unet_weights, block, x, context, HEADS),
    )


@torch.no_grad()
def test_whole_unet(unet, unet_weights) -> None:
    x = noise(2, 4, 16, 32)
    t = torch.tensor([999, 10])
    context = noise(2, 32, CONFIG.unet.context_dim, seed=1)
    expected = reference.unet(unet_weights, x, t, context, CONFIG.unet.model_channels, HEADS)
    torch.testing.assert_close(unet(x, t, encoder_hidden_states=context).sample, expected, rtol=1e-4, atol=1e-4)


@torch.no_grad()
@pytest.mark.parametrize("part", ["encoder", "decoder"])
def test_vae_middle_attention(vae, vae_weights, part: str) -> None:
    attention = getattr(vae, part).mid_block.attentions[0]
    x = noise(2, CONFIG.autoencoder.ch * CONFIG.autoencoder.ch_mult[-1], 4, 8)
    torch.testing.assert_close(attention(x), reference.vae_attention(vae_weights, f"{part}.mid.attn_1", x))


@torch.no_grad()
def test_whole_vae(vae, vae_weights) -> None:
    levels, blocks = len(CONFIG.autoencoder.ch_mult), CONFIG.autoencoder.num_res_blocks
    image = noise(1, 3, 32, 64).tanh()
    mean = vae.encode(image).latent_dist.mode()
    expected = reference.vae_encode_mean(vae_weights, image, levels, blocks)
    torch.testing.assert_close(mean, expected, rtol=1e-4, atol=1e-4)
    z = noise(1, 4, 4, 8, seed=1)
    torch.testing.assert_close(
        vae.decode(z).sample, reference.vae_decode(vae_weights, z, levels, blocks), rtol=1e-4, atol=1e-4
    )


@torch.no_grad()
def test_cond_stage_and_its_null_condition(converted_ldm: ConvertedLdm, ldm_state) -> None:
    projector: FeatureProjector = build_projector(CONFIG)
    projector.load_state_dict(converted_ldm.projector)
    weights = original(ldm_state, "cond_stage_model.")
    features = noise(2, 32, 512)
    torch.testing.assert_close(projector(features), reference.cond_stage(weights, features))
    # Diff-Foley drops the condition by zeroing the raw features: the null context is
    # the projection of zeros, i.e. bias + the first 32 of the 40 positions.
    null = projector.null_condition(2, 32)
    torch.testing.assert_close(null, reference.cond_stage(weights, torch.zeros(2, 32, 512)))
    assert not torch.allclose(null, torch.zeros_like(null))
