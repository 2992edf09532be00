"""Random JobSpecs against a real engine: each is accepted or refused as invalid, never
anything else, and no call hangs. Oversized messages are refused and the engine serves on."""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foley_server.config import Limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from .conftest import retry_delay_s, serving

# Low caps, so that random lists and texts cross them often; a small queue, so that it fills.
LIMITS = Limits(max_clip_ms=60_000, max_cues=6, max_spans=4, max_prompt_chars=40, max_queue=4, max_steps=50)
CALL_TIMEOUT_S = 10
ACCEPTABLE = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}

int64 = st.integers(-(2**63), 2**63 - 1)
uint32 = st.integers(0, 2**32 - 1)
uint64 = st.integers(0, 2**64 - 1)
# float32 fields: NaN, infinities, negatives, subnormals and huge values all come up.
float32 = st.floats(width=32)


def times() -> st.SearchStrategy[pb.RationalTime]:
    """Mostly frame counts at editors' rates; sometimes any integers, zero rates included."""
    plausible = st.builds(
        pb.RationalTime,
        value=st.integers(-10, 2000),
        rate_num=st.sampled_from([24, 25, 30, 24000, 30000, 48000]),
        rate_den=st.sampled_from([1, 1001]),
    )
    return st.one_of(plausible, st.builds(pb.RationalTime, value=int64, rate_num=uint32, rate_den=uint32))


def windows() -> st.SearchStrategy[pb.Window]:
    speeds = st.one_of(
        st.builds(pb.Ratio, num=st.integers(-3, 3), den=st.integers(0, 3)), st.builds(pb.Ratio, num=int64, den=int64)
    )
    return st.builds(
        pb.Window, media_start=st.none() | times(), duration=st.none() | times(), speed=st.none() | speeds
    )


def labels() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["", "footstep", "glass break"]), st.text(max_size=300))


def job_specs(videos: list[str]) -> st.SearchStrategy[pb.JobSpec]:
    """Half what a client would send (mostly accepted), half anything at all."""
    return st.one_of(plausible_specs(videos[0]), wild_specs(videos))


@st.composite
def plausible_specs(draw: st.DrawFn, video: str) -> pb.JobSpec:
    """Specs as an editor's client makes them, at and inside the limits: mostly valid."""
    duration = draw(st.integers(1, 40 * 24))
    frames = st.integers(0, duration)
    spans = st.tuples(frames, frames).filter(lambda span: span[0] < span[1])
    speeds = [None, pb.Ratio(num=1, den=1), pb.Ratio(num=0, den=1), pb.Ratio(num=2, den=1), pb.Ratio(num=-1, den=4)]
    label = st.text(max_size=30)
    return _job_spec(
        video=("video_path", video),
        window=pb.Window(
            media_start=_frame(draw(st.integers(0, 48))), duration=_frame(duration), speed=draw(st.sampled_from(speeds))
        ),
        cues=[pb.OnsetCue(time=_frame(t), label=draw(label)) for t in draw(st.lists(frames, max_size=LIMITS.max_cues))],
        spans=[
            pb.EventSpan(start=_frame(a), end=_frame(b), label=draw(label))
            for a, b in draw(st.lists(spans, max_size=LIMITS.max_spans))
        ],
        prompt=draw(st.text(max_size=LIMITS.max_prompt_chars)),
        semantic_strength=draw(st.none() | st.floats(0, 2, width=32)),
        temporal_strength=draw(st.none() | st.floats(0, 2, width=32)),
        seed=draw(st.none() | uint64),
        steps=draw(st.integers(0, LIMITS.max_steps)),
        guidance_scale=draw(st.none() | st.floats(0, 30, width=32)),
        sample_rate=draw(st.sampled_from([0, 8_000, 16_000, 44_100, 48_000, 192_000])),
        client_tag=draw(st.text(max_size=20)),
        snap=draw(st.booleans()),
        snap_reach_ms=draw(st.none() | st.floats(1, 500, width=32)),
    )


@st.composite
def runnable_specs(draw: st.DrawFn, video: str) -> pb.JobSpec:
    """One-window, one-step jobs whose media times reach far past the video's end, or freeze, or crawl."""
    spec = draw(plausible_specs(video))
    duration = draw(st.integers(1, 8 * 24))
    spec.window.duration.CopyFrom(_frame(duration))
    spec.window.media_start.CopyFrom(_frame(draw(st.one_of(st.integers(0, 100), st.integers(0, 2**62)))))
    spec.window.speed.CopyFrom(draw(st.builds(pb.Ratio, num=st.integers(0, 10**12), den=st.integers(1, 10**12))))
    spec.ClearField("cues")
    spec.cues.extend(pb.OnsetCue(time=_frame(t)) for t in draw(st.lists(st.integers(0, duration), max_size=3)))
    spec.ClearField("spans")
    spec.steps = 1
    return spec


def _frame(index: int) -> pb.RationalTime:
    return pb.RationalTime(value=index, rate_num=24, rate_den=1)


def wild_specs(videos: list[str]) -> st.SearchStrategy[pb.JobSpec]:
    """JobSpecs from plausible to absurd; the video is a real one, a trap, or any text."""
    return st.builds(
        _job_spec,
        video=st.one_of(
            st.sampled_from(videos).map(lambda path: ("video_path", path)),
            st.text(max_size=60).map(lambda path: ("video_path", path)),
            st.text(max_size=40).map(lambda upload: ("upload_id", upload)),
            st.none(),
        ),
        window=st.none() | windows(),
        cues=st.lists(st.builds(pb.OnsetCue, time=times(), label=labels()), max_size=LIMITS.max_cues + 2),
        spans=st.lists(
            st.builds(pb.EventSpan, start=times(), end=times(), label=labels()), max_size=LIMITS.max_spans + 2
        ),
        prompt=st.text(max_size=LIMITS.max_prompt_chars + 10),
        semantic_strength=st.none() | float32,
        temporal_strength=st.none() | float32,
        seed=st.none() | uint64,
        steps=st.one_of(st.integers(0, 3), uint32),
        guidance_scale=st.none() | float32,
        sample_rate=st.one_of(st.sampled_from([0, 16_000, 44_100, 48_000]), uint32),
        client_tag=st.text(max_size=20),
        snap=st.booleans(),
        snap_reach_ms=st.none() | float32,
    )


def _job_spec(video: tuple[str, str] | None, window: pb.Window | None, **fields: object) -> pb.JobSpec:
    """A JobSpec with unset optional fields left unset (not zero)."""
    spec = pb.JobSpec(**{name: value for name, value in fields.items() if value is not None})
    if video is not None:
        setattr(spec, *video)
    if window is not None:
        spec.window.CopyFrom(window)
    return spec


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_pipeline, media_root: Path) -> Iterator[ServerThread]:
    socket = tmp_path_factory.mktemp("fuzz") / "engine.sock"
    server = ServerThread(socket, serving(tiny_pipeline), media_roots=(media_root,), limits=LIMITS)
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[pb_grpc.EngineStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.EngineStub(channel)


@pytest.fixture(scope="module")
def videos(small_video: Path, media_root: Path) -> list[str]:
    """The real video, and paths that must be refused: traversal, system files, a FIFO, a folder."""
    traps = media_root / "fuzz-traps"
    traps.mkdir()
    os.mkfifo(traps / "fifo.mp4")
    (traps / "notes.mp4").write_text("not a video")
    return [
        str(small_video),
        f"{media_root}/../{media_root.name}/{small_video.name}",
        f"{media_root}/../../../../etc/passwd",
        "relative/clip.mp4",
        "",
        f"{small_video}\x00.txt",
        "/dev/null",
        "/proc/self/environ",
        str(traps / "fifo.mp4"),
        str(traps / "notes.mp4"),
        str(traps),
        str(media_root / "missing.mp4"),
        "/" + "a" * 5000,
    ]


def _send(stub: pb_grpc.EngineStub, spec: pb.JobSpec, generate: bool) -> grpc.StatusCode:
    """Submit (or Generate) once and cancel what was accepted at once, so the worker stays free."""
    if generate:
        call = stub.Generate(spec, timeout=CALL_TIMEOUT_S)
        try:
            next(call)
        finally:
            call.cancel()
        return grpc.StatusCode.OK
    job_id = stub.SubmitJob(spec, timeout=CALL_TIMEOUT_S).job_id
    stub.CancelJob(pb.JobRef(job_id=job_id), timeout=CALL_TIMEOUT_S)
    return grpc.StatusCode.OK


def _outcome(stub: pb_grpc.EngineStub, spec: pb.JobSpec, generate: bool, tally: collections.Counter) -> grpc.StatusCode:
    """The call's status code, after retrying as RetryInfo says while the queue is full."""
    for _ in range(100):
        try:
            return _send(stub, spec, generate)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                return error.code()
            tally["queue full, retried"] += 1
            time.sleep(retry_delay_s(error) or 0.1)
    raise AssertionError("the queue stayed full for 100 retries")


def test_random_job_specs_are_accepted_or_refused_as_invalid(stub: pb_grpc.EngineStub, videos: list[str]) -> None:
    tally: collections.Counter[str] = collections.Counter()

    @settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(spec=job_specs(videos), generate=st.booleans())
    def check(spec: pb.JobSpec, generate: bool) -> None:
        code = _outcome(stub, spec, generate, tally)
        tally[code.name] += 1
        assert code in ACCEPTABLE, f"{code.name} for {spec}"

    began = time.monotonic()
    check()
    calls = sum(tally[code.name] for code in grpc.StatusCode)
    print(f"\nfuzz: {calls} examples in {time.monotonic() - began:.1f} s: {dict(tally)}")
    assert tally["OK"] > 50 and tally["INVALID_ARGUMENT"] > 50


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_accepted_jobs_end_completed_or_invalid_never_in_an_internal_error(
    stub: pb_grpc.EngineStub, small_video: Path, data: st.DataObject
) -> None:
    spec = data.draw(runnable_specs(str(small_video)))
    try:
        events = list(stub.Generate(spec, timeout=60))
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        return
    last = next(event for event in reversed(events) if event.WhichOneof("kind") != "audio")
    if last.state == pb.JOB_STATE_FAILED:
        assert last.failed.code == grpc.StatusCode.INVALID_ARGUMENT.value[0], last.failed.message
    else:
        assert last.state == pb.JOB_STATE_COMPLETED


def test_an_oversized_message_is_refused_and_the_engine_serves_on(stub: pb_grpc.EngineStub, small_video: Path) -> None:
    huge = pb.JobSpec(video_path=str(small_video), prompt="x" * (5 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitJob(huge, timeout=CALL_TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.RpcError) as refused:
        stub.UploadVideo(iter([pb.UploadChunk(data=bytes(5 * 1024 * 1024))]), timeout=CALL_TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stub.GetInfo(pb.GetInfoRequest(), timeout=CALL_TIMEOUT_S).limits.max_queue == LIMITS.max_queue


@st.composite
def detect_requests(draw: st.DrawFn, videos: list[str]) -> pb.DetectRequest:
    """Detect requests with the videos and windows JobSpecs are fuzzed with; half of them plausible."""
    request = pb.DetectRequest(client_tag=draw(labels()))
    video = draw(st.none() | st.just(videos[0]) | st.sampled_from(videos))
    if video is not None:
        if draw(st.sampled_from([True, True, True, False])):
            request.video_path = video
        else:
            request.upload_id = draw(st.sampled_from(["", "nope", video]))
    window = draw(st.one_of(st.none(), windows(), st.builds(
        pb.Window, media_start=st.builds(_frame, st.integers(0, 48)), duration=st.builds(_frame, st.integers(1, 96)),
        speed=st.sampled_from([pb.Ratio(num=1, den=1), pb.Ratio(num=-1, den=2), pb.Ratio(num=0, den=1)]),
    )))
    if window is not None:
        request.window.CopyFrom(window)
    return request


def test_random_detect_requests_are_answered_or_refused_as_invalid(stub: pb_grpc.EngineStub, videos: list[str]) -> None:
    tally: collections.Counter[str] = collections.Counter()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(request=detect_requests(videos))
    def check(request: pb.DetectRequest) -> None:
        try:
            answer = stub.Detect(request, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            tally[error.code().name] += 1
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{error.code().name} for {request}"
            return
        tally["OK"] += 1
        duration = Fraction(request.window.duration.value * request.window.duration.rate_den,
                            request.window.duration.rate_num)
        for onset in answer.onsets:
            assert 0 <= Fraction(onset.time.value * onset.time.rate_den, onset.time.rate_num) < duration

    check()
    assert tally["OK"] > 20 and tally["INVALID_ARGUMENT"] > 20, dict(tally)


@pytest.mark.parametrize("text", ["a" * 6000, "音" * 3000])
def test_a_refusal_that_echoes_a_long_field_still_arrives_as_invalid_argument(
    stub: pb_grpc.EngineStub, small_video: Path, text: str
) -> None:
    # The unknown upload id is named in the message: cut short, so that the status fits the
    # client's 8 KiB limit on trailing metadata instead of failing as RESOURCE_EXHAUSTED.
    request = pb.DetectRequest(upload_id=text, window=pb.Window(duration=_frame(24)))
    spec = pb.JobSpec(upload_id=text, window=pb.Window(duration=_frame(24)))
    for call, message in ((stub.Detect, request), (stub.SubmitJob, spec)):
        with pytest.raises(grpc.RpcError) as refused:
            call(message, timeout=CALL_TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = refused.value.details()
        assert details.startswith(f"upload_id: unknown upload '{text[:10]}") and details.endswith("…")
        assert len(details.encode()) <= 1000
