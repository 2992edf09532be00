"""A tiny dataset with two paired test clips, and the untrained model saved as a pipeline directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foley_engine.data import DataConfig, build_dataset
from foley_engine.engine import save_untrained

from ..data.conftest import write_fake_package


@pytest.fixture(scope="session")
def sync_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from the fake package's synthetic recordings, with a large test share: the test
    split gets two paired clips (a chance baseline needs two) and one audio-only clip (which
    the benchmark skips)."""
    recordings = write_fake_package(tmp_path_factory.mktemp("fakepkg"))
    out = tmp_path_factory.mktemp("sync_dataset")
    config = DataConfig(seed=7, paired=5, audio_only=3, recordings_dir=recordings, split_fractions=(0.4, 0.2, 0.4))
    build_dataset(config, out)
    return out


@pytest.fixture(scope="session")
def untrained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The untrained preset, its Griffin-Lim cut to 4 iterations: the benchmark's plumbing does
    not care how good the audio is, and the end-to-end run then fits the suite's time budget."""
    model = save_untrained(tmp_path_factory.mktemp("model") / "untrained")
    config_path = model / "vocoder" / "config.json"
    config = json.loads(config_path.read_text())
    config["n_iter"] = 4
    config_path.write_text(json.dumps(config))
    return model
