"""Training the temporal adapter never changes the base."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from foley_engine.training.checkpoint import seed_everything
from foley_engine.training.config import load_config
from foley_engine.training.frozen_parts import stage_base, stage_encoders
from foley_engine.training.loop import train
from foley_engine.training.temporal import TemporalStage


def base_state(modules: dict[str, torch.nn.Module]) -> dict[str, torch.Tensor]:
    return {f"{name}.{key}": value for name, module in modules.items() for key, value in module.state_dict().items()}


def test_no_base_parameter_changes_while_the_adapter_trains(trained: Path, training_data: Path, tmp_path: Path) -> None:
    config = load_config("tiny")
    config = dataclasses.replace(config, temporal=dataclasses.replace(config.temporal, steps=3, val_every=100))
    seed_everything(config.seed)
    device = torch.device("cpu")
    encoders = stage_encoders(trained / "cavp", trained / "vae", device)
    stage = TemporalStage(config, training_data, tmp_path, encoders, stage_base(trained / "base", device), device)
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
