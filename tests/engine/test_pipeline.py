from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

from foley_engine.config import AUDIO
from foley_engine.errors import Cancelled
from foley_engine.onsets import onset_mask, span_mask
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.presets import build_untrained_pipeline, diffusion_scheduler
from foley_engine.projector import FeatureProjector
from foley_engine.video_encoder import VideoEncoder
from foley_engine.vocoder import GriffinLimVocoder

FRAMES = AUDIO.window_frames


def features(batch: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(batch, 32, 512, generator=torch.Generator().manual_seed(seed)), dim=-1)


def masks(batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    onsets = torch.tensor(onset_mask([0.5, 1.25, 4.0], FRAMES)).repeat(batch, 1)
    spans = torch.tensor(span_mask([(1.0, 2.5)], FRAMES)).repeat(batch, 1)
    return onsets, spans


def run(pipe: RhythmicFoleyPipeline, seed: int = 0, **kwargs) -> np.ndarray:
    kwargs.setdefault("num_inference_steps", 2)
    return pipe(features(), generator=torch.Generator().manual_seed(seed), **kwargs).audios


@pytest.fixture(scope="module")
def live_pipeline() -> RhythmicFoleyPipeline:
    """The preset with random instead of zeroed adapter outputs, so the adapters audibly act."""
    pipe = build_untrained_pipeline(seed=1)
    pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(7)
    for adapter in (pipe.temporal_adapter, pipe.semantic_adapter):
        for block in [*adapter.controlnet_down_blocks, adapter.controlnet_mid_block]:
            with torch.no_grad():
                block.weight.copy_(torch.randn(block.weight.shape, generator=generator) * 0.05)
    return pipe


def test_two_steps_give_one_window_of_audio_and_mel(pipeline: RhythmicFoleyPipeline) -> None:
    onsets, spans = masks(2)
    out = pipeline(features(2), onsets, spans, num_inference_steps=2, generator=torch.Generator().manual_seed(0))
    assert out.audios.shape == (2, AUDIO.window_samples) and out.audios.dtype == np.float32
    assert out.mels.shape == (2, AUDIO.n_mels, FRAMES)
    assert 0 <= out.mels.min() and out.mels.max() <= 1
    assert np.isfinite(out.audios).all()


def test_output_types(pipeline: RhythmicFoleyPipeline) -> None:
    out = pipeline(features(), num_inference_steps=1, guidance_scale=1.0, output_type="pt")
    assert isinstance(out.audios, torch.Tensor) and isinstance(out.mels, torch.Tensor)
    out = pipeline(features(), num_inference_steps=1, guidance_scale=1.0, output_type="mel")
    assert out.audios is None and out.mels.shape == (1, AUDIO.n_mels, FRAMES)


def test_same_seed_same_audio_other_seed_other_audio(pipeline: RhythmicFoleyPipeline) -> None:
    np.testing.assert_array_equal(run(pipeline, 3), run(pipeline, 3))
    assert not np.array_equal(run(pipeline, 3), run(pipeline, 4))


def test_callback_can_cancel(pipeline: RhythmicFoleyPipeline) -> None:
    seen = []

    def stop(pipe: RhythmicFoleyPipeline, step: int, timestep, tensors: dict) -> dict:
        seen.append((step, tuple(tensors)))
        pipe._interrupt = True
        return tensors

    with pytest.raises(Cancelled):
        run(pipeline, num_inference_steps=5, callback_on_step_end=stop)
    assert seen == [(0, ("latents",))]
    assert pipeline.interrupt
    run(pipeline, num_inference_steps=1)
    assert not pipeline.interrupt


def test_callback_can_replace_the_latents(pipeline: RhythmicFoleyPipeline) -> None:
    def zero(pipe: RhythmicFoleyPipeline, step: int, timestep, tensors: dict) -> dict:
        return {"latents": torch.zeros_like(tensors["latents"])}

    silent = pipeline(features(), num_inference_steps=1, callback_on_step_end=zero, output_type="mel").mels
    channels, height, width = pipeline.latent_shape
    margin = pipeline.edge_columns
    cut = margin * pipeline.vae_scale_factor
    expected = pipeline.decode_latents(torch.zeros(1, channels, height, width + 2 * margin))
    torch.testing.assert_close(silent, expected[..., cut : cut + FRAMES])
    plain = pipeline(
        features(), num_inference_steps=1, callback_on_step_end=zero, output_type="mel", edge_margin=False
    ).mels
    torch.testing.assert_close(plain, pipeline.decode_latents(torch.zeros(1, *pipeline.latent_shape)))


def test_save_and_load_give_the_same_audio(pipeline: RhythmicFoleyPipeline, tmp_path: Path) -> None:
    pipeline.save_pretrained(tmp_path)
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = RhythmicFoleyPipeline.from_pretrained(tmp_path, low_cpu_mem_usage=False)
    loaded.set_progress_bar_config(disable=True)
    assert loaded.config.mel_layout == "fold" and loaded.config.model_name == pipeline.config.model_name
    assert not loaded.config.trained
    onsets, spans = masks()
    np.testing.assert_array_equal(
        run(loaded, 5, onset_mask=onsets, span_mask=spans), run(pipeline, 5, onset_mask=onsets, span_mask=spans)
    )


def count_calls(module: torch.nn.Module) -> list[int]:
    calls = []
    module.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_adapters_act_only_with_a_mask_and_a_strength(live_pipeline: RhythmicFoleyPipeline) -> None:
    temporal_calls = count_calls(live_pipeline.temporal_adapter)
    semantic_calls = count_calls(live_pipeline.semantic_adapter)
    onsets, spans = masks()
    plain = run(live_pipeline, onset_mask=None, span_mask=None)
    assert not temporal_calls and not semantic_calls
    zero = run(live_pipeline, onset_mask=onsets, span_mask=spans, temporal_strength=0.0, semantic_strength=0.0)
    assert not temporal_calls and not semantic_calls
    np.testing.assert_array_equal(zero, plain)
    guided = run(live_pipeline, onset_mask=onsets, span_mask=None)
    assert len(temporal_calls) == 2 and not semantic_calls
    assert not np.array_equal(guided, plain)


def test_adapter_guidance_runs_the_adapters_on_the_conditional_half_only(
    live_pipeline: RhythmicFoleyPipeline,
) -> None:
    adapter_batches: list[int] = []
    unet_residuals: list[torch.Tensor] = []
    hooks = [
        live_pipeline.temporal_adapter.register_forward_pre_hook(lambda _, args: adapter_batches.append(len(args[0]))),
        live_pipeline.unet.register_forward_pre_hook(
            lambda _, args, kwargs: unet_residuals.append(kwargs["mid_block_additional_residual"]), with_kwargs=True
        ),
    ]
    onsets, _ = masks()
    try:
        guided = run(live_pipeline, onset_mask=onsets, guidance_scale=3.0)
        assert adapter_batches == [1, 1]
        for residual in unet_residuals:
            assert not residual[0].any() and residual[1].abs().sum() > 0
        adapter_batches.clear()
        plain = run(live_pipeline, onset_mask=onsets, guidance_scale=3.0, adapter_guidance=False)
        assert adapter_batches == [2, 2]
        assert not np.allclose(guided, plain, atol=1e-4)
        # Without guidance there is only one half, and both ways are the same.
        np.testing.assert_array_equal(
            run(live_pipeline, onset_mask=onsets, guidance_scale=1.0),
            run(live_pipeline, onset_mask=onsets, guidance_scale=1.0, adapter_guidance=False),
        )
    finally:
        for hook in hooks:
            hook.remove()


def test_edge_margin_denoises_a_wider_latent_with_no_cues_in_the_margin(live_pipeline: RhythmicFoleyPipeline) -> None:
    images: list[torch.Tensor] = []
    hook = live_pipeline.temporal_adapter.register_forward_pre_hook(
        lambda _, args, kwargs: images.append(kwargs["controlnet_cond"]), with_kwargs=True
    )
    mask = torch.zeros(1, FRAMES)
    mask[0, [0, FRAMES - 1]] = 1.0  # onsets on the window's first and last frames
    try:
        audio = run(live_pipeline, onset_mask=mask)
    finally:
        hook.remove()
    _, _, width = live_pipeline.latent_shape
    margin = live_pipeline.edge_columns
    image = images[0][0, 0, 0]
    factor = image.shape[-1] // (width + 2 * margin)
    assert image.shape[-1] == (width + 2 * margin) * factor
    edge = margin * factor
    assert not image[:edge].any() and not image[-edge:].any()
    assert image[edge] == 1 and image[-edge - 1] == 1
    assert audio.shape == (1, AUDIO.window_samples)


def test_onset_survives_when_the_conditioning_image_is_narrower(pipeline: RhythmicFoleyPipeline) -> None:
    mask = torch.zeros(1, FRAMES)
    mask[0, 301] = 1.0
    # A latent 64 columns wide (Diff-Foley's 8× VAE) with the preset's 4× adapter embedding: 256 columns.
    image = pipeline.conditioning_image(pipeline.temporal_adapter, mask, torch.zeros(1, 4, 16, 64))
    assert image.shape == (1, 1, 64, 256)
    assert torch.nonzero(image[0, 0, 0]).flatten().tolist() == [150]
    assert bool((image[0, 0] == image[0, 0, :1]).all())


def test_sdedit_runs_only_the_tail_of_the_schedule(pipeline: RhythmicFoleyPipeline) -> None:
    steps = []

    def record(pipe: RhythmicFoleyPipeline, step: int, timestep, tensors: dict) -> dict:
        steps.append(int(timestep))
        return tensors

    init = torch.full((1, AUDIO.n_mels, FRAMES), 0.3)
    out = run(pipeline, num_inference_steps=4, init_mel=init, strength=0.5, callback_on_step_end=record)
    assert out.shape == (1, AUDIO.window_samples)
    assert len(steps) == 2 and steps == sorted(steps, reverse=True) and steps[0] <= 500


def test_diff_foley_layout_with_an_8x_vae_runs() -> None:
    """The "repeat" layout: a 3-channel SD-style VAE with 8× downsampling → a (4, 16, 64) latent."""
    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
    )
    unet = UNet2DConditionModel(
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(16, 32),
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=2,
        norm_num_groups=8,
    )
    adapter = ControlNetModel.from_unet(unet, conditioning_channels=1, conditioning_embedding_out_channels=(4, 4, 4, 4))
    pipe = RhythmicFoleyPipeline(
        vae=vae,
        unet=unet,
        temporal_adapter=adapter,
        semantic_adapter=ControlNetModel.from_unet(unet, conditioning_channels=1),
        scheduler=diffusion_scheduler(),
        vocoder=GriffinLimVocoder(n_iter=2),
        video_encoder=VideoEncoder(image_size=32, conv_channels=(8,)),
        feature_projector=FeatureProjector(context_dim=32),
        mel_layout="repeat",
    )
    pipe.set_progress_bar_config(disable=True)
    assert pipe.latent_shape == (4, 16, 64)
    onsets, _ = masks()
    out = pipe(features(), onsets, None, num_inference_steps=1, guidance_scale=1.0)
    assert out.audios.shape == (1, AUDIO.window_samples)


def test_mel_layouts_are_reversible(pipeline: RhythmicFoleyPipeline) -> None:
    mel = torch.rand(2, AUDIO.n_mels, FRAMES)
    image = pipeline.mel_to_image(mel)
    assert image.shape == (2, 4, 32, FRAMES)
    torch.testing.assert_close(image[:, 1, :, 7], mel[:, 32:64, 7] * 2 - 1)
    torch.testing.assert_close(pipeline.image_to_mel(image), mel)


def test_bad_inputs_are_refused(pipeline: RhythmicFoleyPipeline) -> None:
    with pytest.raises(ValueError, match="video_features"):
        pipeline(torch.zeros(1, 32, 100))
    with pytest.raises(ValueError, match="onset_mask"):
        pipeline(features(), onset_mask=torch.zeros(1, 100))
    with pytest.raises(ValueError, match="output_type"):
        pipeline(features(), output_type="wav")
