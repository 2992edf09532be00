"""Training either adapter never changes the base."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from foley_engine.training.checkpoint import seed_everything
from foley_engine.training.config import load_config
from foley_engine.training.frozen_parts import stage_base, stage_encoders
from foley_engine.training.loop import train
from foley_engine.training.semantic import SemanticStage
from foley_engine.training.temporal import TemporalStage


def base_state(modules: dict[str, torch.nn.Module]) -> dict[str, torch.Tensor]:
    return {f"{name}.{key}": value for name, module in modules.items() for key, value in module.state_dict().items()}


@pytest.mark.parametrize("stage_class", [TemporalStage, SemanticStage], ids=["temporal", "semantic"])
def test_no_base_parameter_changes_while_the_adapter_trains(
    stage_class: type[TemporalStage | SemanticStage], trained: Path, training_data: Path, tmp_path: Path
) -> None:
    config = load_config("tiny")
    schedule = getattr(config, stage_class.name)
    config = dataclasses.replace(config, **{stage_class.name: dataclasses.replace(schedule, steps=3, val_every=100)})
    seed_everything(config.seed)
    device = torch.device("cpu")
    encoders = stage_encoders(trained / "cavp", trained / "vae", device)
    stage = stage_class(config, training_data, tmp_path, encoders, stage_base(trained / "base", device), device)
    base_modules = {"unet": stage.unet, "feature_projector": stage.projector}
    before = {key: value.clone() for key, value in base_state(base_modules).items()}
    adapter_before = {key: value.clone() for key, value in stage.adapter.state_dict().items()}

    trained_ids = {id(p) for p in stage.parameters()}
    for module in base_modules.values():
        for parameter in module.parameters():
            assert not parameter.requires_grad
            assert id(parameter) not in trained_ids

    train(stage, tmp_path, config.seed)

    after = base_state(base_modules)
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert torch.equal(after[key], value), f"{key} changed"
    # The adapter did train: otherwise the comparison above proves nothing.
    assert any(not torch.equal(stage.adapter.state_dict()[k], v) for k, v in adapter_before.items())
