"""`foley detect`'s markers: written where the plugin's own marker reader reads the detected frame back.

Detections here are DetectResponses as the engine sends them (the engine
itself runs in tests/e2e/test_detect.py); these tests cover the time rules,
through every writer that keeps clip markers and back through its reader.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.auto_markers import AUTO_MARKER_COLOR, add_auto_markers, marker_convention
from foley_plugin.clips import ClipWindow, select_clips, timeline_rate
from foley_plugin.errors import TimelineError
from foley_plugin.markers import Cue, MarkerConvention, is_auto_marker, marker_label
from foley_plugin.timeline_io import (
    check_markers_output_format,
    default_markers_output_path,
    read_timelines,
    write_timelines,
)
from foley_plugin.timeutil import exact_rate, to_seconds
from foley_proto.v1 import engine_pb2 as pb
from tests.plugin.otio_builders import clip, gap, marker, span, stack, timeline, track
from tests.plugin.test_editor_samples import EDL_OPTIONS, load

F = Fraction


def detection(*times: Fraction, label: str = "hit", confidence: float = 0.75) -> pb.DetectResponse:
    return pb.DetectResponse(
        onsets=[
            pb.OnsetCue(time=pb.RationalTime(value=t.numerator, rate_num=t.denominator, rate_den=1), label=label,
                        confidence=confidence)
            for t in times
        ],
        fps=pb.Ratio(num=24, den=1),
        model_name="tiny-detector",
    )


def frame_onsets(window: ClipWindow, timeline_rate: float) -> tuple[Fraction, ...]:
    """Onsets on the first, middle and last frames of the window that are whole frames at both the
    timeline's and the clip's rate (a video's frames, as formats that count whole frames keep them)."""
    rates = [exact_rate(timeline_rate), exact_rate(window.clip.source_range.start_time.rate)]
    step = F(math.lcm(*(r.denominator for r in rates)), math.gcd(*(r.numerator for r in rates)))
    duration = to_seconds(window.duration)
    last = math.ceil(duration / step) - 1
    return tuple(sorted({F(0), last // 2 * step, last * step}))


def auto_cues(window: ClipWindow) -> tuple[Cue, ...]:
    return tuple(c for c in window.cues if c.label.lower().startswith("hit"))


def other_markers(tl: otio.schema.Timeline) -> list[str]:
    """Every marker but the auto ones, with its owner, as JSON: what must stay as it was."""
    items = [tl.tracks, *tl.tracks.find_children(descended_from_type=otio.core.Item)]
    return [f"{item.name}:{m.to_json_string()}" for item in items for m in item.markers if not is_auto_marker(m)]


# (sample, output suffix): every writer that keeps clip markers, each with a reader's own rules.
ROUND_TRIPS = [
    ("otio-core/premiere_example.v0.18.1.otio", ".otio"),
    ("otio-core/nested_example.otio", ".otio"),
    ("otio-core/effects.otio", ".otio"),
    ("fcp7-xml/premiere_example.xml", ".xml"),
    ("fcp7-xml/hiero_xml_export.xml", ".xml"),
    ("fcpx-xml/fcpx_project.fcpxml", ".fcpxml"),
    ("edl/screening_example.edl", ".edl"),
    ("edl/speed_effects_small.edl", ".edl"),
    ("edl/25fps.edl", ".otio"),
    ("kdenlive/test-guides-markers.otio", ".otio"),
    ("kdenlive/test-transitions.otio", ".otio"),
    ("aaf/misc_speed_effects.aaf", ".otio"),
    ("aaf/time_warp_test.avid_media_composer.aaf", ".otio"),
]


@pytest.mark.parametrize(("sample", "suffix"), ROUND_TRIPS, ids=[f"{s}->{x}" for s, x in ROUND_TRIPS])
def test_detected_onsets_read_back_on_their_frames_through_each_writer(
    sample: str, suffix: str, samples: Path, tmp_path: Path
) -> None:
    (tl, *others) = [t.deepcopy() for t in load(samples, sample)]
    windows = select_clips(tl)
    assert windows, sample
    expected = {id(w.clip): frame_onsets(w, timeline_rate(tl)) for w in windows}
    before = other_markers(tl)
    path = tmp_path / f"out{suffix}"

    done = add_auto_markers(tl, [(w, detection(*expected[id(w.clip)])) for w in windows],
                            marker_convention(tl, samples / sample, path), shared_compound_clips=suffix == ".fcpxml")
    written = write_timelines([tl, *others], path)

    assert written.path == path
    assert done.added == sum(map(len, expected.values())) and done.replaced == 0
    back = read_timelines(path, **EDL_OPTIONS.get(Path(sample).name, {}))[0]
    again = select_clips(back)
    assert [(w.name, w.timeline_start) for w in again] == [(w.name, w.timeline_start) for w in windows]
    for old, new in zip(windows, again):
        own = {Cue(t, "hit" if suffix != ".edl" else "HIT") for t in expected[id(old.clip)]}
        if suffix == ".fcpxml":
            # A compound clip used twice also shows the frames found in its other use.
            assert own <= set(auto_cues(new))
        else:
            assert set(auto_cues(new)) == own
    if suffix == ".otio":  # the JSON writer keeps everything else exactly
        assert other_markers(back) == before


def test_a_second_detection_replaces_the_first_inside_its_window_only() -> None:
    # Media frames 100..148 at timeline frames 24..72; detection runs over the clip's first second.
    shot = clip("shot", 100, 48, markers=[marker(104, name="door"), marker(140, name="foley:auto old")])
    tl = timeline(track(gap(24), shot))
    first_second = otio.opentime.TimeRange(otio.opentime.RationalTime(24, 24), otio.opentime.RationalTime(24, 24))
    (part,) = select_clips(tl, time_range=first_second)
    first = add_auto_markers(tl, [(part, detection(F(1, 24), F(7, 24)))], MarkerConvention.MEDIA)

    second = add_auto_markers(tl, [(part, detection(F(5, 24)))], MarkerConvention.MEDIA)

    assert (first.added, first.replaced, second.added, second.replaced) == (2, 0, 1, 2)
    (window,) = select_clips(tl)
    # The auto marker outside that second and the editor's own marker are as they were.
    assert window.cues == (Cue(F(4, 24), "door"), Cue(F(5, 24), "hit"), Cue(F(40, 24), "old"))
    assert [m.name for m in shot.markers] == ["door", "foley:auto old", "foley:auto hit"]


@pytest.mark.parametrize(
    ("effect", "expected_media_frames"),
    [
        (otio.schema.LinearTimeWarp(time_scalar=2.0), [100, 120]),
        (otio.schema.LinearTimeWarp(time_scalar=-1.0), [100, 90]),
        (otio.schema.FreezeFrame(), [100, 110]),
    ],
    ids=["twice as fast", "reversed", "freeze frame"],
)
def test_markers_on_retimed_clips_follow_the_picture(effect: otio.schema.Effect, expected_media_frames) -> None:
    shot = clip("shot", 100, 48, effects=[effect])
    tl = timeline(track(gap(12), shot))
    (window,) = select_clips(tl)

    add_auto_markers(tl, [(window, detection(F(0), F(10, 24)))], MarkerConvention.MEDIA)

    # Media time at 2× speed runs twice as fast; reversed, backwards; frozen clips count
    # from their trimmed start, as the readers of retimed clips' markers do.
    assert [m.marked_range.start_time.value for m in shot.markers] == expected_media_frames
    (again,) = select_clips(tl)
    assert again.cues == (Cue(F(0), "hit"), Cue(F(10, 24), "hit"))


def test_a_retimed_nested_stack_places_markers_on_its_clips_frames() -> None:
    inner = clip("inner", 10, 96)
    nested = stack(track(inner, name="inside"), source_range=span(24, 48))
    nested.effects.append(otio.schema.LinearTimeWarp(time_scalar=0.5))
    tl = timeline(track(gap(6), nested))
    (window,) = select_clips(tl)

    add_auto_markers(tl, [(window, detection(F(3, 24), F(40, 24)))], MarkerConvention.MEDIA)

    # The stack shows its frames 24.. at half speed over the clip's frames 10..: timeline frame 6 + 3
    # shows its frame 25.5, the clip's 35.5 (a fraction: no whole frame shows there); 6 + 40, 44 and 54.
    assert [m.marked_range.start_time.value for m in inner.markers] == [F(71, 2), 54]
    (again,) = select_clips(tl)
    assert again.cues == (Cue(F(3, 24), "hit"), Cue(F(40, 24), "hit"))


def test_kdenlive_markers_count_from_the_in_point_and_carry_kdenlives_metadata(tmp_path: Path) -> None:
    earlier = marker(2, name="mine", metadata={"kdenlive": {"type": 3}})
    shot = clip("shot", 50, 48, markers=[earlier])
    tl = timeline(track(shot))
    assert marker_convention(tl, tmp_path / "cut.otio", tmp_path / "cut.cues.otio") is MarkerConvention.KDENLIVE
    (window,) = select_clips(tl)

    add_auto_markers(tl, [(window, detection(F(7, 24), label="door"))], MarkerConvention.KDENLIVE)

    added = shot.markers[-1]
    assert added.marked_range.start_time == otio.opentime.RationalTime(7, 24)  # from the in-point, not frame 57
    assert added.metadata["kdenlive"] == {"type": 1}  # Kdenlive's cyan category
    assert added.comment == added.name == "foley:auto door"  # Kdenlive shows the comment
    (again,) = select_clips(tl)
    assert again.cues == (Cue(F(2, 24), "mine"), Cue(F(7, 24), "door"))


def test_an_edl_gets_record_timecode_markers(tmp_path: Path) -> None:
    # The EDL reader keeps a LOC's record timecode; this one records from 01:00:00:00.
    tl = timeline(track(clip("shot", 100, 48), source_range=span(-86400, 48)))
    assert marker_convention(tl, tmp_path / "cut.edl", tmp_path / "cut.cues.edl") is MarkerConvention.EDL
    (window,) = select_clips(tl)

    add_auto_markers(tl, [(window, detection(F(12, 24)))], MarkerConvention.EDL)

    (added,) = window.clip.markers
    assert added.marked_range.start_time == otio.opentime.RationalTime(86412, 24)
    assert added.metadata["cmx_3600"] == {"color": "CYAN"}
    assert select_clips(tl)[0].cues == (Cue(F(12, 24), "hit"),)


def test_a_detected_frame_of_a_video_at_another_rate_keeps_its_exact_time(tmp_path: Path) -> None:
    # A 24 fps video's frame 5 in a 25 fps clip is no whole clip frame: written as its exact count.
    shot = clip("shot", 10, 50, rate=25.0)
    tl = timeline(track(shot))
    (window,) = select_clips(tl)
    add_auto_markers(tl, [(window, detection(F(5, 24)))], MarkerConvention.MEDIA)
    path = tmp_path / "cut.otio"
    write_timelines([tl], path)

    (again,) = select_clips(read_timelines(path)[0])

    assert again.cues == (Cue(F(5, 24), "hit"),)


def test_auto_markers_are_cyan_points_with_the_detectors_confidence() -> None:
    tl = timeline(track(clip("shot", 0, 48)))
    (window,) = select_clips(tl)
    add_auto_markers(tl, [(window, detection(F(1, 24), label="glass", confidence=0.625))], MarkerConvention.MEDIA)
    (added,) = window.clip.markers
    assert added.name == "foley:auto glass" and added.color == AUTO_MARKER_COLOR
    assert added.marked_range.duration.value == 0
    assert dict(added.metadata["foley"]) == {"confidence": 0.625, "label": "glass", "model": "tiny-detector"}


def test_onsets_outside_their_window_are_dropped() -> None:
    tl = timeline(track(clip("shot", 0, 24)))
    (window,) = select_clips(tl)
    done = add_auto_markers(tl, [(window, detection(F(0), F(1)))], MarkerConvention.MEDIA)
    assert done.added == 1 and len(window.clip.markers) == 1


def test_auto_marker_labels_drop_the_prefix_in_any_case() -> None:
    assert marker_label(marker(0, name="foley:auto footstep")) == "footstep"
    assert marker_label(marker(0, name="FOLEY:AUTO FOOTSTEP")) == "FOOTSTEP"  # as an EDL writes it
    # Without a label the colour is no sound's name.
    assert marker_label(marker(0, name="foley:auto", color=AUTO_MARKER_COLOR)) == ""
    assert marker_label(marker(0, comment="foley:auto door")) == "door"  # Kdenlive exports the comment only
    assert not is_auto_marker(marker(0, name="foley:automatic door"))
    assert not is_auto_marker(marker(0, name="door", comment="foley:auto x"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cut.otio", "cut.cues.otio"), ("cut.xml", "cut.cues.xml"), ("cut.edl", "cut.cues.edl"),
     ("cut.aaf", "cut.cues.otio"), ("cut.kdenlive", "cut.cues.otio"), ("cut.fcpxml", "cut.cues.fcpxml")],
)
def test_detect_results_go_beside_the_input_in_a_format_that_keeps_clip_markers(name: str, expected: str) -> None:
    assert default_markers_output_path(Path("/edits") / name) == Path("/edits") / expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [("cut.aaf", "the AAF writer (otio-aaf-adapter) drops every marker"),
     ("cut.kdenlive", "the Kdenlive project writer (otio-kdenlive-adapter) drops every clip marker"),
     ("cut.mp4", ".mp4 is not written here")],
)
def test_formats_that_would_lose_the_markers_are_refused(name: str, reason: str) -> None:
    with pytest.raises(TimelineError) as refused:
        check_markers_output_format(Path(name), timeline(track(clip("a", 0, 24))))
    assert f"{name}: cannot hold the detected markers ({reason}" in str(refused.value)
    assert "write the result as .otio, .otioz, .xml, .fcpxml, .edl" in str(refused.value)


def test_an_edl_output_needs_a_single_video_track() -> None:
    two = timeline(track(clip("a", 0, 24)), track(clip("b", 0, 24), name="V2"))
    with pytest.raises(TimelineError, match="an EDL holds one video track"):
        check_markers_output_format(Path("cut.edl"), two)
    check_markers_output_format(Path("cut.edl"), timeline(track(clip("a", 0, 24))))
