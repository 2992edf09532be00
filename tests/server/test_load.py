"""Sixteen clients at once against one engine with a small queue: every job completes,
a full queue says when to retry, and memory does not grow with the jobs run."""

from __future__ import annotations

import gc
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc

from foley_server.config import Limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from .conftest import retry_delay_s, serving
from .test_engine_api import _spec

CLIENTS = 16
JOBS_EACH = 20
WARM_UP_JOBS = 20
# Fewer places (running and queued) than clients, so that some submissions always find the queue full.
LIMITS = Limits(max_queue=6, max_batch=8)


@dataclass
class Tally:
    """What one client saw."""

    completed: int = 0
    rejected: int = 0
    waited_s: float = 0.0


def rss_bytes() -> int:
    """This process's resident memory; the engine runs in it, in a thread."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def client(address: str, spec: pb.JobSpec, jobs: int) -> Tally:
    """Run `jobs` jobs one after another, retrying each after the delay a full queue asks for."""
    tally = Tally()
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.EngineStub(channel)
        while tally.completed < jobs:
            try:
                events = list(stub.Generate(spec, timeout=120))
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
                delay = retry_delay_s(error)
                assert delay is not None and delay > 0
                tally.rejected += 1
                tally.waited_s += delay
                time.sleep(delay)
                continue
            completed = next(event.completed for event in events if event.WhichOneof("kind") == "completed")
            audio = b"".join(event.audio.data for event in events if event.WhichOneof("kind") == "audio")
            assert hashlib.sha256(audio).hexdigest() == completed.audio.sha256
            tally.completed += 1
    return tally


def run_clients(address: str, spec: pb.JobSpec, jobs_each: list[int]) -> list[Tally]:
    with ThreadPoolExecutor(len(jobs_each)) as pool:
        return list(pool.map(lambda jobs: client(address, spec, jobs), jobs_each))


def test_sixteen_clients_get_every_job_done_and_memory_stays_flat(
    tmp_path: Path, tiny_pipeline, small_video: Path, media_root: Path, one_torch_thread: None
) -> None:
    server = ServerThread(
        tmp_path / "engine.sock", serving(tiny_pipeline), media_roots=(media_root,), limits=LIMITS
    ).start()
    # Half a second, one step, no cues: the smallest job the model runs, so the queue is the bottleneck.
    spec = _spec(small_video, duration_frames=12, steps=1, sample_rate=0)
    spec.ClearField("cues")
    try:
        warm_up = [WARM_UP_JOBS // CLIENTS + (i < WARM_UP_JOBS % CLIENTS) for i in range(CLIENTS)]
        run_clients(server.address, spec, warm_up)
        gc.collect()
        rss_before = rss_bytes()
        began = time.monotonic()
        tallies = run_clients(server.address, spec, [JOBS_EACH] * CLIENTS)
        wall_s = time.monotonic() - began
        gc.collect()
        rss_after = rss_bytes()
        held = server.server.jobs.held
    finally:
        server.stop()
    completed = sum(t.completed for t in tallies)
    rejected = sum(t.rejected for t in tallies)
    print(
        f"\nload: {completed} jobs from {CLIENTS} clients in {wall_s:.1f} s ({completed / wall_s:.1f} jobs/s); "
        f"{rejected} submissions refused with RESOURCE_EXHAUSTED and retried after "
        f"{sum(t.waited_s for t in tallies) / max(rejected, 1):.2f} s on average; {held} jobs held at the end; "
        f"RSS {rss_before / 2**20:.0f} MiB after the first {WARM_UP_JOBS} jobs, {rss_after / 2**20:.0f} MiB after all"
    )
    assert completed == CLIENTS * JOBS_EACH
    assert rejected > 0, "the queue never filled: the test did not exercise RESOURCE_EXHAUSTED"
    assert held <= server.config.keep_finished_jobs
    assert rss_after <= 1.10 * rss_before
