"""A small synchronous client for the engine's gRPC API."""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from .errors import PluginError

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Engine"].full_name


class EngineError(PluginError):
    """The engine refused or failed a request; `code` is the gRPC status code."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class GeneratedClip:
    """Audio the engine returned for one job."""

    job_id: str
    samples: np.ndarray
    sample_rate: int
    seed: int
    model_name: str
    elapsed_ms: int


class EngineClient:
    """Talks to one engine (`unix:/path/engine.sock` or `host:port`); `token` if the engine requires one."""

    def __init__(self, address: str, token: str | None = None) -> None:
        self.address = address
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = grpc.insecure_channel(address)
        self._stub = pb_grpc.EngineStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def serving(self) -> bool:
        """True once the engine's health says SERVING."""
        try:
            reply = self._health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=2)
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def wait_serving(self, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> None:
        """Block until SERVING; EngineError after `timeout_s` or when `alive()` turns false."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and alive():
            if self.serving():
                return
            time.sleep(0.2)
        raise EngineError(f"the engine at {self.address} did not become ready within {timeout_s:.0f} s")

    def info(self) -> pb.EngineInfo:
        return self._call(self._stub.GetInfo, pb.GetInfoRequest())

    def cancel(self, job_id: str) -> None:
        self._call(self._stub.CancelJob, pb.JobRef(job_id=job_id))

    def generate(self, spec: pb.JobSpec, on_event: Callable[[pb.JobEvent], None] = lambda e: None) -> GeneratedClip:
        """Run one job to the end and return its audio (checksum verified).

        Interrupting (Ctrl-C) cancels the call, and with it the job on the engine.
        """
        with _interrupts_held():
            stream = self._stub.Generate(spec, metadata=self._metadata)
        try:
            return _collect(stream, on_event)
        except grpc.RpcError as error:
            raise _engine_error(error) from None
        finally:
            stream.cancel()

    def detect(self, request: pb.DetectRequest) -> pb.DetectResponse:
        """Run the engine's event detector over one clip window.

        No deadline: the detection waits for the job the engine is running. Interrupting
        (Ctrl-C) cancels the call, and a detection that has not started yet never runs.
        """
        with _interrupts_held():
            call = self._stub.Detect.future(request, metadata=self._metadata)
        try:
            return call.result()
        except grpc.RpcError as error:
            raise _engine_error(error) from None
        finally:
            call.cancel()

    def _call(self, method: Callable, request: object) -> object:
        try:
            return method(request, timeout=30, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _engine_error(error) from None


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while gRPC sets a call up, and deliver them after.

    An interrupt in the middle of that leaves the call half made: no one ever
    finishes it, and closing the channel then waits for it forever.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are handled in the main thread only
        return
    held: list[int] = []
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda number, frame: held.append(number)) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in held:
            signal.raise_signal(number)


def _collect(events: Iterator[pb.JobEvent], on_event: Callable[[pb.JobEvent], None]) -> GeneratedClip:
    completed: pb.Completed | None = None
    job_id = ""
    audio = bytearray()
    for event in events:
        job_id = event.job_id
        kind = event.WhichOneof("kind")
        if kind == "audio":
            if event.audio.offset != len(audio):
                raise EngineError(f"job {job_id}: audio chunk at offset {event.audio.offset}, expected {len(audio)}")
            audio.extend(event.audio.data)
            continue
        on_event(event)
        if kind == "completed":
            completed = event.completed
        elif kind == "failed":
            raise EngineError(f"job {job_id} failed: {event.failed.message}", _status_code(event.failed.code))
        elif kind == "cancelled":
            raise EngineError(f"job {job_id} was cancelled: {event.cancelled.reason}", grpc.StatusCode.CANCELLED)
    if completed is None:
        raise EngineError(f"job {job_id}: the engine closed the stream before the audio arrived")
    info = completed.audio
    if len(audio) != info.byte_count or hashlib.sha256(audio).hexdigest() != info.sha256:
        raise EngineError(f"job {job_id}: the audio arrived damaged (size or checksum mismatch)")
    samples = np.frombuffer(bytes(audio), dtype="<f4").astype(np.float32)
    return GeneratedClip(
        job_id=job_id,
        samples=samples,
        sample_rate=info.sample_rate,
        seed=completed.seed,
        model_name=completed.model_name,
        elapsed_ms=completed.elapsed_ms,
    )


def _status_code(number: int) -> grpc.StatusCode:
    return next((code for code in grpc.StatusCode if code.value[0] == number), grpc.StatusCode.UNKNOWN)


def _engine_error(error: grpc.RpcError) -> EngineError:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.UNAVAILABLE:
        return EngineError(f"cannot reach the engine: {details}", code)
    return EngineError(f"{details} ({code.name if code else 'error'})", code)
