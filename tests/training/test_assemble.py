"""`foley train assemble` writes a complete pipeline that the engine loads and reports trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from foley_engine.engine import FoleyEngine
from foley_engine.training.__main__ import main as train_main


def test_assembled_pipeline_loads_in_the_engine_as_trained(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "pipeline"
    args = ["assemble", "--config", "tiny", "-o", str(out)]
    for stage in ("cavp", "vae", "base", "temporal"):
        args += [f"--{stage}", str(trained / stage)]
    assert train_main(args) == 0

    engine = FoleyEngine.load(out)
    info = engine.info()
    assert info.name == "rhythmic-foley-tiny"
    assert info.trained
    adapters = {adapter.name: adapter.trained for adapter in info.adapters}
    assert adapters == {"temporal": True, "semantic": False}

    pipe = engine.pipeline
    assert pipe.config.latent_scale == pipe.vae.config.scaling_factor
    # The untrained semantic adapter is a from_unet copy: its output convolutions are zero.
    assert all(not block.weight.any() for block in pipe.semantic_adapter.controlnet_down_blocks)
    mask = np.zeros((1, 512), dtype=np.float32)
    mask[0, [100, 300]] = 1.0
    mels = pipe(torch.zeros(1, 32, 512), onset_mask=mask, num_inference_steps=2, output_type="mel").mels
    assert mels.shape == (1, 128, 512)


def test_assembled_with_the_semantic_stage_both_adapters_are_trained_and_text_steers(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "pipeline"
    args = ["assemble", "--config", "tiny", "-o", str(out)]
    for stage in ("cavp", "vae", "base", "temporal", "semantic"):
        args += [f"--{stage}", str(trained / stage)]
    assert train_main(args) == 0

    engine = FoleyEngine.load(out)
    assert {adapter.name: adapter.trained for adapter in engine.info().adapters} == {"temporal": True, "semantic": True}
    pipe = engine.pipeline
    assert pipe.semantic_projector is not None
    spans = np.zeros((1, 512), dtype=np.float32)
    spans[0, 100:160] = 1.0

    def mels(embeddings: torch.Tensor | None) -> torch.Tensor:
        return pipe(
            torch.zeros(1, 32, 512),
            span_mask=spans,
            event_embeddings=embeddings,
            event_centres=None if embeddings is None else torch.tensor([[0.25]]),
            num_inference_steps=2,
            generator=torch.Generator().manual_seed(0),
            output_type="mel",
        ).mels

    text = torch.nn.functional.normalize(torch.randn(1, 1, 384), dim=-1)
    # The same noise with and without an event's text: the text reaches the result.
    assert not torch.allclose(mels(text), mels(None))
