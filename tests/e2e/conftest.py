"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.plugin.conftest import samples  # noqa: F401  (the sample timelines, for these tests too)

from ..conftest import ServerThread
from .plugin_runs import ScriptedEngine


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
