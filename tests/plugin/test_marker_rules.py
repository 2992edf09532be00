"""Markers become cues and spans in each clip's output time, by the owner's time rules."""

from fractions import Fraction

import opentimelineio as otio
import pytest

from foley_plugin.clips import select_clips
from foley_plugin.layout import place_items
from foley_plugin.markers import Cue, Span, collect_markers, marker_label
from tests.plugin.otio_builders import clip, gap, marker, span, stack, timeline, track

F = Fraction


def windows_by_name(tl, **kwargs):
    return {w.name: w for w in select_clips(tl, **kwargs)}


def test_clip_marker_is_in_media_time_of_a_trimmed_clip():
    # Media frames 100..148 play at timeline frames 24..72.
    shot = clip("shot", 100, 48, markers=[marker(110, name="door")])
    w = windows_by_name(timeline(track(gap(24), shot)))["shot"]
    assert w.timeline_start == otio.opentime.RationalTime(24, 24)
    assert w.duration == otio.opentime.RationalTime(48, 24)
    assert w.media_start == F(100, 24)
    assert w.cues == (Cue(F(10, 24), "door"),)


def test_track_marker_is_offset_by_the_track_source_range():
    # The track shows its own frames 12..72, so its frame 50 is timeline frame 38.
    v1 = track(
        clip("a", 0, 48),
        clip("b", 0, 48),
        source_range=span(12, 60),
        markers=[marker(50, name="hit")],
    )
    windows = windows_by_name(timeline(v1))
    a, b = windows["a"], windows["b"]
    assert (a.timeline_start.value, a.duration.value, a.media_start) == (0, 36, F(12, 24))
    assert (b.timeline_start.value, b.duration.value, b.media_start) == (36, 24, 0)
    assert a.cues == ()
    assert b.cues == (Cue(F(2, 24), "hit"),)


def test_stack_marker_reaches_every_selected_clip():
    v1 = track(clip("low", 0, 48), name="V1")
    v2 = track(gap(12), clip("high", 0, 24), name="V2")
    windows = windows_by_name(timeline(v1, v2, markers=[marker(30, name="boom")]))
    assert windows["low"].cues == (Cue(F(30, 24), "boom"),)
    assert windows["high"].cues == (Cue(F(18, 24), "boom"),)


def test_track_marker_reaches_only_its_own_track():
    v1 = track(clip("low", 0, 48), name="V1", markers=[marker(10, name="v1 only")])
    v2 = track(clip("high", 0, 48), name="V2")
    windows = windows_by_name(timeline(v1, v2))
    assert windows["low"].cues == (Cue(F(10, 24), "v1 only"),)
    assert windows["high"].cues == ()


def test_clip_marker_belongs_to_its_clip_only():
    v1 = track(clip("a", 0, 24, markers=[marker(5, name="mine")]), clip("b", 0, 24))
    windows = windows_by_name(timeline(v1))
    assert windows["a"].cues == (Cue(F(5, 24), "mine"),)
    assert windows["b"].cues == ()


def test_markers_outside_the_visible_part_are_ignored():
    shot = clip(
        "shot",
        100,
        24,
        markers=[marker(90, name="before"), marker(124, name="at the end"), marker(130, name="after")],
    )
    v1 = track(shot, markers=[marker(30, name="past the clip")])
    assert windows_by_name(timeline(v1))["shot"].cues == ()


def test_marker_trimmed_away_by_the_track_is_ignored():
    v1 = track(clip("a", 0, 48, markers=[marker(4, name="hidden"), marker(20, name="shown")]),
               source_range=span(10, 38))
    w = windows_by_name(timeline(v1))["a"]
    assert w.cues == (Cue(F(10, 24), "shown"),)


def test_marker_on_a_double_speed_clip():
    fast = clip("fast", 100, 24, effects=[otio.schema.LinearTimeWarp(time_scalar=2.0)],
                markers=[marker(120, name="twice as early")])
    w = windows_by_name(timeline(track(fast)))["fast"]
    assert w.speed == 2
    assert w.media_start == F(100, 24)
    assert w.cues == (Cue(F(10, 24), "twice as early"),)


def test_time_warps_multiply_through_nested_stacks():
    inner = clip("inner", 0, 48, effects=[otio.schema.LinearTimeWarp(time_scalar=2.0)],
                 markers=[marker(24, name="x")])
    nested = stack(track(inner, name="inner"), source_range=span(0, 24))
    nested.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    w = windows_by_name(timeline(track(gap(12), nested)))["inner"]
    # A time warp keeps an item's length on its parent: the stack fills 24 timeline
    # frames with 48 of its own, and the clip 48 stack frames with 96 media frames.
    assert w.speed == 4
    assert (w.timeline_start.value, w.duration.value) == (12, 24)
    assert w.cues == (Cue(F(6, 24), "x"),)


def test_freeze_frame_has_speed_zero_and_places_markers_by_offset():
    frozen = clip("still", 50, 24, effects=[otio.schema.FreezeFrame()],
                  markers=[marker(53, name="hold")])
    w = windows_by_name(timeline(track(gap(10), frozen)))["still"]
    assert w.speed == 0
    assert w.media_start == F(50, 24)
    assert w.cues == (Cue(F(3, 24), "hold"),)


def test_reversed_clip_maps_markers_backwards():
    rev = clip("rev", 100, 24, effects=[otio.schema.LinearTimeWarp(time_scalar=-1.0)],
               markers=[marker(96, name="back"), marker(90, 1, name="one frame"),
                        marker(85, 3, name="run")])
    w = windows_by_name(timeline(track(rev)))["rev"]
    assert w.speed == -1
    assert w.cues == (Cue(F(4, 24), "back"), Cue(F(10, 24), "one frame"))
    assert w.spans == (Span(F(12, 24), F(15, 24), "run"),)


@pytest.mark.parametrize(("rate", "exact"), [(24000 / 1001, F(24000, 1001)), (30000 / 1001, F(30000, 1001))])
def test_ntsc_rates_give_exact_fractions(rate, exact):
    shot = clip("shot", 1001, 100, rate, markers=[marker(1010, 0, rate, name="tick")])
    v1 = track(gap(7, rate), shot, markers=[marker(50, 10, rate, name="run")])
    w = windows_by_name(timeline(v1))["shot"]
    assert w.timeline_start == otio.opentime.RationalTime(7, rate)
    assert w.timeline_start.rate == rate
    assert w.media_start == F(1001) / exact
    assert w.cues == (Cue(F(9) / exact, "tick"),)
    assert w.spans == (Span(F(43) / exact, F(53) / exact, "run"),)
    assert all(isinstance(t, Fraction) for t in (w.cues[0].time, w.spans[0].start, w.media_start))


def test_duration_markers_become_spans_clipped_to_the_window():
    shot = clip("shot", 0, 48, markers=[marker(40, 24, name="rumble"), marker(-10, 20, name="creak")])
    w = windows_by_name(timeline(track(gap(24), shot)))["shot"]
    assert w.cues == ()
    assert w.spans == (Span(0, F(10, 24), "creak"), Span(F(40, 24), F(48, 24), "rumble"))


def test_one_frame_markers_are_cues_unless_asked_otherwise():
    shot = clip("shot", 0, 48, markers=[marker(10, 1, name="step")])
    tl = timeline(track(shot))
    assert windows_by_name(tl)["shot"].cues == (Cue(F(10, 24), "step"),)
    strict = windows_by_name(tl, cue_max_frames=0)["shot"]
    assert strict.cues == ()
    assert strict.spans == (Span(F(10, 24), F(11, 24), "step"),)


def test_identical_markers_are_kept_once():
    shot = clip("shot", 0, 48, markers=[marker(10, name="x"), marker(10, name="x"), marker(10, name="y")])
    assert windows_by_name(timeline(track(shot)))["shot"].cues == (
        Cue(F(10, 24), "x"),
        Cue(F(10, 24), "y"),
    )


def test_kdenlive_clip_markers_count_from_the_in_point():
    # Kdenlive (metadata "kdenlive") writes clip markers relative to the clip's in-point.
    kdenlive = clip("k", 100, 48, markers=[marker(5, name="kd", metadata={"kdenlive": {"type": 0}})])
    other = clip("o", 100, 48, markers=[marker(105, name="media time")])
    windows = windows_by_name(timeline(track(kdenlive), track(other, name="V2")))
    assert windows["k"].cues == (Cue(F(5, 24), "kd"),)
    assert windows["o"].cues == (Cue(F(5, 24), "media time"),)


def test_aaf_markers_on_retimed_clips_are_offsets_at_speed_one():
    # The AAF reader moves track markers into clips with transformed_time,
    # which ignores time effects.
    aaf = {"AAF": {"AttachedSlotID": 9, "AttachedPhysicalTrackNumber": 1}}
    slow = clip("slow", 100, 48, effects=[otio.schema.LinearTimeWarp(time_scalar=0.5)],
                markers=[marker(106, name="avid", metadata=aaf)])
    assert windows_by_name(timeline(track(slow)))["slow"].cues == (Cue(F(6, 24), "avid"),)


def test_marker_on_a_gap_belongs_to_its_track():
    v1 = track(clip("a", 0, 24), gap(24, markers=[marker(4, name="filler")]), clip("b", 0, 24))
    tl = timeline(v1)
    (found,) = collect_markers(place_items(tl))
    assert found.start == F(28, 24)
    assert found.scope.item is v1
    # Over a gap, so no clip of the track shows it.
    assert all(not w.cues for w in select_clips(tl))


def test_nested_stack_marker_reaches_only_clips_inside_it():
    nested = stack(track(clip("inside", 0, 24), name="inner"), markers=[marker(12, name="nested")])
    v1 = track(clip("before", 0, 24), nested)
    windows = windows_by_name(timeline(v1))
    assert windows["inside"].cues == (Cue(F(12, 24), "nested"),)
    assert windows["before"].cues == ()


def test_audio_clip_markers_do_not_reach_video_clips():
    a1 = track(clip("sound", 0, 48, markers=[marker(10, name="audio")]), name="A1",
               kind=otio.schema.TrackKind.Audio)
    windows = windows_by_name(timeline(track(clip("picture", 0, 48)), a1))
    assert list(windows) == ["picture"]
    assert windows["picture"].cues == ()


def test_collect_markers_converts_every_owner_to_timeline_time():
    v1 = track(
        gap(10),
        clip("c", 200, 20, markers=[marker(205, name="clip")]),
        source_range=span(5, 25),
        markers=[marker(8, name="track")],
    )
    tl = timeline(v1, markers=[marker(1, name="stack")])
    times = {m.label: m.start for m in collect_markers(place_items(tl))}
    assert times == {"stack": F(1, 24), "track": F(3, 24), "clip": F(10, 24)}


def test_label_falls_back_from_name_to_comment_to_colour():
    assert marker_label(marker(0, name=" door ")) == "door"
    assert marker_label(marker(0, comment="glass")) == "glass"
    assert marker_label(marker(0, metadata={"fcp_xml": {"comment": "slam"}})) == "slam"
    assert marker_label(marker(0, color=otio.schema.MarkerColor.GREEN)) == "GREEN"
    aaf_default = marker(0, name="DescriptiveMarker", metadata={"AAF": {"ClassName": "DescriptiveMarker"}})
    assert marker_label(aaf_default) == "RED"
