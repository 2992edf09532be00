"""Queued jobs that can share batches run together on a real engine behind a real socket."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc
import numpy as np

from foley_engine.engine import BatchItem, FoleyEngine
from foley_server.app import load_engine
from foley_server.config import EngineConfig, Limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from .test_engine_api import _spec, _wait_state


class GroupRecordingEngine(FoleyEngine):
    """The real engine, noting the seeds of every group of jobs the worker hands it."""

    groups: list[list[int]]

    def generate_batch(self, items: Sequence[BatchItem], max_batch: int = 8) -> list:
        self.groups.append([item.request.seed for item in items])
        return super().generate_batch(items, max_batch)


def _recording(config: EngineConfig) -> GroupRecordingEngine:
    engine = GroupRecordingEngine(load_engine(config).pipeline)
    engine.groups = []
    return engine


def _audio(events: list[pb.JobEvent]) -> np.ndarray:
    data = b"".join(event.audio.data for event in events if event.WhichOneof("kind") == "audio")
    return np.frombuffer(data, dtype="<f4")


def test_compatible_queued_jobs_run_as_one_batch(tmp_path: Path, demo_material) -> None:
    server = ServerThread(tmp_path / "engine.sock", _recording, limits=Limits(max_batch=4)).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.EngineStub(channel)
            busy = stub.SubmitJob(_spec(demo_material.video, steps=40, seed=1)).job_id
            _wait_state(stub, busy, pb.JOB_STATE_RUNNING)
            # Queued behind it: two that share settings, one with other steps, one more that shares.
            ids = [
                stub.SubmitJob(_spec(demo_material.video, seed=seed, steps=steps)).job_id
                for seed, steps in ((2, 2), (3, 2), (4, 3), (5, 2))
            ]
            results = {job_id: list(stub.WatchJob(pb.JobRef(job_id=job_id))) for job_id in [busy, *ids]}
        assert server.server.servicer.engine.groups == [[1], [2, 3, 5], [4]]
        for events in results.values():
            assert events[-1].state == pb.JOB_STATE_COMPLETED
        # A job's audio does not depend on the company it ran in.
        with grpc.insecure_channel(server.address) as channel:
            alone = list(pb_grpc.EngineStub(channel).Generate(_spec(demo_material.video, seed=3, steps=2)))
        np.testing.assert_allclose(_audio(results[ids[1]]), _audio(alone), atol=2e-3)
    finally:
        server.stop()


def test_the_cpu_default_runs_one_job_at_a_time(tmp_path: Path) -> None:
    assert EngineConfig(socket=tmp_path / "s").max_batch == 1
    assert EngineConfig(socket=tmp_path / "s", device="cuda:0").max_batch == 8
    assert EngineConfig(socket=tmp_path / "s", device="cuda", limits=Limits(max_batch=2)).max_batch == 2
