"""Assemble and run the engine: gRPC server, health, reflection, model, worker."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from foley_engine.engine import FoleyEngine
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from .auth import TokenInterceptor
from .config import EngineConfig
from .jobs import JobManager
from .servicer import EngineServicer
from .uploads import UploadStore

log = logging.getLogger("foley_server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Engine"].full_name
# Audio goes out in 256 KiB chunks; requests carry no media, uploads are chunked too.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class AddressInUse(RuntimeError):
    """The engine cannot listen where it was told: most often another engine serves it already."""


EngineLoader = Callable[[EngineConfig], FoleyEngine]


def load_engine(config: EngineConfig) -> FoleyEngine:
    """Load the model the way the configuration says."""
    return FoleyEngine.load(config.model_dir, config.device, dtype=config.dtype, channels_last=config.channels_last)


class EngineServer:
    """One engine process: call `start`, then `wait_closed`; `stop` from a signal handler."""

    def __init__(self, config: EngineConfig, load_engine: EngineLoader = load_engine) -> None:
        self.config = config
        self._load_engine = load_engine
        self.jobs = JobManager(
            config.limits.max_queue, config.keep_finished_s, config.max_batch, config.keep_finished_jobs
        )
        self.uploads = UploadStore(config.limits.max_upload_bytes)
        self.servicer = EngineServicer(config, self.jobs, self.uploads)
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[TokenInterceptor(config.token)] if config.token else [],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ]
        )
        pb_grpc.add_EngineServicer_to_server(self.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )

    async def start(self) -> None:
        """Bind (health NOT_SERVING), load the model, then report SERVING."""
        await self.listen()
        await self.load_model()

    async def listen(self) -> None:
        """Bind the address and answer calls; health says NOT_SERVING until `load_model`."""
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        self._bind()
        await self.server.start()
        log.info("listening on %s; loading model", self.config.address)

    async def load_model(self) -> None:
        """Load the model once, start the worker, report SERVING."""
        began = time.monotonic()
        engine = await asyncio.to_thread(self._load_engine, self.config)
        info = engine.info()
        log.info(
            "model %s loaded on %s in %.1fs%s",
            info.name,
            info.device,
            time.monotonic() - began,
            "" if info.trained else " — UNTRAINED: the model has random weights and makes noise, not Foley",
        )
        self.servicer.engine = engine
        self.jobs.start(engine)
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    def _bind(self) -> None:
        if self.config.socket is not None:
            _claim_socket(self.config.socket)
            old_umask = os.umask(0o177)  # the socket file is created 0600
            try:
                self.server.add_insecure_port(self.config.address)
            finally:
                os.umask(old_umask)
            os.chmod(self.config.socket, 0o600)
        else:
            _claim_port(self.config.address)
            failed = f"cannot listen on {self.config.address}"
            try:
                port = self.server.add_insecure_port(self.config.address)
            except RuntimeError:
                raise AddressInUse(failed) from None
            if port == 0:
                raise AddressInUse(failed)

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop taking jobs (health NOT_SERVING, submissions UNAVAILABLE), give the running
        job `grace_s` (default: the configured grace period) to finish, cancel it, close."""
        await self.health.enter_graceful_shutdown()
        await self.jobs.stop(self.config.grace_s if grace_s is None else grace_s)
        await self.server.stop(grace=1.0)
        self.uploads.close()
        if self.config.socket is not None:
            self.config.socket.unlink(missing_ok=True)

    async def wait_closed(self) -> None:
        await self.server.wait_for_termination()


def _claim_port(address: str) -> None:
    """Refuse, saying why, a TCP address that cannot be bound (gRPC only says that binding failed)."""
    host, _, port = address.rpartition(":")
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            host.removeprefix("[").removesuffix("]") or None, int(port), type=socket.SOCK_STREAM
        )[0]
    except (ValueError, socket.gaierror) as error:
        raise AddressInUse(f"cannot listen on {address}: not a usable HOST:PORT ({error})") from None
    with socket.socket(family, kind, proto) as probe:
        # As gRPC binds: a port that only lingers after a closed connection is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(where)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise AddressInUse(f"another engine (or another program) is already listening on {address}") from None
            raise AddressInUse(f"cannot listen on {address} ({error.strerror})") from None


def _claim_socket(path: Path) -> None:
    """Remove a stale socket file; refuse if a live engine is answering on it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)
        return
    except OSError as error:
        raise AddressInUse(f"{path} exists and is not a usable socket ({error.strerror})") from None
    finally:
        probe.close()
    raise AddressInUse(f"another engine is already serving on {path}")
