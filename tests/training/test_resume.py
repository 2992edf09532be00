"""A run stopped at a checkpoint and resumed ends exactly where an uninterrupted run does."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from foley_engine.training.__main__ import main as train_main
from foley_engine.training.config import load_config
from foley_engine.training.loop import read_loss_log

STEPS = 6


@pytest.fixture(scope="module")
def constant_lr_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny config as JSON, with a constant learning rate (so a shorter run's
    schedule matches a longer one's) and a checkpoint every 2 steps."""
    config = load_config("tiny")
    base = dataclasses.replace(config.base, steps=STEPS, min_lr_ratio=1.0, checkpoint_every=2, val_every=100)
    path = tmp_path_factory.mktemp("config") / "resume.json"
    path.write_text(json.dumps(dataclasses.replace(config, base=base).to_dict()))
    return path


def base_args(config: Path, data: Path, trained: Path, out: Path, *extra: str) -> list[str]:
    return [
        "base",
        *("--config", str(config), "--data", str(data), "--out", str(out)),
        *("--cavp", str(trained / "cavp"), "--vae", str(trained / "vae")),
        *extra,
    ]


def test_resume_continues_at_the_saved_step(
    constant_lr_config: Path, training_data: Path, trained: Path, tmp_path: Path
) -> None:
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    assert train_main(base_args(constant_lr_config, training_data, trained, straight)) == 0
    assert train_main(base_args(constant_lr_config, training_data, trained, interrupted, "--max-steps", "3")) == 0
    assert torch.load(interrupted / "checkpoint.pt", weights_only=False)["step"] == 3

    assert train_main(base_args(constant_lr_config, training_data, trained, interrupted, "--resume")) == 0

    log = [r for r in read_loss_log(interrupted) if r["phase"] == "train"]
    assert [r["step"] for r in log] == list(range(1, STEPS + 1))
    reference = [r for r in read_loss_log(straight) if r["phase"] == "train"]
    # Same batches, noise, timesteps and dropout: the RNG states came back with the checkpoint.
    assert [r["loss"] for r in log] == pytest.approx([r["loss"] for r in reference], rel=1e-5)
    assert torch.load(interrupted / "checkpoint.pt", weights_only=False)["step"] == STEPS
    # The exported (EMA) weights match too, so the EMA state was restored as well.
    weights = "unet/diffusion_pytorch_model.safetensors"
    resumed, uninterrupted = load_file(interrupted / weights), load_file(straight / weights)
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=1e-4, atol=1e-6)


def test_an_existing_checkpoint_is_not_overwritten_without_resume(
    constant_lr_config: Path, training_data: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert train_main(base_args(constant_lr_config, training_data, trained, out, "--max-steps", "1")) == 0
    assert train_main(base_args(constant_lr_config, training_data, trained, out)) == 1
    assert "--resume" in capsys.readouterr().err
