"""Configured limits on a real engine: reported by GetInfo, enforced before anything is decoded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest

from foley_engine.engine import BatchItem, FoleyEngine
from foley_server.config import Limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from ..engine.engine_testing import write_video
from .conftest import retry_delay_s, serving
from .test_engine_api import _frames, _spec, _violations

# small_video is 64×64 pixels and 48 frames: exactly at these limits.
LIMITS = Limits(
    max_clip_ms=3000,
    max_cues=3,
    max_spans=2,
    max_prompt_chars=20,
    max_upload_bytes=200_000,
    max_queue=2,
    max_steps=50,
    max_video_pixels=64 * 64,
    max_video_frames=48,
)


class CountingEngine(FoleyEngine):
    """The real engine, counting the jobs it is handed."""

    jobs_seen = 0

    def generate_batch(self, items: Sequence[BatchItem], max_batch: int = 8) -> list:
        type(self).jobs_seen += len(items)
        return super().generate_batch(items, max_batch)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_pipeline, media_root: Path) -> Iterator[ServerThread]:
    socket = tmp_path_factory.mktemp("limits") / "engine.sock"
    server = ServerThread(socket, serving(tiny_pipeline, CountingEngine), media_roots=(media_root,), limits=LIMITS)
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def oversized(media_root: Path) -> dict[str, Path]:
    """Videos just over LIMITS: one pixel column too wide, one frame too many (with and without
    a frame count in the header: Matroska gives only a duration and a rate)."""
    return {
        "wide": write_video(media_root / "wide.mp4", 24, 24, size=(64, 72)),
        "long": write_video(media_root / "long.mp4", 49, 24),
        "long-mkv": write_video(media_root / "long.mkv", 49, 24, codec="mpeg4"),
    }


def test_get_info_reports_the_configured_limits(stub: pb_grpc.EngineStub) -> None:
    reported = stub.GetInfo(pb.GetInfoRequest()).limits
    for name in (field.name for field in pb.Limits.DESCRIPTOR.fields):
        assert getattr(reported, name) == getattr(LIMITS, name), name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.window.duration.CopyFrom(_frames(73)), "window.duration"),
        (lambda s: s.cues.extend([pb.OnsetCue(time=_frames(k)) for k in range(2)]), "cues"),
        (lambda s: s.spans.extend([pb.EventSpan(start=_frames(k), end=_frames(k + 1)) for k in range(3)]), "spans"),
        (lambda s: setattr(s, "prompt", "x" * 21), "prompt"),
        (lambda s: setattr(s, "steps", 51), "steps"),
    ],
)
def test_request_limits_are_enforced(stub: pb_grpc.EngineStub, small_video: Path, change, field: str) -> None:
    spec = _spec(small_video, duration_frames=48)
    change(spec)
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitJob(spec, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(refused.value) == [field]


@pytest.mark.parametrize(
    ("name", "says"), [("wide", "72×64 pixels"), ("long", "49 frames"), ("long-mkv", "49 frames")]
)
def test_a_video_over_the_size_limits_is_refused_before_it_is_decoded(
    stub: pb_grpc.EngineStub, server: ServerThread, oversized: dict[str, Path], name: str, says: str
) -> None:
    seen = CountingEngine.jobs_seen
    held = server.server.jobs.held
    for call in (stub.SubmitJob, lambda spec, timeout: list(stub.Generate(spec, timeout=timeout))):
        with pytest.raises(grpc.RpcError) as refused:
            call(_spec(oversized[name], duration_frames=48), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert _violations(refused.value) == ["video_path"]
        assert says in refused.value.details()
    # Refused at submission: no job was made and the engine never saw the video.
    assert CountingEngine.jobs_seen == seen and server.server.jobs.held == held


def test_a_video_at_the_limits_is_accepted(stub: pb_grpc.EngineStub, small_video: Path) -> None:
    events = list(stub.Generate(_spec(small_video, duration_frames=48, steps=1), timeout=60))
    assert events[-1].WhichOneof("kind") == "audio"


def test_uploads_are_held_to_the_size_and_video_limits(stub: pb_grpc.EngineStub, oversized: dict[str, Path]) -> None:
    too_big = [pb.UploadChunk(filename="big.mp4", data=bytes(100_000)) for _ in range(3)]
    with pytest.raises(grpc.RpcError) as refused:
        stub.UploadVideo(iter(too_big), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _violations(refused.value) == ["data"]

    receipt = stub.UploadVideo(iter([pb.UploadChunk(filename="wide.mp4", data=oversized["wide"].read_bytes())]))
    spec = _spec(oversized["wide"], duration_frames=48)
    spec.upload_id = receipt.upload_id
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitJob(spec, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _violations(refused.value) == ["upload_id"]


def test_a_full_queue_says_when_to_retry(stub: pb_grpc.EngineStub, small_video: Path) -> None:
    # One job runs (50 steps: about a second here) while the next two fill the queue.
    long_job = _spec(small_video, duration_frames=48, steps=50)
    accepted: list[str] = []
    with pytest.raises(grpc.RpcError) as refused:
        for _ in range(LIMITS.max_queue + 4):
            accepted.append(stub.SubmitJob(long_job, timeout=10).job_id)
    try:
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # The running job and a full queue (the worker may not have taken the first job yet).
        assert LIMITS.max_queue <= len(accepted) <= LIMITS.max_queue + 1
        delay = retry_delay_s(refused.value)
        assert delay is not None and 0 < delay <= 30
        assert "queue is full" in refused.value.details()
    finally:
        for job_id in accepted:
            stub.CancelJob(pb.JobRef(job_id=job_id))
    # Cancelled jobs leave the queue at once: the engine takes jobs again.
    stub.CancelJob(pb.JobRef(job_id=stub.SubmitJob(long_job, timeout=10).job_id))
