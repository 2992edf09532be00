"""`foley detect` and `foley generate --cues` through the real CLI, against a real engine
whose tiny model has an event detector (and one whose model has none).

Detect writes each onset the engine returned as a "foley:auto" marker on its
clip: read back through the plugin's own marker reader, every one lands on the
frame Detect gave, in every format that keeps clip markers; a second run
replaces them; every other marker and the input file stay as they were.
`generate --cues` sends the engine what it says, and generate on detect's
result takes the detected onsets as cues.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_engine.engine import BatchItem, FoleyEngine
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.request import Detection, DetectionRequest, GenerationRequest
from foley_plugin.clips import ClipWindow, select_clips, timeline_rate
from foley_plugin.markers import Cue, is_auto_marker
from foley_plugin.timeline_io import read_timelines, write_timelines
from foley_plugin.timeutil import to_seconds
from tests.engine.engine_testing import fresh_pipeline
from tests.plugin.test_editor_samples import load

from ..conftest import ServerThread
from .plugin_runs import FileState, copy_demo, run_in_process, standin_media, write_standin

STEPS = ["--steps", "1"]


class RecordingEngine(FoleyEngine):
    """The real engine, noting every detection (request and result) and generation request."""

    def __init__(self, pipeline: RhythmicFoleyPipeline) -> None:
        super().__init__(pipeline)
        self.reset()

    def reset(self) -> None:
        self.detections: list[tuple[DetectionRequest, Detection]] = []
        self.requests: list[GenerationRequest] = []

    def detect(self, request: DetectionRequest, stopped: Callable[[], bool] | None = None) -> Detection:
        found = super().detect(request, stopped)
        self.detections.append((request, found))
        return found

    def generate_batch(self, items: Sequence[BatchItem], max_batch: int = 8) -> list:
        self.requests.extend(item.request for item in items)
        return super().generate_batch(items, max_batch)


def _serve_tiny(folder: Path, detector: bool) -> Iterator[ServerThread]:
    """A real server on a tiny model, with its event detector or without one."""
    pipeline = fresh_pipeline(vae_levels=3, vae_attention=False, griffin_lim_iterations=1)
    if not detector:
        pipeline.register_modules(event_detector=None)
    server = ServerThread(folder / "engine.sock", lambda config: RecordingEngine(pipeline))
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def detecting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    yield from _serve_tiny(tmp_path_factory.mktemp("detecting"), detector=True)


@pytest.fixture(scope="module")
def blind_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    yield from _serve_tiny(tmp_path_factory.mktemp("blind"), detector=False)


@pytest.fixture
def engine(detecting_server: ServerThread) -> RecordingEngine:
    recording = detecting_server.server.servicer.engine
    recording.reset()
    return recording


def detected_cues(engine: RecordingEngine, windows: list[ClipWindow], upper: bool = False) -> list[set[Cue]]:
    """Per window, the cues of the onsets Detect returned for it (the plugin asks in window order)."""
    assert [request.window.duration for request, _ in engine.detections] == [to_seconds(w.duration) for w in windows]
    return [
        {Cue(onset.time, onset.label.upper() if upper else onset.label) for onset in found.onsets}
        for _, found in engine.detections
    ]


def other_markers(timeline: otio.schema.Timeline) -> list[str]:
    """Every marker that is not a foley:auto one, with its owner's name, as JSON."""
    items = [timeline.tracks, *timeline.tracks.find_children(descended_from_type=otio.core.Item)]
    return [f"{item.name}:{m.to_json_string()}" for item in items for m in item.markers if not is_auto_marker(m)]


def auto_marker_count(timeline: otio.schema.Timeline) -> int:
    return sum(is_auto_marker(m) for clip in timeline.find_clips() for m in clip.markers)


def media_at(timeline: otio.schema.Timeline, folder: Path) -> Path:
    """Stand-in media for the clips, at the timeline's own rate (as an editor's footage is)."""
    folder.mkdir()
    write_standin(folder / ".standin.mp4", seconds=3.0, fps=round(timeline_rate(timeline)))
    return standin_media(timeline, folder)


# (sample, extra arguments, output name): a plain .otio, Premiere's FCP7 XML (its second video
# track: the first plays a clip at 15 fps in a 30 fps sequence, whose half frames FCP7 XML cannot
# hold), FCPXML, an EDL written back as an EDL (record-timecode markers), and a Kdenlive export
# whose media run at 25 fps in a 24 fps timeline (markers between the clip's frames).
SAMPLES = [
    ("otio-core/nested_example.otio", [], "cut.cues.otio"),
    ("fcp7-xml/premiere_example.xml", ["--track", "2"], "cut.cues.xml"),
    ("fcpx-xml/fcpx_project.fcpxml", [], "cut.cues.fcpxml"),
    ("edl/screening_example.edl", [], "cut.cues.edl"),
    ("kdenlive/test-guides-markers.otio", [], "cut.cues.otio"),
]


@pytest.mark.parametrize(("sample", "args", "name"), SAMPLES, ids=[s for s, _, _ in SAMPLES])
def test_detect_marks_each_clip_on_the_frames_detect_returned(
    sample: str, args: list[str], name: str, samples: Path, detecting_server: ServerThread, engine: RecordingEngine,
    tmp_path: Path, capsys,
) -> None:
    source = tmp_path / f"cut{Path(sample).suffix}"
    shutil.copyfile(samples / sample, source)
    before = FileState.of(source)
    timelines = load(samples, sample)
    media = media_at(timelines[0], tmp_path / "media")
    common = ["--engine", detecting_server.address, "--media-root", media, *args]
    tracks = [int(args[1]) - 1] if args else None

    status, err = run_in_process(capsys, "detect", source, *common)

    assert status == 0, err
    assert FileState.of(source) == before
    output = tmp_path / name  # the default: beside the input, in its own format
    windows = select_clips(timelines[0], tracks=tracks, media_roots=[media], timeline_path=source)
    found = detected_cues(engine, windows, upper=output.suffix == ".edl")
    assert sum(map(len, found)) > 0
    (result, *others) = read_timelines(output)
    again = select_clips(result, tracks=tracks, media_roots=[media], timeline_path=output)
    assert [(w.name, w.timeline_start, w.duration) for w in again] == [
        (w.name, w.timeline_start, w.duration) for w in windows
    ]
    for old, new, detected in zip(windows, again, found):
        if output.suffix == ".fcpxml":
            # A compound clip used twice also shows the frames found in its other use.
            assert set(new.cues) >= set(old.cues) | detected, old.name
        else:
            assert set(new.cues) == set(old.cues) | detected, old.name
    if output.suffix != ".fcpxml":
        assert auto_marker_count(result) == sum(len(f.onsets) for _, f in engine.detections)
    # Nothing else changed: the other markers are those of a plain write of the input in that format.
    plain = tmp_path / f"plain{output.suffix}"
    write_timelines(timelines, plain)
    assert other_markers(result) == other_markers(read_timelines(plain)[0])
    assert len(others) == len(timelines) - 1

    # A second run on the result replaces the markers: the same ones, none twice.
    engine.reset()
    rerun = tmp_path / f"rerun{output.suffix}"
    status, err = run_in_process(capsys, "detect", output, "-o", rerun, *common)
    assert status == 0, err
    (second, *_) = read_timelines(rerun)
    assert auto_marker_count(second) == auto_marker_count(result)
    assert [set(w.cues) for w in select_clips(second, tracks=tracks, media_roots=[media], timeline_path=rerun)] == [
        set(w.cues) for w in again
    ]
    assert other_markers(second) == other_markers(result)


def test_detect_on_a_kdenlive_project_writes_otio_that_kdenlive_imports(
    samples: Path, detecting_server: ServerThread, engine: RecordingEngine, tmp_path: Path, capsys
) -> None:
    # The Kdenlive project writer drops clip markers: the result is .otio, with markers counted from each
    # clip's in-point as Kdenlive imports them (the clips here start 3 frames into their media).
    (timeline,) = [t.deepcopy() for t in load(samples, "kdenlive/test-tracks-clips.otio")]
    for clip in timeline.find_clips():
        clip.source_range = otio.opentime.TimeRange(otio.opentime.RationalTime(3, 25), clip.source_range.duration)
    source = tmp_path / "project.kdenlive"
    write_timelines([timeline], source)
    (timeline,) = read_timelines(source)
    media = media_at(timeline, tmp_path / "media")

    status, err = run_in_process(capsys, "detect", source, "--engine", detecting_server.address, "--media-root", media)

    assert status == 0, err
    output = tmp_path / "project.cues.otio"
    (result,) = read_timelines(output)
    windows = select_clips(timeline, media_roots=[media], timeline_path=source)
    found = detected_cues(engine, windows)
    for new, detected in zip(select_clips(result, media_roots=[media], timeline_path=output), found):
        assert set(new.cues) == detected
        markers = [m for m in new.clip.markers if is_auto_marker(m)]
        assert {to_seconds(m.marked_range.start_time) for m in markers} == {cue.time for cue in detected}
        assert all(m.metadata["kdenlive"] == {"type": 1} and m.comment == m.name for m in markers)


def test_detect_on_the_demo_then_generate_takes_the_detected_onsets_as_cues(
    demo_material, detecting_server: ServerThread, engine: RecordingEngine, tmp_path: Path, capsys
) -> None:
    # The demo without its impact markers: the cues then come from detection alone.
    source = copy_demo(demo_material, tmp_path)
    (timeline,) = read_timelines(source)
    for item in [timeline.tracks, *timeline.tracks.find_children()]:
        item.markers[:] = []
    bare = tmp_path / "bare.otio"
    write_timelines([timeline], bare)
    engine_flags = ["--engine", detecting_server.address]

    status, err = run_in_process(capsys, "detect", bare, *engine_flags)
    assert status == 0, err
    found = detected_cues(engine, select_clips(timeline, timeline_path=bare))

    status, err = run_in_process(capsys, "generate", tmp_path / "bare.cues.otio", *engine_flags, *STEPS)

    assert status == 0, err
    assert len(engine.requests) == len(found) == 3
    for request, detected in zip(engine.requests, found):
        assert {(cue.time, cue.label) for cue in request.cues} == {(cue.time, cue.label) for cue in detected}
        assert request.video_cues is False  # auto: the clip has markers now


def demo_with_a_bare_clip(demo_material, folder: Path) -> tuple[Path, list[ClipWindow]]:
    """The demo with the markers of its second clip removed, and its windows (the third clip's
    markers are on the track)."""
    source = copy_demo(demo_material, folder)
    (timeline,) = read_timelines(source)
    timeline.tracks[0].find_clips()[1].markers[:] = []
    edited = folder / "edited.otio"
    write_timelines([timeline], edited)
    windows = select_clips(timeline, timeline_path=edited)
    assert [bool(w.cues) for w in windows] == [True, False, True]
    return edited, windows


@pytest.mark.parametrize(
    ("cues", "markers_sent", "video"),
    [
        ("auto", [True, False, True], [False, True, False]),
        ("markers", [True, True, True], [False, False, False]),
        ("video", [False, False, False], [True, True, True]),
        ("both", [True, True, True], [True, True, True]),
        ("none", [False, False, False], [False, False, False]),
    ],
)
def test_generate_sends_the_cues_it_is_asked_for(
    cues: str, markers_sent: list[bool], video: list[bool], demo_material, detecting_server: ServerThread,
    engine: RecordingEngine, tmp_path: Path, capsys,
) -> None:
    source, windows = demo_with_a_bare_clip(demo_material, tmp_path)

    status, err = run_in_process(capsys, "generate", source, "--engine", detecting_server.address, "--cues", cues, *STEPS)

    assert status == 0, err
    assert [request.video_cues for request in engine.requests] == video
    assert [
        tuple((cue.time, cue.label) for cue in request.cues) for request in engine.requests
    ] == [tuple((cue.time, cue.label) for cue in w.cues) if sent else () for w, sent in zip(windows, markers_sent)]
    # Event spans are not cues: they go with every choice.
    assert [len(request.spans) for request in engine.requests] == [len(w.spans) for w in windows]


def test_a_rerun_with_other_cues_never_reuses_the_first_runs_audio(
    demo_material, detecting_server: ServerThread, engine: RecordingEngine, tmp_path: Path, capsys
) -> None:
    source, _ = demo_with_a_bare_clip(demo_material, tmp_path)
    command = ["generate", source, "--engine", detecting_server.address, *STEPS]
    assert run_in_process(capsys, *command, "--cues", "markers")[0] == 0
    # The bare clip's job is the same under --cues none; it is made again all the same.
    status, err = run_in_process(capsys, *command, "--cues", "none")
    assert status == 0, err
    assert len(engine.requests) == 6 and "reusing" not in err
    status, err = run_in_process(capsys, *command, "--cues", "none")
    assert status == 0 and "reusing 3 of 3 clip(s)" in err and len(engine.requests) == 6


def test_without_an_event_detector_auto_keeps_to_markers_and_video_cues_are_refused(
    demo_material, blind_server: ServerThread, tmp_path: Path, capsys
) -> None:
    blind = blind_server.server.servicer.engine
    blind.reset()
    source, windows = demo_with_a_bare_clip(demo_material, tmp_path)
    engine_flags = ["--engine", blind_server.address, *STEPS]

    status, err = run_in_process(capsys, "generate", source, *engine_flags)

    assert status == 0, err
    notices = [line for line in err.splitlines() if "no video event detector" in line]
    assert notices == [f"foley: the engine's model {blind.info().name!r} has no video event detector: using markers "
                       "only, so 1 clip(s) without markers get no onset cues"]
    assert [r.video_cues for r in blind.requests] == [False] * 3
    assert [len(r.cues) for r in blind.requests] == [len(w.cues) for w in windows]

    for choice in ("video", "both"):
        blind.reset()
        output = tmp_path / f"{choice}.foley.otio"
        status, err = run_in_process(capsys, "generate", source, "-o", output, *engine_flags, "--cues", choice)
        assert status == 1
        assert f"--cues {choice}: the engine's model {blind.info().name!r} has no video event detector" in err
        assert "load a model that has one (--model DIR" in err
        assert blind.requests == [] and not output.exists()

    status, err = run_in_process(capsys, "detect", source, "--engine", blind_server.address)
    assert status == 1
    assert "has no video event detector, so it cannot find cues in the video; load a model that has one" in err
    assert not (tmp_path / "edited.cues.otio").exists()


def test_detect_refuses_what_it_cannot_do_before_asking_the_engine(
    demo_material, samples: Path, detecting_server: ServerThread, engine: RecordingEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    engine_flags = ["--engine", detecting_server.address]
    cases = {
        ("-o", tmp_path / "cut.aaf"): "cut.aaf: cannot hold the detected markers (the AAF writer (otio-aaf-adapter) "
        "drops every marker); write the result as .otio, .otioz, .xml, .fcpxml, .edl",
        ("-o", tmp_path / "cut.kdenlive"): "cut.kdenlive: cannot hold the detected markers (the Kdenlive project writer",
        ("-o", source): "the output would replace the input timeline; choose another -o",
        ("--clip", "drop Z"): "no clip named 'drop Z' on the selected video tracks",
    }
    for args, message in cases.items():
        status, err = run_in_process(capsys, "detect", source, *args, *engine_flags)
        assert status == 1 and message in err, err
    truncated = tmp_path / "truncated.otio"
    truncated.write_text(source.read_text()[:200])
    status, err = run_in_process(capsys, "detect", truncated, *engine_flags)
    assert status == 1 and "could not be read as otio_json; the file may be corrupt or truncated" in err
    # Media that is not there: named, skipped, and no clip left to detect on.
    os.unlink(tmp_path / demo_material.video.name)
    status, err = run_in_process(capsys, "detect", source, *engine_flags)
    assert status == 1 and "foley: skipping clip 'drop A': media not found" in err
    assert "no video clip with readable media to score" in err
    assert engine.detections == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.otio", "truncated.otio"]
