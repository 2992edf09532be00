"""`foley generate` end to end: real timelines in, a real engine, timelines with a Foley track out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.clips import select_clips
from foley_plugin.foley_track import is_foley_track
from foley_plugin.media import url_to_path
from foley_plugin.timeline_io import read_timeline
from foley_plugin.wav import read_wav

from ..conftest import OTIO_SAMPLES, ServerThread
from .plugin_runs import digest, run_foley, standin_media

STEPS = ["--steps", "2"]


def foley_tracks(timeline: otio.schema.Timeline) -> list[otio.schema.Track]:
    return [track for track in timeline.tracks if is_foley_track(track)]


def assert_aligned(source: Path, output: Path, track_args: list[str], *, read_rate: float | None = None, roots=()) -> None:
    """One new audio track, clip for clip under the scored video clips, at the timeline's rate."""
    before = read_timeline(source, rate=read_rate)
    after = read_timeline(output)
    scored = select_clips(before, tracks=track_args or None, media_roots=roots, timeline_path=source)
    scored = [w for w in scored if w.media.path is not None]
    assert len(after.tracks) == len(before.tracks) + 1
    (foley,) = foley_tracks(after)
    assert foley.kind == otio.schema.TrackKind.Audio
    clips = [item for item in foley if isinstance(item, otio.schema.Clip)]
    assert [c.range_in_parent() for c in clips] == [w.timeline_range for w in scored]
    video_rate = scored[0].timeline_start.rate
    for item in foley:
        assert item.source_range.duration.rate == video_rate and item.source_range.start_time.rate == video_rate
    for clip, window in zip(clips, scored):
        wav = url_to_path(clip.media_reference.target_url, output.parent)
        samples, rate = read_wav(wav)
        assert rate == 48_000
        expected = round(window.duration.value * 48_000 / window.duration.rate)
        assert abs(len(samples) - expected) <= 1
        if output.suffix == ".otio":  # XML formats have no place for it
            assert clip.metadata["foley"]["input_hash"] and clip.metadata["foley"]["steps"] == 2


@pytest.mark.slow
def test_demo_timeline_with_the_embedded_engine(demo_material, tmp_path: Path) -> None:
    source = tmp_path / "demo.otio"
    source.write_bytes(demo_material.timeline.read_bytes())
    (tmp_path / demo_material.video.name).symlink_to(demo_material.video)
    before = digest(source)

    first = run_foley("generate", source, *STEPS)
    output = tmp_path / "demo.foley.otio"
    assert digest(source) == before
    assert_aligned(source, output, [])
    # The embedded engine loads the shipped checkpoint, else the untrained preset: only the latter is flagged.
    result = read_timeline(output)
    trained = next(clip for track in foley_tracks(result) for clip in track).metadata["foley"]["model_trained"]
    assert ("UNTRAINED" in first.stderr) == (not trained)
    cues = [w.cues for w in select_clips(read_timeline(source), timeline_path=source)]
    assert [len(c) for c in cues] == [4, 4, 3]

    # Again, on its own output: the Foley track is replaced, not stacked, and no WAV is overwritten.
    wavs_before = {p: digest(p) for p in (tmp_path / "demo.foley-media").glob("*.wav")}
    run_foley("generate", output, "-o", tmp_path / "again.otio", *STEPS, "--seed", "5")
    again = read_timeline(tmp_path / "again.otio")
    assert len(again.tracks) == 2 and len(foley_tracks(again)) == 1
    assert {p: digest(p) for p in wavs_before} == wavs_before
    assert len(list((tmp_path / "again.foley-media").glob("*.wav"))) == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sample", "options"),
    [
        ("otio-core/screening_example.v0.18.1.otio", []),
        ("kdenlive/test-guides-markers.otio", ["--track", "1"]),
        ("fcp7-xml/premiere_example.xml", ["--track", "1"]),
        ("edl/screening_example.edl", []),
    ],
)
def test_real_editor_timelines(sample: str, options: list[str], engine_server: ServerThread, tmp_path: Path) -> None:
    source = OTIO_SAMPLES / sample
    before = digest(source)
    media = standin_media(read_timeline(source), tmp_path / "media")
    output = tmp_path / f"out{''.join(Path(sample).suffixes) if Path(sample).suffix != '.edl' else '.otio'}"
    run_foley("generate", source, "-o", output, "--engine", engine_server.address, "--media-root", media, *options, *STEPS)
    assert digest(source) == before
    assert_aligned(source, output, options[1:], roots=[media])

    rerun = tmp_path / f"rerun{output.suffix}"
    run_foley("generate", output, "-o", rerun, "--engine", engine_server.address, "--media-root", media, *options, *STEPS)
    assert len(foley_tracks(read_timeline(rerun))) == 1
    assert len(read_timeline(rerun).tracks) == len(read_timeline(output).tracks)


def test_a_missing_timeline_is_a_clear_error(tmp_path: Path) -> None:
    result = run_foley("generate", tmp_path / "nowhere.otio", check=False)
    assert result.returncode == 1
    assert "nowhere.otio" in result.stderr and "Traceback" not in result.stderr


def test_the_plugin_never_imports_torch() -> None:
    code = "import sys, foley_plugin.cli; assert 'torch' not in sys.modules and 'foley_engine' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_ctrl_c_cancels_the_running_job_and_writes_no_timeline(demo_material, engine_server: ServerThread, tmp_path: Path) -> None:
    import signal
    import time

    import grpc

    from foley_proto.v1 import engine_pb2 as pb
    from foley_proto.v1 import engine_pb2_grpc as pb_grpc

    source = demo_material.timeline
    output = tmp_path / "never.otio"
    process = subprocess.Popen(
        [sys.executable, "-m", "foley_plugin.cli", "generate", str(source), "-o", str(output),
         "--engine", engine_server.address, "--steps", "200"],
        stderr=subprocess.PIPE, text=True,
    )
    seen = ""
    while "step" not in seen:  # the per-clip progress bar has started: the job runs
        seen += process.stderr.read(1)
        assert process.poll() is None, seen
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130 and "cancelled" in rest
    assert not output.exists()
    # The engine is free again at once: a 200-step job left running would hold the worker for minutes.
    with grpc.insecure_channel(engine_server.address) as channel:
        stub = pb_grpc.EngineStub(channel)
        spec = pb.JobSpec(
            video_path=str(demo_material.video),
            window=pb.Window(duration=pb.RationalTime(value=24, rate_num=24, rate_den=1)),
            steps=1,
        )
        job = stub.SubmitJob(spec).job_id
        deadline = time.monotonic() + 20
        while stub.GetJob(pb.JobRef(job_id=job)).state != pb.JOB_STATE_COMPLETED:
            assert time.monotonic() < deadline, "the interrupted job still holds the worker"
            time.sleep(0.1)
