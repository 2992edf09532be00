"""A tiny dataset and one tiny run of every training stage, shared by the training tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from foley_engine.data import DataConfig, build_dataset
from foley_engine.training.__main__ import main as train_main

from ..data.conftest import write_fake_package

STAGE_ORDER = ("cavp", "vae", "base", "temporal", "semantic")


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """The tiny models run fastest on one thread (and leave the other core to the rest)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def training_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 training clips (6 paired, 6 audio-only) and 2 val clips from synthetic recordings."""
    recordings = write_fake_package(tmp_path_factory.mktemp("recordings"))
    out = tmp_path_factory.mktemp("training_data")
    build_dataset(DataConfig(seed=7, paired=8, audio_only=8, recordings_dir=recordings), out)
    return out


def stage_args(stage: str, data: Path, root: Path, *extra: str) -> list[str]:
    """`foley train STAGE` arguments for the tiny config, reading earlier stages from `root`."""
    inputs = {"base": ("cavp", "vae"), "temporal": ("cavp", "vae", "base"), "semantic": ("cavp", "vae", "base")}.get(
        stage, ()
    )
    args = [stage, "--config", "tiny", "--data", str(data), "--out", str(root / stage)]
    for name in inputs:
        args += [f"--{name}", str(root / name)]
    return args + list(extra)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, training_data: Path) -> Path:
    """Every stage trained once with the tiny config; returns the folder holding `<stage>/`."""
    root = tmp_path_factory.mktemp("runs")
    for stage in STAGE_ORDER:
        assert train_main(stage_args(stage, training_data, root)) == 0, stage
    return root
