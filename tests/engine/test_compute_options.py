"""The GPU speed options at tiny shapes on the CPU: half precision, channels-last, fused attention."""

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor2_0

from foley_engine.cavp import SlowOnlyEncoder
from foley_engine.diff_foley import TINY_DIFF_FOLEY, build_unet, build_vae
from foley_engine.engine import FoleyEngine, save_untrained
from foley_engine.pipeline import NETWORKS, RhythmicFoleyPipeline
from foley_engine.presets import build_untrained_pipeline

from .engine_testing import fresh_pipeline
from .test_pipeline import features, masks


def generate(pipe: RhythmicFoleyPipeline):
    onsets, spans = masks()
    return pipe(features(), onsets, spans, num_inference_steps=2, generator=torch.Generator().manual_seed(5))


def test_bfloat16_reaches_every_network_and_the_vocoder_stays_float32() -> None:
    full = generate(fresh_pipeline())
    pipe = fresh_pipeline()
    pipe.set_compute_dtype(torch.bfloat16)
    for name in NETWORKS:
        if getattr(pipe, name) is not None:
            assert {p.dtype for p in getattr(pipe, name).parameters()} == {torch.bfloat16}, name
    assert {b.dtype for b in pipe.vocoder.buffers()} == {torch.float32}

    half = generate(pipe)
    assert half.audios.dtype == np.float32 and half.mels.dtype == np.float32
    assert np.isfinite(half.audios).all() and np.isfinite(half.mels).all()
    # Same seed, same float32 noise: half precision only perturbs the networks' arithmetic.
    assert np.abs(half.mels - full.mels).mean() < 0.02


def test_video_towers_run_in_bfloat16() -> None:
    tower = SlowOnlyEncoder(**TINY_DIFF_FOLEY.video_tower).eval().to(torch.bfloat16)
    out = tower(torch.rand(1, 4, 3, 32, 32))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_channels_last_changes_the_layout_not_the_result() -> None:
    plain = generate(fresh_pipeline())
    pipe = fresh_pipeline()
    pipe.use_channels_last()
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert pipe.vae.decoder.conv_out.weight.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(generate(pipe).mels, plain.mels, atol=1e-4)


def test_the_engine_loads_with_the_options(tmp_path: Path) -> None:
    pipe = FoleyEngine.load(save_untrained(tmp_path / "model"), dtype=torch.bfloat16, channels_last=True).pipeline
    assert all(getattr(pipe, name).dtype == torch.bfloat16 for name in NETWORKS if getattr(pipe, name) is not None)
    assert pipe.vocoder.dtype == torch.float32
    assert pipe.temporal_adapter.conv_in.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("which", ["default", "diff-foley"])
def test_attention_uses_pytorch_scaled_dot_product(which: str) -> None:
    if which == "default":
        pipe = build_untrained_pipeline()
        models = [pipe.unet, pipe.vae, pipe.temporal_adapter, pipe.semantic_adapter]
    else:
        models = [build_unet(TINY_DIFF_FOLEY), build_vae(TINY_DIFF_FOLEY)]
    for model in models:
        processors = model.attn_processors.values()
        assert processors and all(type(p) is AttnProcessor2_0 for p in processors), type(model).__name__
