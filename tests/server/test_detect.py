"""Detect and video cues against a real server on a real Unix socket, with the tiny model's event detector."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import grpc
import pytest

from foley_engine.engine import BatchItem, FoleyEngine
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.request import Detection, DetectionRequest, GenerationRequest, TimeMap
from foley_server.config import Limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from ..engine.engine_testing import fresh_pipeline, write_video
from .conftest import serving
from .test_engine_api import _frames, _spec, _violations, _wait_state

LIMITS = Limits(max_clip_ms=3000, max_video_frames=48, max_queue=2)


class NotingEngine(FoleyEngine):
    """The real engine, noting in order what it is asked to do; with `gate` set to an unset Event,
    its next generation waits for it (after setting `waiting`)."""

    def __init__(self, pipeline: RhythmicFoleyPipeline) -> None:
        super().__init__(pipeline)
        self.log: list[str] = []
        self.requests: list[GenerationRequest] = []
        self.gate: threading.Event | None = None
        self.waiting = threading.Event()
        self.hold_detection = False
        self.detecting, self.saw_stop = threading.Event(), threading.Event()

    def detect(self, request: DetectionRequest, stopped: Callable[[], bool] | None = None) -> Detection:
        self.log.append("detect")
        if self.hold_detection and stopped is not None:
            # Stands for a long clip: runs until its caller is gone (or 30 s), noting that it saw it.
            self.detecting.set()
            deadline = time.monotonic() + 30
            while not stopped() and time.monotonic() < deadline:
                time.sleep(0.01)
            if stopped():
                self.saw_stop.set()
        return super().detect(request, stopped)

    def generate_batch(self, items: Sequence[BatchItem], max_batch: int = 8) -> list:
        self.log.extend(f"generate {item.request.seed}" for item in items)
        self.requests.extend(item.request for item in items)
        if self.gate is not None:
            self.waiting.set()
            self.gate.wait(60)
        return super().generate_batch(items, max_batch)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_pipeline: RhythmicFoleyPipeline, media_root: Path
) -> Iterator[ServerThread]:
    socket = tmp_path_factory.mktemp("detect") / "engine.sock"
    server = ServerThread(socket, serving(tiny_pipeline, NotingEngine), media_roots=(media_root,), limits=LIMITS)
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def blind_server(tmp_path_factory: pytest.TempPathFactory, media_root: Path) -> Iterator[ServerThread]:
    """The same kind of tiny model without an event detector."""
    pipeline = fresh_pipeline(vae_levels=3, vae_attention=False, griffin_lim_iterations=1)
    pipeline.register_modules(event_detector=None)
    socket = tmp_path_factory.mktemp("blind") / "engine.sock"
    server = ServerThread(socket, serving(pipeline, NotingEngine), media_roots=(media_root,), limits=LIMITS)
    yield server.start()
    server.stop()


@pytest.fixture
def engine(server: ServerThread) -> NotingEngine:
    noting = server.server.servicer.engine
    noting.log.clear()
    noting.requests.clear()
    noting.gate = None
    noting.hold_detection = False
    noting.detecting.clear()
    noting.saw_stop.clear()
    return noting


@contextlib.contextmanager
def _busy_device(stub: pb_grpc.EngineStub, engine: NotingEngine, video: Path) -> Iterator[str]:
    """A generation job (seed 1) holding the device until the block ends; yields its job id."""
    engine.gate, engine.waiting = threading.Event(), threading.Event()
    try:
        running = stub.SubmitJob(_spec(video, duration_frames=48, steps=1, seed=1)).job_id
        assert engine.waiting.wait(30)
        yield running
    finally:
        engine.gate.set()


def _request(video: Path, start: int = 0, frames: int = 48, speed: tuple[int, int] = (1, 1)) -> pb.DetectRequest:
    return pb.DetectRequest(
        video_path=str(video),
        window=pb.Window(media_start=_frames(start), duration=_frames(frames), speed=pb.Ratio(num=speed[0], den=speed[1])),
        client_tag="shot 1",
    )


def _seconds(time: pb.RationalTime) -> Fraction:
    return Fraction(time.value * time.rate_den, time.rate_num)


def test_get_info_says_whether_the_model_can_detect(stub: pb_grpc.EngineStub, blind_server: ServerThread) -> None:
    assert stub.GetInfo(pb.GetInfoRequest()).event_detector is True
    with grpc.insecure_channel(blind_server.address) as channel:
        assert pb_grpc.EngineStub(channel).GetInfo(pb.GetInfoRequest()).event_detector is False


@pytest.mark.parametrize(("start", "frames", "speed"), [(0, 48, (1, 1)), (6, 30, (1, 1)), (47, 40, (-1, 1)), (4, 20, (2, 1))])
def test_detect_answers_what_the_engine_finds_at_exact_frame_times(
    stub: pb_grpc.EngineStub, engine: NotingEngine, small_video: Path, start: int, frames: int, speed: tuple[int, int]
) -> None:
    request = _request(small_video, start, frames, speed)
    expected = engine.detect(
        DetectionRequest(small_video, TimeMap(Fraction(start, 24), Fraction(frames, 24), Fraction(*speed)))
    )

    answer = stub.Detect(request)

    assert (answer.fps.num, answer.fps.den) == (24, 1)
    assert answer.model_name == engine.info().name
    assert expected.onsets, "the tiny detector finds onsets in the index pictures"
    assert [(_seconds(o.time), o.label) for o in answer.onsets] == [(o.time, o.label) for o in expected.onsets]
    assert [o.confidence for o in answer.onsets] == pytest.approx([o.confidence for o in expected.onsets])
    assert all(0 <= o.confidence <= 1 and (_seconds(o.time) * 24).denominator == 1 for o in answer.onsets)
    assert [(_seconds(e.start), _seconds(e.end), e.label) for e in answer.events] == [
        (e.start, e.end, e.label) for e in expected.events
    ]


def test_detect_reads_an_uploaded_video(stub: pb_grpc.EngineStub, small_video: Path) -> None:
    data = small_video.read_bytes()
    receipt = stub.UploadVideo(iter([pb.UploadChunk(filename="small.mp4", data=data)]))
    assert receipt.sha256 == hashlib.sha256(data).hexdigest()
    by_path = stub.Detect(_request(small_video))
    uploaded = _request(small_video)
    uploaded.upload_id = receipt.upload_id

    assert stub.Detect(uploaded) == by_path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.ClearField("window"), "window"),
        (lambda r: r.window.ClearField("duration"), "window.duration"),
        (lambda r: r.window.duration.CopyFrom(_frames(0)), "window.duration"),
        (lambda r: r.window.duration.CopyFrom(_frames(73)), "window.duration"),  # over max_clip_ms
        (lambda r: r.window.media_start.CopyFrom(_frames(-1)), "window.media_start"),
        (lambda r: r.window.speed.CopyFrom(pb.Ratio(num=1, den=0)), "window.speed.den"),
        (lambda r: r.window.speed.CopyFrom(pb.Ratio(num=-1, den=1)), "window.speed"),  # back past the start
        (lambda r: r.ClearField("video_path"), "video"),
        (lambda r: setattr(r, "video_path", "relative/small.mp4"), "video_path"),
        (lambda r: setattr(r, "video_path", "/etc/hostname"), "video_path"),  # outside the media roots
        (lambda r: setattr(r, "upload_id", "nope"), "upload_id"),
    ],
)
def test_a_malformed_detect_request_names_its_field(stub: pb_grpc.EngineStub, small_video: Path, change, field: str) -> None:
    request = _request(small_video)
    change(request)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Detect(request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(refused.value) == [field]


def test_a_video_over_the_frame_limit_is_refused_before_decoding(
    stub: pb_grpc.EngineStub, engine: NotingEngine, media_root: Path
) -> None:
    long = write_video(media_root / "long-detect.mp4", 49, 24)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Detect(_request(long))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "49 frames" in refused.value.details()
    assert engine.log == []


def test_a_file_that_is_not_a_video_is_refused(stub: pb_grpc.EngineStub, media_root: Path) -> None:
    notes = media_root / "notes-detect.mp4"
    notes.write_text("not a video")
    with pytest.raises(grpc.RpcError) as refused:
        stub.Detect(_request(notes))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "notes-detect.mp4" in refused.value.details()


def test_a_model_without_a_detector_fails_detect_and_video_cues_saying_so(
    blind_server: ServerThread, small_video: Path
) -> None:
    with grpc.insecure_channel(blind_server.address) as channel:
        stub = pb_grpc.EngineStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Detect(_request(small_video))
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "no event detector" in refused.value.details()
        with pytest.raises(grpc.RpcError) as refused:
            stub.SubmitJob(_spec(small_video, duration_frames=48, video_cues=True))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert _violations(refused.value) == ["video_cues"]
    assert blind_server.server.servicer.engine.requests == []


def test_video_cues_and_cue_confidences_reach_the_engine(
    stub: pb_grpc.EngineStub, engine: NotingEngine, small_video: Path
) -> None:
    spec = _spec(small_video, duration_frames=48, steps=1, video_cues=True)
    spec.cues[0].confidence = 0.25

    events = list(stub.Generate(spec))

    assert events[-1].state == pb.JOB_STATE_COMPLETED
    stages = {e.progress.stage for e in events if e.WhichOneof("kind") == "progress"}
    assert "detection" in stages
    (request,) = engine.requests
    assert request.video_cues is True
    # Unset is an editor's marker: certain.
    assert [(cue.time, cue.confidence) for cue in request.cues] == [(Fraction(20, 24), 0.25), (Fraction(44, 24), 1.0)]
    engine.requests.clear()
    list(stub.Generate(_spec(small_video, duration_frames=48, steps=1)))
    assert engine.requests[0].video_cues is False


@pytest.mark.parametrize("confidence", [1.5, -0.1, float("nan")])
def test_a_cue_confidence_outside_0_to_1_is_refused(stub: pb_grpc.EngineStub, small_video: Path, confidence: float) -> None:
    spec = _spec(small_video, duration_frames=48)
    spec.cues[1].confidence = confidence
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitJob(spec)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(refused.value) == ["cues[1].confidence"]


def test_a_detection_waits_for_the_running_job_and_goes_before_the_queued_ones(
    stub: pb_grpc.EngineStub, engine: NotingEngine, small_video: Path
) -> None:
    with _busy_device(stub, engine, small_video) as running:
        queued = stub.SubmitJob(_spec(small_video, duration_frames=48, steps=1, seed=2)).job_id
        detection = stub.Detect.future(_request(small_video))
        time.sleep(0.5)
        # The device is busy with the running job: the detection has not run.
        assert not detection.done() and engine.log == ["generate 1"]
    assert detection.result(timeout=30).onsets
    _wait_state(stub, queued, pb.JOB_STATE_COMPLETED)
    assert stub.GetJob(pb.JobRef(job_id=running)).state == pb.JOB_STATE_COMPLETED
    assert engine.log == ["generate 1", "detect", "generate 2"]


def test_a_detection_whose_caller_left_before_its_turn_never_runs(
    stub: pb_grpc.EngineStub, engine: NotingEngine, small_video: Path
) -> None:
    with _busy_device(stub, engine, small_video) as running:
        detection = stub.Detect.future(_request(small_video))
        time.sleep(0.3)
        detection.cancel()
        time.sleep(0.3)
    _wait_state(stub, running, pb.JOB_STATE_COMPLETED)
    # The device is free again, and the abandoned detection was skipped.
    assert stub.Detect(_request(small_video)).onsets
    assert engine.log == ["generate 1", "detect"]


def test_a_detection_whose_caller_leaves_while_it_runs_stops_and_frees_the_device(
    stub: pb_grpc.EngineStub, engine: NotingEngine, small_video: Path
) -> None:
    engine.hold_detection = True
    detection = stub.Detect.future(_request(small_video))
    assert engine.detecting.wait(30)
    detection.cancel()
    assert engine.saw_stop.wait(30)
    engine.hold_detection = False
    assert stub.Detect(_request(small_video)).onsets
    assert engine.log == ["detect", "detect"]


def test_detections_beyond_the_queue_limit_are_told_to_retry(
    stub: pb_grpc.EngineStub, engine: NotingEngine, small_video: Path
) -> None:
    with _busy_device(stub, engine, small_video):
        waiting = [stub.Detect.future(_request(small_video)) for _ in range(LIMITS.max_queue)]
        time.sleep(0.5)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Detect(_request(small_video))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert all(future.result(timeout=30).onsets for future in waiting)
