"""A failing job fails alone, a passed deadline cancels its job, and a stopping engine
lets its running job finish: a real engine on a real socket, faults injected by the engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest
import torch

from foley_engine.engine import BatchItem, BatchKey, FoleyEngine
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.request import GenerationRequest
from foley_server.config import Limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from .conftest import serving
from .test_engine_api import _spec, _wait_state

# Seeds that tell FaultyEngine where to fail.
RUNTIME_ERROR = 901
OUT_OF_MEMORY = 902
PIPELINE_OUT_OF_MEMORY = 903
BROKEN_BATCH_KEY = 904


class RaisingPipeline:
    """Stands in for the pipeline and runs out of memory on windows seeded PIPELINE_OUT_OF_MEMORY."""

    def __init__(self, pipeline: RhythmicFoleyPipeline) -> None:
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> object:
        return getattr(self._pipeline, name)

    def __call__(self, *args: object, generator: list[torch.Generator], **kwargs: object) -> object:
        if any(g.initial_seed() == PIPELINE_OUT_OF_MEMORY for g in generator):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self._pipeline(*args, generator=generator, **kwargs)


class FaultyEngine(FoleyEngine):
    """The real engine, raising where a job's seed says."""

    def __init__(self, pipeline: RhythmicFoleyPipeline) -> None:
        super().__init__(pipeline)
        self.pipeline = RaisingPipeline(pipeline)

    def generate_batch(self, items: Sequence[BatchItem], max_batch: int = 8) -> list:
        seeds = {item.request.seed for item in items}
        if RUNTIME_ERROR in seeds:
            raise RuntimeError("injected failure with a private detail: /secret/path")
        if OUT_OF_MEMORY in seeds:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return super().generate_batch(items, max_batch)

    def batch_key(self, request: GenerationRequest) -> BatchKey:
        if request.seed == BROKEN_BATCH_KEY:
            raise ValueError("injected fault in the worker's own path")
        return super().batch_key(request)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_pipeline, media_root: Path) -> Iterator[ServerThread]:
    socket = tmp_path_factory.mktemp("faults") / "engine.sock"
    # Batches of two, so the worker itself asks the engine for batch keys.
    server = ServerThread(
        socket, serving(tiny_pipeline, FaultyEngine), media_roots=(media_root,), limits=Limits(max_batch=2)
    )
    yield server.start()
    server.stop()


def _last(events: list[pb.JobEvent]) -> pb.JobEvent:
    return next(event for event in reversed(events) if event.WhichOneof("kind") != "audio")


@pytest.mark.parametrize(
    ("seed", "code", "says"),
    [
        (RUNTIME_ERROR, grpc.StatusCode.INTERNAL, "internal engine error (RuntimeError)"),
        (OUT_OF_MEMORY, grpc.StatusCode.RESOURCE_EXHAUSTED, "the device ran out of memory"),
        (PIPELINE_OUT_OF_MEMORY, grpc.StatusCode.RESOURCE_EXHAUSTED, "the device ran out of memory"),
        (BROKEN_BATCH_KEY, grpc.StatusCode.INTERNAL, "internal engine error (ValueError)"),
    ],
)
def test_a_failing_job_fails_alone_and_the_engine_serves_on(
    stub: pb_grpc.EngineStub, small_video: Path, seed: int, code: grpc.StatusCode, says: str
) -> None:
    # Queued behind a running job: the faulty one and a healthy one with other settings (not batched with it).
    busy = stub.SubmitJob(_spec(small_video, duration_frames=48, steps=20, seed=1), timeout=10).job_id
    faulty = stub.SubmitJob(_spec(small_video, duration_frames=48, steps=1, seed=seed), timeout=10).job_id
    healthy = stub.SubmitJob(_spec(small_video, duration_frames=48, steps=2, seed=2), timeout=10).job_id

    failed = _last(list(stub.WatchJob(pb.JobRef(job_id=faulty), timeout=60)))
    assert failed.state == pb.JOB_STATE_FAILED
    assert failed.failed.code == code.value[0] and says in failed.failed.message
    assert "/secret/path" not in failed.failed.message
    for job_id in (busy, healthy):
        assert _last(list(stub.WatchJob(pb.JobRef(job_id=job_id), timeout=60))).state == pb.JOB_STATE_COMPLETED
    after = list(stub.Generate(_spec(small_video, duration_frames=48, steps=1, seed=3), timeout=60))
    assert _last(after).state == pb.JOB_STATE_COMPLETED


def test_a_passed_deadline_cancels_the_job_and_frees_the_worker(stub: pb_grpc.EngineStub, small_video: Path) -> None:
    # Three windows of 200 steps: far longer than the deadline.
    call = stub.Generate(_spec(small_video, duration_frames=20 * 24, steps=200, seed=5), timeout=1.5)
    job_id = ""
    with pytest.raises(grpc.RpcError) as expired:
        for event in call:
            job_id = event.job_id
    assert expired.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    began = time.monotonic()
    status = _wait_state(stub, job_id, pb.JOB_STATE_CANCELLED, timeout=10)
    assert time.monotonic() - began < 5
    assert status.state == pb.JOB_STATE_CANCELLED
    snapshot = next(iter(stub.WatchJob(pb.JobRef(job_id=job_id), timeout=10)))
    assert "deadline" in snapshot.cancelled.reason
    # The worker is free again: a short job completes well inside its own deadline.
    after = list(stub.Generate(_spec(small_video, duration_frames=48, steps=1, seed=6), timeout=30))
    assert _last(after).state == pb.JOB_STATE_COMPLETED


def test_stopping_lets_the_running_job_finish_within_the_grace_period(
    tmp_path: Path, tiny_pipeline, small_video: Path, media_root: Path
) -> None:
    server = ServerThread(tmp_path / "engine.sock", serving(tiny_pipeline), media_roots=(media_root,)).start()
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.EngineStub(channel)
        call = stub.Generate(_spec(small_video, duration_frames=48, steps=20), timeout=60)
        events = [next(call)]
        while events[-1].WhichOneof("kind") not in ("started", "progress"):
            events.append(next(call))
        stopper = threading.Thread(target=server.stop, kwargs={"grace_s": 60})
        stopper.start()
        events += list(call)
        stopper.join(60)
    assert _last(events).state == pb.JOB_STATE_COMPLETED
    assert events[-1].WhichOneof("kind") == "audio"
