"""The Foley track: aligned clip for clip, at the timeline's rate, replaced on a second run."""

from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.clips import select_clips
from foley_plugin.foley_track import FoleyClipResult, add_foley_track, is_foley_track
from foley_plugin.timeline_io import read_timeline, write_timeline
from tests.plugin.otio_builders import clip, gap, span, timeline, track

NTSC = 24000 / 1001


def make_edit(rate: float = 24.0) -> otio.schema.Timeline:
    v1 = track(gap(10, rate), clip("door", 100, 30, rate), clip("walk", 0, 50, rate), gap(5, rate),
               clip("glass", 7, 20, rate), name="V1")
    a1 = track(clip("dialogue", 0, 120, rate), name="A1", kind=otio.schema.TrackKind.Audio)
    return timeline(v1, a1, global_start=otio.opentime.RationalTime(0, rate))


def results_for(windows, folder: Path):
    return [
        FoleyClipResult(w, folder / "foley" / f"{w.name}.wav", {"seed": i, "model": "test"})
        for i, w in enumerate(windows)
    ]


def serialized_tracks(tl):
    return [otio.adapters.write_to_string(t, "otio_json") for t in tl.tracks if not is_foley_track(t)]


def test_clips_align_with_the_windows(tmp_path):
    tl = make_edit()
    windows = select_clips(tl)
    foley = add_foley_track(tl, results_for(windows, tmp_path), tmp_path / "cut.foley.otio")
    assert foley.name == "Foley"
    assert foley.kind == otio.schema.TrackKind.Audio
    assert tl.tracks[-1] is foley
    clips = foley.find_clips()
    assert [c.name for c in clips] == ["door (Foley)", "walk (Foley)", "glass (Foley)"]
    for window, new in zip(windows, clips):
        assert new.range_in_parent() == window.timeline_range
        assert new.metadata["foley"]["kind"] == "clip"
        assert new.metadata["foley"]["model"] == "test"
        assert new.media_reference.available_range.duration == window.duration
    assert [c.metadata["foley"]["seed"] for c in clips] == [0, 1, 2]
    assert [type(i).__name__ for i in foley] == ["Gap", "Clip", "Clip", "Gap", "Clip"]


@pytest.mark.parametrize("rate", [24.0, 25.0, NTSC, 30000 / 1001])
def test_every_range_is_at_the_timeline_rate(tmp_path, rate):
    tl = make_edit(rate)
    before = tl.duration()
    foley = add_foley_track(tl, results_for(select_clips(tl), tmp_path), tmp_path / "cut.otio")
    ranges = [foley.trimmed_range()]
    for item in foley:
        ranges += [item.source_range, item.range_in_parent()]
        if isinstance(item, otio.schema.Clip):
            ranges.append(item.media_reference.available_range)
    for r in ranges:
        assert r.start_time.rate == rate and r.duration.rate == rate
        assert r.start_time.value == int(r.start_time.value)
        assert r.duration.value == int(r.duration.value)
    assert tl.duration().rate == rate
    assert tl.duration() == before


def test_media_paths_are_relative_to_the_output(tmp_path):
    tl = make_edit()
    (door, *_) = select_clips(tl)
    result = FoleyClipResult(door, tmp_path / "renders" / "door 1.wav", {})
    foley = add_foley_track(tl, [result], tmp_path / "out" / "cut.foley.otio")
    assert foley.find_clips()[0].media_reference.target_url == "../renders/door 1.wav"


@pytest.mark.parametrize("suffix", [".xml", ".fcpxml", ".aaf"])
def test_media_are_file_urls_where_the_editors_importers_want_them(tmp_path, suffix):
    tl = make_edit()
    (door, *_) = select_clips(tl)
    result = FoleyClipResult(door, tmp_path / "renders" / "door 1.wav", {})
    foley = add_foley_track(tl, [result], tmp_path / "out" / f"cut.foley{suffix}")
    assert foley.find_clips()[0].media_reference.target_url == f"file://{tmp_path}/renders/door%201.wav"


def test_second_run_replaces_the_first(tmp_path):
    tl = make_edit()
    windows = select_clips(tl)
    add_foley_track(tl, results_for(windows, tmp_path), tmp_path / "cut.otio")
    track_count = len(tl.tracks)
    second = add_foley_track(tl, results_for(windows[:1], tmp_path), tmp_path / "cut.otio")
    assert len(tl.tracks) == track_count
    assert [t.name for t in tl.tracks if is_foley_track(t)] == ["Foley"]
    assert len(second.find_clips()) == 1


def test_second_run_after_a_file_round_trip(tmp_path):
    tl = make_edit()
    out = tmp_path / "cut.foley.otio"
    add_foley_track(tl, results_for(select_clips(tl), tmp_path), out)
    write_timeline(tl, out)
    again = read_timeline(out)
    add_foley_track(again, results_for(select_clips(again), tmp_path), tmp_path / "cut.foley2.otio")
    assert [t.name for t in again.tracks] == ["V1", "A1", "Foley"]


def test_other_tracks_are_untouched(tmp_path):
    tl = make_edit()
    before = serialized_tracks(tl)
    stack_markers = len(tl.tracks.markers)
    add_foley_track(tl, results_for(select_clips(tl), tmp_path), tmp_path / "cut.otio")
    add_foley_track(tl, results_for(select_clips(tl), tmp_path), tmp_path / "cut.otio")
    assert serialized_tracks(tl) == before
    assert len(tl.tracks.markers) == stack_markers


def test_overlapping_windows_go_on_more_tracks(tmp_path):
    v1 = track(clip("low", 0, 48), name="V1")
    v2 = track(gap(12), clip("high", 0, 24), gap(20), clip("later", 0, 24), name="V2")
    tl = timeline(v1, v2)
    first = add_foley_track(tl, results_for(select_clips(tl), tmp_path), tmp_path / "cut.otio")
    foley_tracks = [t for t in tl.tracks if is_foley_track(t)]
    assert [t.name for t in foley_tracks] == ["Foley", "Foley 2"]
    assert first is foley_tracks[0]
    assert [c.name for c in foley_tracks[0].find_clips()] == ["low (Foley)", "later (Foley)"]
    assert [c.name for c in foley_tracks[1].find_clips()] == ["high (Foley)"]
    assert foley_tracks[1].find_clips()[0].range_in_parent() == span(12, 24)


def test_no_results_leave_an_empty_foley_track(tmp_path):
    tl = make_edit()
    foley = add_foley_track(tl, [], tmp_path / "cut.otio")
    assert len(foley) == 0 and is_foley_track(foley)
