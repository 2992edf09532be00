"""Round trips of every sample timeline OTIO reads: the Foley track is added and nothing else changes.

Each sample goes through `foley generate` (in this process, against the
session's small real engine) with stand-in media found through
`--media-root`. To keep ~50 samples quick, a run scores one clip: the first
one with media, on its own track, for at most a second (`--track`, `--range`).
The output is read back and compared with the plain round trip of the input
through the same writer without the plugin (for .otio input that is the
input itself). Apart from the Foley tracks the two serialise identically:
every track, clip, marker and metadata entry, and the timeline's rate. The
Foley clips sit exactly under the scored video clips, at the timeline's rate,
and play WAVs of that length.

Writing and reading AAF takes seconds, so two AAF samples are written back as
AAF (one of them the AAF writer refuses) and the others as .otio. Outputs in
formats that drop the plugin's metadata are run again where noted, to show
that the Foley track is replaced, not stacked.

`pytest -s` prints a line per sample.
"""

from __future__ import annotations

import os
import re
import zipfile
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.clips import ClipWindow, select_clips, timeline_rate
from foley_plugin.foley_track import is_foley_track
from foley_plugin.media import url_to_path
from foley_plugin.timeline_io import default_output_path, read_timelines, write_timelines
from foley_plugin.timeutil import to_seconds
from foley_plugin.wav import read_wav
from tests.plugin.test_editor_samples import READABLE, load, marker_count

from ..conftest import ServerThread
from .plugin_runs import FileState, ScriptedEngine, run_in_process, standin_media, write_standin
from .test_no_loss import edl_flags, show  # noqa: F401  (show: a line per sample under pytest -s)

STEPS = ["--steps", "1"]
ONE_SECOND = Fraction(1)
# Scored whole: they show what one clip cannot (disabled clips, dissolves).
WHOLE = {"fcp7-xml/premiere_enable_property.xml", "kdenlive/test-transitions.otio"}
# Their outputs keep no metadata["foley"]: a second run must still find and replace the Foley tracks.
RERUN = {"fcp7-xml/premiere_example.xml", "fcpx-xml/fcpx_project.fcpxml"}
# Written back as AAF: one the AAF writer takes (and drops its markers), one it refuses (two frame rates).
AAF_OUTPUT = {"aaf/marker-over-transition.aaf", "aaf/2997fps-DFTC.aaf"}
# The AAF writer stamps every file with new mob IDs and times, even for the mobs it copies.
AAF_STAMPS = re.compile(r'"(CreationTime|LastModified|MobID)": "[^"]*"')


@pytest.fixture(scope="session")
def standin_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rendered stand-in video; every test's media names are hard links to it."""
    path = tmp_path_factory.mktemp("standin") / "standin.mp4"
    write_standin(path)
    return path


def media_folder(timeline: otio.schema.Timeline, folder: Path, video: Path) -> Path:
    folder.mkdir()
    os.link(video, folder / ".standin.mp4")  # standin_media links every name to this one
    return standin_media(timeline, folder)


def plain_round_trip(timelines: list[otio.schema.Timeline], suffix: str, folder: Path) -> list[otio.schema.Timeline]:
    """The timelines written by the plugin's writer as `suffix`, without a Foley track, and read back."""
    path = folder / f"plain{suffix}"
    written = write_timelines(timelines, path)
    assert written.path == path, written.notes
    return read_timelines(path)


def comparable(timeline: otio.schema.Timeline, suffix: str) -> str:
    """The timeline's JSON without its Foley tracks (and without AAF write stamps)."""
    copy = timeline.deepcopy()
    for index in reversed(range(len(copy.tracks))):
        if is_foley_track(copy.tracks[index]):
            del copy.tracks[index]
    text = copy.to_json_string()
    return AAF_STAMPS.sub(r'"\1": "*"', text) if suffix == ".aaf" else text


def limits(windows: list[ClipWindow], rate: float) -> tuple[list[str], otio.opentime.TimeRange | None, list[int] | None]:
    """--track and --range for the first clip's first second, and the same as select_clips arguments."""
    first = windows[0]
    frames = min(first.duration.value, round(ONE_SECOND * Fraction(rate).limit_denominator(1001)))
    window = otio.opentime.TimeRange(first.timeline_start, otio.opentime.RationalTime(frames, rate))
    start, end = (float(to_seconds(t)) for t in (window.start_time, window.end_time_exclusive()))
    return ["--track", str(first.track_index + 1), "--range", f"{start:.6f}-{end:.6f}"], window, [first.track_index]


def foley_clips(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    return [item for track in timeline.tracks if is_foley_track(track) for item in track if isinstance(item, otio.schema.Clip)]


def assert_foley_under_the_picture(output: Path, result: otio.schema.Timeline, windows: list[ClipWindow]) -> None:
    """One Foley clip per scored window, exactly at its timeline range and rate, playing a WAV that long."""
    rate = timeline_rate(result)
    clips = foley_clips(result)
    placed = sorted((c.name, c.range_in_parent().start_time.value, c.range_in_parent().duration.value) for c in clips)
    assert placed == sorted((f"{w.name} (Foley)", w.timeline_start.value, w.duration.value) for w in windows)
    for track in (t for t in result.tracks if is_foley_track(t)):
        assert track.kind == otio.schema.TrackKind.Audio
        for item in track:
            assert item.range_in_parent().start_time.rate == item.range_in_parent().duration.rate == rate
    for clip in clips:
        samples, sample_rate = read_wav(url_to_path(clip.media_reference.target_url, output.parent))
        duration = clip.range_in_parent().duration
        assert sample_rate == 48_000 and abs(len(samples) - round(duration.value * 48_000 / duration.rate)) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("sample", READABLE)
def test_a_round_trip_changes_nothing_but_the_foley_track(
    sample: str, samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, standin_video: Path,
    tmp_path: Path, capsys, show,
) -> None:
    source = samples / sample
    before = FileState.of(source)
    timelines = load(samples, sample)
    media = media_folder(timelines[0], tmp_path / "media", standin_video)
    windows = [w for w in select_clips(timelines[0], media_roots=[media], timeline_path=source) if w.media.path]
    rate = timeline_rate(timelines[0])
    args, time_range, tracks = limits(windows, rate) if windows and sample not in WHOLE else ([], None, None)
    output = tmp_path / "out" / default_output_path(source).name
    if output.suffix == ".aaf" and sample not in AAF_OUTPUT:
        output = output.with_suffix(".otio")
    output.parent.mkdir()
    engine = ["--engine", scripted_server.address, "--media-root", media, *STEPS]

    status, err = run_in_process(capsys, "generate", source, "-o", output, *engine, *args, *edl_flags(sample))

    assert FileState.of(source) == before
    if not windows:
        show(f"round-trip {sample:46} nothing to score (no video clip with media): exit {status}, no output")
        assert status == 1 and f"{source}: no video clip with readable media to score" in err
        assert not output.exists()
        return
    assert status == 0, err
    written = output if output.exists() else output.with_suffix(".otio")  # an AAF the AAF writer refused
    assert (written != output) == ("the AAF writer cannot take this timeline" in err)
    if written.suffix == ".aaf" and marker_count(timelines[0]):
        assert f"{written}: AAF keeps no markers" in err
    results = read_timelines(written)
    reference = plain_round_trip(timelines, written.suffix, tmp_path)
    if source.suffix == ".otio":
        assert [t.to_json_string() for t in reference] == [t.to_json_string() for t in timelines]
    assert len(results) == len(reference) == len(timelines)
    if len(timelines) > 1:
        assert f"{source} holds {len(timelines)} timelines; scoring the first, {timelines[0].name!r}" in err
    for result, expected in zip(results, reference):
        assert comparable(result, written.suffix) == comparable(expected, written.suffix)
        assert marker_count(result) == marker_count(expected)
        assert timeline_rate(result) == timeline_rate(expected) == rate
    scored = [w for w in select_clips(timelines[0], tracks=tracks, time_range=time_range, media_roots=[media],
                                      timeline_path=source) if w.media.path]
    assert len(scored) == len(scripted.requests)
    assert_foley_under_the_picture(written, results[0], scored)
    assert all(foley_clips(other) == [] for other in results[1:])
    lanes = sum(is_foley_track(t) for t in results[0].tracks)
    show(f"round-trip {sample:46} -> {written.suffix:8} timelines={len(results)} foley clips={len(scored)} "
         f"lanes={lanes} markers={marker_count(results[0])} rate={rate:.3f}  unchanged otherwise")

    if sample in RERUN:
        rerun = tmp_path / "rerun" / written.name
        rerun.parent.mkdir()
        status, err = run_in_process(capsys, "generate", written, "-o", rerun, *engine, *args)
        assert status == 0, err
        again = read_timelines(rerun)[0]
        assert len(again.tracks) == len(results[0].tracks)
        assert comparable(again, rerun.suffix) == comparable(results[0], rerun.suffix)
        assert_foley_under_the_picture(rerun, again, scored)


def test_clips_with_missing_media_are_named_skipped_and_reported_at_the_end(
    samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, standin_video: Path, tmp_path: Path, capsys
) -> None:
    # Kdenlive's fixture: 'red.png' points at red.png, 'yellow.png' at nothing (target_url "").
    source = samples / "kdenlive/test-missing-media.otio"
    media = tmp_path / "media"
    media.mkdir()
    os.link(standin_video, media / "red.png")
    output = tmp_path / "cut.foley.otio"

    status, err = run_in_process(capsys, "generate", source, "-o", output, "--engine", scripted_server.address,
                                 "--media-root", media, *STEPS)

    assert status == 3
    assert (f"foley: skipping clip 'yellow.png': media not found (no media path in the timeline); "
            f"searched {media} for 'yellow.png'") in err
    assert err.rstrip().endswith("foley: 1 clip(s) skipped for missing media (see above): 'yellow.png'")
    assert [c.name for c in foley_clips(read_timelines(output)[0])] == ["red.png (Foley)"]
    assert len(scripted.requests) == 1


def test_ntsc_timecode_is_drop_frame(
    samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, standin_video: Path, tmp_path: Path, capsys
) -> None:
    # Premiere's 29.97 fps sequence starts at 05:00:00;00. In drop-frame timecode 05:01:00;02
    # is 1800 frames later (frames ;00 and ;01 of minute 1 do not exist); written with a colon,
    # as a non-drop-frame timecode it would be 1802.
    source = samples / "aaf/2997fps-DFTC.aaf"
    timeline = load(samples, "aaf/2997fps-DFTC.aaf")[0]
    media = media_folder(timeline, tmp_path / "media", standin_video)
    output = tmp_path / "cut.foley.otio"

    status, err = run_in_process(capsys, "generate", source, "-o", output, "--engine", scripted_server.address,
                                 "--media-root", media, "--range", "05:01:00:02-05:01:01:02", *STEPS)

    assert status == 0, err
    result = read_timelines(output)[0]
    (clip,) = foley_clips(result)
    assert clip.range_in_parent() == otio.opentime.TimeRange(
        otio.opentime.RationalTime(1800, 30000 / 1001), otio.opentime.RationalTime(30, 30000 / 1001)
    )
    assert timeline_rate(result) == 30000 / 1001
    assert result.global_start_time == timeline.global_start_time
    assert otio.opentime.to_timecode(result.global_start_time, 30000 / 1001) == "05:00:00;00"


# Kdenlive fixtures the Kdenlive adapter writes (it cannot write clips whose media is missing).
KDENLIVE_PROJECTS = ("test-clips", "test-guides-markers", "test-tracks-clips", "test-transitions")


@pytest.mark.slow
@pytest.mark.parametrize("fixture", KDENLIVE_PROJECTS)
def test_a_kdenlive_project_round_trip_changes_nothing_but_the_foley_track(
    fixture: str, samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, standin_video: Path,
    tmp_path: Path, capsys,
) -> None:
    # A .kdenlive project as the adapter writes it, made from Kdenlive's own OTIO fixture.
    source = tmp_path / f"{fixture}.kdenlive"
    assert write_timelines(load(samples, f"kdenlive/{fixture}.otio"), source).path == source
    timelines = read_timelines(source)
    before = FileState.of(source)
    media = media_folder(timelines[0], tmp_path / "media", standin_video)
    engine = ["--engine", scripted_server.address, "--media-root", media, *STEPS]

    status, err = run_in_process(capsys, "generate", source, *engine)

    assert status == 0, err
    assert "deprecated" not in err  # the adapter's notice stays off our output
    assert FileState.of(source) == before
    output = default_output_path(source)
    assert output.name == f"{fixture}.foley.kdenlive"
    (result,) = read_timelines(output)
    (expected,) = plain_round_trip(timelines, ".kdenlive", tmp_path)
    assert comparable(result, ".kdenlive") == comparable(expected, ".kdenlive")
    assert marker_count(result) == marker_count(expected)
    assert timeline_rate(result) == timeline_rate(expected)
    scored = [w for w in select_clips(timelines[0], media_roots=[media], timeline_path=source) if w.media.path]
    assert scored and len(scored) == len(scripted.requests)
    assert_foley_under_the_picture(output, result, scored)


@pytest.mark.slow
def test_an_otioz_bundle_round_trip_plays_its_own_media_and_bundles_the_foley(
    samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, standin_video: Path,
    tmp_path: Path, capsys,
) -> None:
    # A bundle of Kdenlive's guides-and-markers fixture with its (stand-in) media packed inside.
    (timeline,) = load(samples, "kdenlive/test-guides-markers.otio")
    media = media_folder(timeline, tmp_path / "media", standin_video)
    for clip in timeline.find_clips():
        clip.media_reference.target_url = (media / Path(clip.media_reference.target_url).name).as_uri()
    source = tmp_path / "bundle" / "cut.otioz"
    source.parent.mkdir()
    assert write_timelines([timeline], source).path == source
    before = FileState.of(source)
    (bundled,) = read_timelines(source)

    # No --media-root: the clips must play the media inside the bundle.
    status, err = run_in_process(capsys, "generate", source, "--engine", scripted_server.address, *STEPS)

    assert status == 0, err
    assert FileState.of(source) == before
    output = source.with_name("cut.foley.otioz")
    (result,) = read_timelines(output)
    assert comparable(result, ".otioz") == comparable(bundled, ".otioz")
    assert marker_count(result) == marker_count(bundled)
    assert timeline_rate(result) == timeline_rate(bundled)
    clips = foley_clips(result)
    assert clips and len(clips) == len(scripted.requests)
    with zipfile.ZipFile(output) as bundle:
        packed = set(bundle.namelist())
    for clip in [*clips, *bundled.find_clips()]:
        assert clip.media_reference.target_url.startswith("media/")
        assert clip.media_reference.target_url in packed
