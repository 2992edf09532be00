"""The LDM converter against the original names and shapes: full size on meta tensors, errors on the tiny one."""

import pytest
import torch

from foley_engine.conversion.ldm import convert_ldm
from foley_engine.diff_foley import DIFF_FOLEY, TINY_DIFF_FOLEY, DiffFoleyConfig, build_projector, build_unet, build_vae
from foley_engine.errors import ModelError

from .original_layout import cavp_shapes, ldm_shapes, meta_state_dict, unet_shapes, vae_shapes


def assert_same_layout(converted: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    expected = module.state_dict()
    assert converted.keys() == expected.keys()
    assert all(converted[name].shape == t.shape for name, t in expected.items())


@pytest.mark.parametrize("config", [DIFF_FOLEY, TINY_DIFF_FOLEY], ids=["diff-foley", "tiny"])
@pytest.mark.parametrize("ema", [False, True], ids=["weights", "ema"])
def test_every_original_tensor_lands_in_a_diffusers_tensor(config: DiffFoleyConfig, ema: bool) -> None:
    shapes = ldm_shapes(config, ema=ema)
    converted = convert_ldm(meta_state_dict(shapes), config, use_ema=ema)
    with torch.device("meta"):
        assert_same_layout(converted.unet, build_unet(config))
        assert_same_layout(converted.vae, build_vae(config))
        assert_same_layout(converted.projector, build_projector(config))
    # One original tensor per converted tensor: nothing merged, nothing invented.
    assert len(converted.unet) == len(unet_shapes(config.unet))
    assert len(converted.vae) == len(vae_shapes(config.autoencoder))


def test_the_full_size_unet_is_sd_1x() -> None:
    with torch.device("meta"):
        unet = build_unet(DIFF_FOLEY)
    assert sum(t.numel() for t in unet.state_dict().values()) == sum(
        torch.Size(s).numel() for s in unet_shapes(DIFF_FOLEY.unet).values()
    )
    assert unet.config.block_out_channels == (320, 640, 1280, 1280)
    assert unet.config.down_block_types[-1] == "DownBlock2D" and unet.config.up_block_types[0] == "UpBlock2D"


def test_ema_weights_are_the_ones_taken_when_asked(ldm_state: dict[str, torch.Tensor]) -> None:
    ema = {"model_ema." + ("diffusion_model." + k.removeprefix("model.diffusion_model.")).replace(".", ""): v * 2
           for k, v in ldm_state.items() if k.startswith("model.diffusion_model.")}
    state = {**ldm_state, **ema, "model_ema.decay": torch.tensor(0.9999), "model_ema.num_updates": torch.tensor(5)}
    plain = convert_ldm(state, TINY_DIFF_FOLEY)
    averaged = convert_ldm(state, TINY_DIFF_FOLEY, use_ema=True)
    torch.testing.assert_close(averaged.unet["conv_in.weight"], plain.unet["conv_in.weight"] * 2)


def tiny_meta() -> dict[str, torch.Tensor]:
    return meta_state_dict(ldm_shapes(TINY_DIFF_FOLEY))


def convert_error(state: dict[str, torch.Tensor], **kwargs) -> str:
    with pytest.raises(ModelError) as error:
        convert_ldm(state, TINY_DIFF_FOLEY, **kwargs)
    message = str(error.value)
    assert "expected Diff-Foley's LDM checkpoint" in message
    return message


def test_a_missing_tensor_is_named() -> None:
    state = tiny_meta()
    del state["model.diffusion_model.output_blocks.5.1.proj_out.weight"]
    assert "1 tensors missing (model.diffusion_model.output_blocks.5.1.proj_out.weight)" in convert_error(state)


def test_a_wrong_shape_is_named_with_both_shapes() -> None:
    state = tiny_meta()
    state["first_stage_model.encoder.mid.attn_1.q.weight"] = torch.empty(128, 128, device="meta")
    message = convert_error(state)
    assert "first_stage_model.encoder.mid.attn_1.q.weight is (128, 128), expected (128, 128, 1, 1)" in message


def test_a_left_over_tensor_is_named() -> None:
    state = tiny_meta() | {"model.diffusion_model.extra_block.weight": torch.empty(3, device="meta")}
    assert "1 tensors unexpected (model.diffusion_model.extra_block.weight)" in convert_error(state)


def test_a_bigger_model_fails_on_its_shapes() -> None:
    message = convert_error(meta_state_dict(ldm_shapes(DIFF_FOLEY)))
    assert "with the wrong shape" in message and "expected (32, 4, 3, 3)" in message


def test_a_text_conditioned_stable_diffusion_is_refused() -> None:
    state = {k: v for k, v in tiny_meta().items() if not k.startswith("cond_stage_model.")}
    clip = "cond_stage_model.transformer.text_model."
    state[clip + "embeddings.token_embedding.weight"] = torch.empty(49408, 64, device="meta")
    state[clip + "final_layer_norm.weight"] = torch.empty(64, device="meta")
    state[clip + "final_layer_norm.bias"] = torch.empty(64, device="meta")
    message = convert_error(state)
    assert "its cond stage holds cond_stage_model.transformer" in message
    assert "not a Linear 512→64 (weight and bias) and one 40×64 position table" in message


def test_a_diffusers_unet_is_refused() -> None:
    with torch.device("meta"):
        state = build_unet(TINY_DIFF_FOLEY).state_dict()
    assert "no model.diffusion_model.* tensors" in convert_error(state)


def test_the_cavp_checkpoint_is_recognised_as_such() -> None:
    assert "it looks like a CAVP checkpoint" in convert_error(meta_state_dict(cavp_shapes(TINY_DIFF_FOLEY)))


def test_another_noise_schedule_is_refused(ldm_state: dict[str, torch.Tensor]) -> None:
    state = dict(ldm_state)
    state["betas"] = torch.linspace(1e-4, 2e-2, 1000)
    assert "is not the scaled-linear 0.00085–0.012 schedule over 1000 steps" in convert_error(state)


def test_ema_without_ema_weights() -> None:
    assert "no EMA weights" in convert_error(tiny_meta(), use_ema=True)


def test_a_scale_factor_buffer_sets_the_latent_scale(ldm_state: dict[str, torch.Tensor]) -> None:
    assert convert_ldm(ldm_state, TINY_DIFF_FOLEY).latent_scale == pytest.approx(0.18215)
    scaled = convert_ldm({**ldm_state, "scale_factor": torch.tensor(0.25)}, TINY_DIFF_FOLEY)
    assert scaled.latent_scale == 0.25
