"""Fixtures shared by the whole suite: demo media and a real engine on a Unix socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from foley_plugin import demo

SHARED = Path(__file__).resolve().parents[2] / "shared"
OTIO_SAMPLES = SHARED / "otio-samples"


@pytest.fixture(scope="session")
def demo_material(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoMaterial:
    """The demo video and timeline, rendered once per test session."""
    return demo.make_demo(tmp_path_factory.mktemp("demo"))


class ServerThread:
    """A real `EngineServer` running its own event loop in a background thread.

    It listens on `socket`, or on TCP when `socket` is None and `listen` is given.
    """

    def __init__(self, socket: Path | None, load_engine: Callable | None = None, **config: object) -> None:
        from foley_server.app import EngineServer
        from foley_server.config import EngineConfig

        self.config = EngineConfig(socket=socket, **config)
        self._server_args = (self.config,) if load_engine is None else (self.config, load_engine)
        self._make_server = EngineServer
        self.listening = threading.Event()
        self.loaded = threading.Event()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def address(self) -> str:
        return self.config.address

    def start(self, wait_loaded: bool = True) -> ServerThread:
        self._thread.start()
        if not self.listening.wait(60) or self.failure is not None:
            raise RuntimeError(f"engine did not bind: {self.failure!r}")
        if wait_loaded and (not self.loaded.wait(300) or self.failure is not None):
            raise RuntimeError(f"engine did not load: {self.failure!r}")
        return self

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:  # surfaced by start()
            self.failure = error
            self.listening.set()
            self.loaded.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop_requested = asyncio.Event()
        self.server = self._make_server(*self._server_args)
        await self.server.listen()
        self.listening.set()
        await self.server.load_model()
        self.loaded.set()
        await self._stop_requested.wait()
        await self.server.stop(self._grace_s)

    def stop(self, grace_s: float = 5.0) -> None:
        if self._thread.is_alive():
            self._grace_s = grace_s
            self.loop.call_soon_threadsafe(self._stop_requested.set)
            self._thread.join(60)


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A loaded engine (the small untrained model) on a temporary Unix socket."""
    server = ServerThread(tmp_path_factory.mktemp("engine") / "engine.sock").start()
    yield server
    server.stop()


@pytest.fixture
def channel(engine_server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(engine_server.address) as channel:
        yield channel
