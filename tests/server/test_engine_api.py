"""The engine's gRPC API against a real server on a real Unix socket."""

from __future__ import annotations

import hashlib
import threading
import time
from fractions import Fraction
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from foley_engine.engine import FoleyEngine
from foley_server.app import load_engine
from foley_server.config import EngineConfig
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread


def _seconds(value: Fraction) -> pb.RationalTime:
    return pb.RationalTime(value=value.numerator, rate_num=value.denominator, rate_den=1)


def _frames(frame: int, rate: int = 24) -> pb.RationalTime:
    return pb.RationalTime(value=frame, rate_num=rate, rate_den=1)


def _spec(video: Path, duration_frames: int = 72, steps: int = 2, **fields: object) -> pb.JobSpec:
    spec = pb.JobSpec(
        video_path=str(video),
        window=pb.Window(media_start=_frames(0), duration=_frames(duration_frames)),
        cues=[pb.OnsetCue(time=_frames(20), label="impact"), pb.OnsetCue(time=_frames(44))],
        steps=steps,
        seed=7,
        sample_rate=48_000,
    )
    for name, value in fields.items():
        setattr(spec, name, value)
    return spec


def _violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    fields = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [violation.field for violation in bad.field_violations]
    return fields


def _wait_state(stub: pb_grpc.EngineStub, job_id: str, state: int, timeout: float = 60) -> pb.JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = stub.GetJob(pb.JobRef(job_id=job_id))
        if status.state == state:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached state {pb.JobState.Name(state)}: {status}")


def test_health_goes_from_not_serving_to_serving(tmp_path: Path) -> None:
    release = threading.Event()

    def gated_load(config: EngineConfig) -> FoleyEngine:
        release.wait(60)
        return load_engine(config)

    server = ServerThread(tmp_path / "gated.sock", load_engine=gated_load).start(wait_loaded=False)
    try:
        with grpc.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest(service="foley.v1.Engine")
            assert health.Check(request).status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.RpcError) as refused:
                pb_grpc.EngineStub(channel).GetInfo(pb.GetInfoRequest())
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            release.set()
            assert server.loaded.wait(120)
            assert health.Check(request).status == health_pb2.HealthCheckResponse.SERVING
            assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        release.set()
        server.stop()


def test_socket_is_private(engine_server: ServerThread) -> None:
    assert engine_server.config.socket.stat().st_mode & 0o777 == 0o600


def test_get_info_reports_model_adapters_and_limits(channel: grpc.Channel) -> None:
    info = pb_grpc.EngineStub(channel).GetInfo(pb.GetInfoRequest())
    # The bundled default checkpoint: trained, with its temporal adapter; the semantic one is not yet.
    assert info.model_name == "rhythmic-foley-small"
    assert info.model_trained is True
    assert {adapter.name: adapter.trained for adapter in info.adapters} == {"temporal": True, "semantic": False}
    assert info.device == "cpu"
    assert info.model_sample_rate == 16_000 and info.window_samples == 131_072
    assert info.limits.max_cues > 0 and info.limits.max_clip_ms > 0 and info.limits.max_upload_bytes > 0


def test_reflection_lists_engine_and_health(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {service.name for reply in replies for service in reply.list_services_response.service}
    assert {"foley.v1.Engine", "grpc.health.v1.Health"} <= names


def test_generate_streams_progress_then_the_complete_audio(channel: grpc.Channel, demo_material) -> None:
    # 10 s at 48 kHz: two model windows and about 1.9 MB of audio, so several chunks.
    events = list(pb_grpc.EngineStub(channel).Generate(_spec(demo_material.video, duration_frames=240)))
    kinds = [event.WhichOneof("kind") for event in events]
    assert events[0].snapshot and kinds[0] == "queued"
    assert all(not event.snapshot for event in events[1:])
    diffusion = [e.progress for e in events if e.WhichOneof("kind") == "progress" and e.progress.stage == "diffusion"]
    assert diffusion and diffusion[-1].step == diffusion[-1].total == 2
    assert {p.window for p in diffusion} == {0, 1} and diffusion[0].windows == 2
    done = kinds.index("completed")
    assert all(kind in ("queued", "started", "progress") for kind in kinds[:done])
    assert set(kinds[done + 1 :]) == {"audio"} and len(kinds) - done - 1 >= 7
    info = events[done].completed.audio
    data = b"".join(event.audio.data for event in events[done + 1 :])
    assert all(event.ByteSize() <= 1024 * 1024 for event in events)
    assert info.sample_rate == 48_000 and info.channels == 1
    assert info.sample_count == 10 * 48_000 and info.byte_count == len(data) == 4 * info.sample_count
    assert hashlib.sha256(data).hexdigest() == info.sha256
    samples = np.frombuffer(data, "<f4")
    assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0
    assert events[done].completed.seed == 7


def test_a_finished_job_can_be_watched_again(channel: grpc.Channel, demo_material) -> None:
    stub = pb_grpc.EngineStub(channel)
    job_id = stub.SubmitJob(_spec(demo_material.video)).job_id
    first = list(stub.WatchJob(pb.JobRef(job_id=job_id)))
    again = list(stub.WatchJob(pb.JobRef(job_id=job_id)))
    assert again[0].snapshot and again[0].WhichOneof("kind") == "completed"
    assert b"".join(e.audio.data for e in again) == b"".join(e.audio.data for e in first)
    assert stub.GetJob(pb.JobRef(job_id=job_id)).state == pb.JOB_STATE_COMPLETED


def test_cancel_while_queued_and_while_running(channel: grpc.Channel, demo_material) -> None:
    stub = pb_grpc.EngineStub(channel)
    running = stub.SubmitJob(_spec(demo_material.video, duration_frames=190, steps=150)).job_id
    queued = stub.SubmitJob(_spec(demo_material.video)).job_id
    _wait_state(stub, running, pb.JOB_STATE_RUNNING)
    assert stub.GetJob(pb.JobRef(job_id=queued)).state == pb.JOB_STATE_QUEUED
    assert stub.CancelJob(pb.JobRef(job_id=queued)).state == pb.JOB_STATE_CANCELLED
    snapshot = next(iter(stub.WatchJob(pb.JobRef(job_id=queued))))
    assert snapshot.snapshot and snapshot.WhichOneof("kind") == "cancelled"

    watch = stub.WatchJob(pb.JobRef(job_id=running))
    for event in watch:
        if event.WhichOneof("kind") == "progress" and event.progress.stage == "diffusion":
            break
    began = time.monotonic()
    stub.CancelJob(pb.JobRef(job_id=running))
    last = list(watch)[-1]
    assert last.WhichOneof("kind") == "cancelled" and last.state == pb.JOB_STATE_CANCELLED
    assert time.monotonic() - began < 10
    # The worker is free again: a new job completes.
    events = list(stub.Generate(_spec(demo_material.video)))
    assert any(e.WhichOneof("kind") == "completed" for e in events)


def test_a_client_that_disconnects_from_generate_cancels_its_job(channel: grpc.Channel, demo_material) -> None:
    stub = pb_grpc.EngineStub(channel)
    call = stub.Generate(_spec(demo_material.video, duration_frames=190, steps=150))
    job_id = ""
    for event in call:
        job_id = event.job_id
        if event.WhichOneof("kind") == "progress":
            break
    call.cancel()
    assert _wait_state(stub, job_id, pb.JOB_STATE_CANCELLED, timeout=20).state == pb.JOB_STATE_CANCELLED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.ClearField("window"), "window"),
        (lambda s: s.window.ClearField("duration"), "window.duration"),
        (lambda s: s.window.duration.CopyFrom(pb.RationalTime(value=10, rate_num=0, rate_den=1)), "window.duration"),
        (lambda s: s.window.duration.CopyFrom(_frames(0)), "window.duration"),
        (lambda s: s.cues[1].time.CopyFrom(_frames(500)), "cues[1].time"),
        (lambda s: s.spans.append(pb.EventSpan(start=_frames(30), end=_frames(10))), "spans[0]"),
        (lambda s: s.ClearField("video_path"), "video"),
        (lambda s: setattr(s, "video_path", "/no/such/video.mp4"), "video_path"),
        (lambda s: setattr(s, "video_path", "relative/video.mp4"), "video_path"),
        (lambda s: setattr(s, "steps", 100_000), "steps"),
        (lambda s: setattr(s, "upload_id", "nope"), "upload_id"),
        (lambda s: setattr(s, "temporal_strength", float("nan")), "temporal_strength"),
        (lambda s: setattr(s, "snap_reach_ms", 10_000.0), "snap_reach_ms"),
    ],
)
def test_a_malformed_request_names_its_field(channel: grpc.Channel, demo_material, change, field: str) -> None:
    spec = _spec(demo_material.video)
    change(spec)
    for call in (pb_grpc.EngineStub(channel).SubmitJob, lambda s: list(pb_grpc.EngineStub(channel).Generate(s))):
        with pytest.raises(grpc.RpcError) as error:
            call(spec)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in error.value.details()
        assert _violations(error.value) == [field]


def test_a_file_that_is_not_a_video_is_refused_at_submission(channel: grpc.Channel, tmp_path: Path) -> None:
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video")
    with pytest.raises(grpc.RpcError) as refused:
        list(pb_grpc.EngineStub(channel).Generate(_spec(not_video)))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "notes.mp4" in refused.value.details()


def test_unknown_jobs_are_not_found(channel: grpc.Channel) -> None:
    stub = pb_grpc.EngineStub(channel)
    for call in (stub.GetJob, stub.CancelJob, lambda ref: list(stub.WatchJob(ref))):
        with pytest.raises(grpc.RpcError) as error:
            call(pb.JobRef(job_id="no-such-job"))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_uploaded_video_is_generated_on(channel: grpc.Channel, demo_material) -> None:
    stub = pb_grpc.EngineStub(channel)
    data = demo_material.video.read_bytes()
    chunks = [pb.UploadChunk(filename="ball.mp4", data=data[i : i + 64 * 1024]) for i in range(0, len(data), 64 * 1024)]
    receipt = stub.UploadVideo(iter(chunks))
    assert receipt.size_bytes == len(data) and receipt.sha256 == hashlib.sha256(data).hexdigest()
    spec = _spec(demo_material.video)
    spec.upload_id = receipt.upload_id
    events = list(stub.Generate(spec))
    assert events[-1].WhichOneof("kind") == "audio"
