"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugin.conftest import samples  # noqa: F401  (the sample timelines, for these tests too)

from ..conftest import ServerThread
from .plugin_runs import ScriptedEngine, copy_demo, run_foley


@pytest.fixture(scope="session")
def scripted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A real engine (the small untrained model) on a Unix socket whose engine fails on cue.

    One for the whole session: loading the model is the slow part.
    """
    server = ServerThread(tmp_path_factory.mktemp("scripted") / "engine.sock", ScriptedEngine.from_config).start()
    yield server
    server.stop()


@pytest.fixture
def scripted(scripted_server: ServerThread) -> ScriptedEngine:
    """The scripted engine, its record of requests cleared and nothing scripted."""
    engine = scripted_server.server.servicer.engine
    engine.reset()
    return engine


@pytest.fixture(scope="session")
def demo_foley(demo_material, scripted_server: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo timeline's `foley generate` output (the untrained model, one step), made once per session."""
    scripted_server.server.servicer.engine.reset()  # nothing scripted by an earlier test carries over
    source = copy_demo(demo_material, tmp_path_factory.mktemp("demo-foley"))
    run_foley("generate", source, "--engine", scripted_server.address, "--steps", "1")
    return source.with_name("demo.foley.otio")
