"""Which clips are scored, and the window of each on the timeline."""

from fractions import Fraction

import opentimelineio as otio
import pytest

from foley_plugin.clips import select_clips, timeline_rate
from foley_plugin.errors import SelectionError
from foley_plugin.markers import Cue
from tests.plugin.otio_builders import clip, gap, marker, span, stack, timeline, track

F = Fraction


def names(windows):
    return [w.name for w in windows]


@pytest.fixture
def edit():
    """Two video tracks (one disabled clip), a disabled video track and an audio track."""
    v1 = track(clip("a", 0, 24), clip("off", 0, 24, enabled=False), clip("b", 0, 24), name="Main")
    v2 = track(gap(12), clip("c", 0, 24), name="Over")
    hidden = track(clip("muted", 0, 24), name="Hidden", enabled=False)
    a1 = track(clip("sound", 0, 72), name="A1", kind=otio.schema.TrackKind.Audio)
    return timeline(v1, v2, hidden, a1)


def test_all_enabled_clips_on_enabled_video_tracks(edit):
    windows = select_clips(edit)
    assert names(windows) == ["a", "c", "b"]  # timeline order
    assert [(w.track_name, w.track_index) for w in windows] == [("Main", 0), ("Over", 1), ("Main", 0)]
    b = windows[2]
    assert (b.timeline_start.value, b.duration.value) == (48, 24)


def test_narrow_by_track_name_index_or_number(edit):
    assert names(select_clips(edit, tracks=["Over"])) == ["c"]
    assert names(select_clips(edit, tracks=[0])) == ["a", "b"]
    assert names(select_clips(edit, tracks=["V2"])) == ["c"]
    assert names(select_clips(edit, tracks=["2"])) == ["c"]  # editors count from 1
    # A disabled track can be named but still holds nothing to score.
    assert names(select_clips(edit, tracks=["Hidden"])) == []


def test_unknown_track_is_an_error_listing_the_tracks(edit):
    with pytest.raises(SelectionError, match="'Main'"):
        select_clips(edit, tracks=["Dialogue"])
    with pytest.raises(SelectionError):
        select_clips(edit, tracks=[7])


def test_narrow_by_clip_name(edit):
    assert names(select_clips(edit, clip_names=["b", "c"])) == ["c", "b"]
    with pytest.raises(SelectionError, match="'nope'"):
        select_clips(edit, clip_names=["nope"])


def test_narrow_by_time_range_keeps_the_overlap(edit):
    v1 = edit.tracks[0]
    v1[0].markers.append(marker(20, name="late"))
    windows = select_clips(edit, time_range=span(18, 20))
    assert [(w.name, w.timeline_start.value, w.duration.value) for w in windows] == [
        ("a", 18, 6),
        ("c", 18, 18),
    ]
    a = windows[0]
    assert a.media_start == F(18, 24)
    assert a.cues == (Cue(F(2, 24), "late"),)


def test_time_range_at_another_rate():
    tl = timeline(track(clip("a", 0, 48)))
    (w,) = select_clips(tl, time_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0.5, 1), otio.opentime.RationalTime(0.5, 1)))
    assert (w.timeline_start.value, w.duration.value) == (12, 12)


def test_clips_in_a_nested_stack_are_scored_where_they_appear():
    nested = stack(
        track(clip("deep", 100, 48), name="inner video"),
        track(clip("deep sound", 0, 48), name="inner audio", kind=otio.schema.TrackKind.Audio),
        source_range=span(12, 24),
    )
    tl = timeline(track(clip("first", 0, 10), nested, name="V1"))
    windows = select_clips(tl)
    assert names(windows) == ["first", "deep"]
    deep = windows[1]
    assert (deep.timeline_start.value, deep.duration.value) == (10, 24)
    assert deep.media_start == F(112, 24)
    assert (deep.track_name, deep.track_index) == ("V1", 0)


def test_a_transition_shows_both_clips_so_both_windows_cover_it():
    # Cut at frame 48; the dissolve runs from 4 frames before it to 8 after.
    dissolve = otio.schema.Transition(in_offset=otio.opentime.RationalTime(4, 24),
                                      out_offset=otio.opentime.RationalTime(8, 24))
    tl = timeline(track(clip("out", 0, 48), dissolve, clip("in", 10, 48)))
    windows = select_clips(tl)
    assert [(w.timeline_start.value, w.duration.value) for w in windows] == [(0, 56), (44, 52)]
    # The incoming clip starts showing 4 frames before its in-point.
    assert windows[1].media_start == F(6, 24)


def test_a_transition_from_a_gap_extends_only_the_clip():
    fade_in = otio.schema.Transition(in_offset=otio.opentime.RationalTime(3, 24),
                                     out_offset=otio.opentime.RationalTime(3, 24))
    tl = timeline(track(gap(24), fade_in, clip("in", 10, 48)))
    (window,) = select_clips(tl)
    assert (window.timeline_start.value, window.duration.value) == (21, 51)


def test_global_start_time_is_not_added():
    tl = timeline(track(gap(5), clip("a", 0, 24)), global_start=otio.opentime.RationalTime(86400, 24))
    (w,) = select_clips(tl)
    assert w.timeline_start.value == 5


def test_generated_clip_gets_a_reason_instead_of_media():
    bars = otio.schema.Clip(
        name="Bars",
        media_reference=otio.schema.GeneratorReference(generator_kind="SMPTEBars"),
        source_range=span(0, 24),
    )
    (w,) = select_clips(timeline(track(bars)))
    assert w.media.path is None
    assert "Bars" in w.media.reason and "SMPTEBars" in w.media.reason


def test_zero_length_clips_are_skipped():
    assert names(select_clips(timeline(track(clip("empty", 0, 0), clip("a", 0, 2))))) == ["a"]


def test_windows_compare_without_the_clip_object_and_hash():
    tl = timeline(track(clip("a", 0, 24)))
    first, second = select_clips(tl)[0], select_clips(tl)[0]
    assert first == second
    assert hash(first) == hash(second)


def test_timeline_rate_sources():
    ntsc = 24000 / 1001
    start = otio.opentime.RationalTime(0, ntsc)
    assert timeline_rate(timeline(track(clip("a", 0, 5)), global_start=start)) == ntsc
    with_track_range = track(clip("a", 0, 5, 25.0), source_range=span(0, 5, 30.0))
    assert timeline_rate(timeline(with_track_range)) == 30.0
    assert timeline_rate(timeline(track(gap(3, 25.0), clip("a", 0, 5, 25.0)))) == 25.0
    assert timeline_rate(timeline()) == 24.0
