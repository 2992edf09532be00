"""Shared fixtures of the engine tests: a small indexed video and the untrained preset
pipeline (each built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foley_engine.engine import FoleyEngine
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.presets import build_untrained_pipeline

from .engine_testing import write_video


@pytest.fixture(scope="session")
def video_24fps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s at 24 fps: frame k shows index k."""
    return write_video(tmp_path_factory.mktemp("video") / "24fps.mp4", 240, 24)


@pytest.fixture(scope="session")
def pipeline() -> RhythmicFoleyPipeline:
    """The untrained preset, progress bar off. Tests must not change its weights."""
    pipe = build_untrained_pipeline(seed=0)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def engine(pipeline: RhythmicFoleyPipeline) -> FoleyEngine:
    return FoleyEngine(pipeline)
