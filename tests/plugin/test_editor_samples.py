"""Real editor timelines: what the plugin finds matches counts taken without it.

And writing each one back, then reading it again, loses nothing.

Counts come from the files themselves where the format is readable text
(.otio JSON, FCP7 XML, EDL) and from the samples' README for FCPXML and AAF.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.clips import select_clips, start_timecode, timeline_rate
from foley_plugin.errors import TimelineError
from foley_plugin.layout import place_items
from foley_plugin.markers import Cue, collect_markers
from foley_plugin.timeline_io import read_timelines, write_timeline
from foley_plugin.timeutil import to_frames
from tests.plugin.editor_samples import SAMPLES

# Files OTIO 0.18.1 and its adapters cannot read, and why (see the samples' README).
UNREADABLE = {
    "otio-core/premiere_example.otio": "Marker.3 / Color.1 schema, newer than OTIO 0.18.1",
    "otio-core/screening_example.otio": "Marker.3 / Color.1 schema, newer than OTIO 0.18.1",
    "edl/dissolve_test_fail.edl": "invalid on purpose; the EDL reader fails with AttributeError",
    "fcpx-xml/fcpx_clips.fcpxml": "a collection of clips, no timeline",
}

# EDLs store no frame rate; these need theirs given.
EDL_OPTIONS = {
    "25fps.edl": {"rate": 25},
    "timecode_mismatch.edl": {"rate": 25, "ignore_timecode_mismatch": True},
}

# The README's counts (markers; top-level video tracks; transitions; nested
# stacks), summed over the timelines of a file.
README_COUNTS = {
    "fcpx-xml/fcpx_event.fcpxml": (14, 6, 0, 6),
    "fcpx-xml/fcpx_example.fcpxml": (14, 6, 0, 6),
    "fcpx-xml/fcpx_library.fcpxml": (14, 6, 0, 6),
    "fcpx-xml/fcpx_project.fcpxml": (7, 3, 0, 3),
    "aaf/2997fps-DFTC.aaf": (0, 1, 0, 0),
    "aaf/2997fps.aaf": (0, 1, 0, 0),
    "aaf/30fps.aaf": (0, 1, 0, 0),
    "aaf/linear_speed_effects.aaf": (0, 1, 0, 0),
    "aaf/marker-over-audio.aaf": (3, 0, 0, 0),
    "aaf/marker-over-transition.aaf": (5, 1, 1, 0),
    "aaf/misc_speed_effects.aaf": (0, 1, 0, 0),
    "aaf/multiple-markers-over-transitions.aaf": (59, 1, 8, 0),
    "aaf/multiple_markers.aaf": (10, 5, 0, 0),
    "aaf/multitrack.aaf": (3, 3, 0, 0),
    "aaf/nested_audio_dissolve.aaf": (1, 0, 1, 0),
    "aaf/nested_stack.aaf": (0, 1, 0, 1),
    "aaf/one_audio_clip.aaf": (0, 0, 0, 0),
    "aaf/transitions.aaf": (0, 1, 15, 0),
}


def sample_files() -> list[str]:
    if SAMPLES is None:
        return []
    suffixes = {".otio", ".xml", ".fcpxml", ".edl", ".aaf"}
    return sorted(
        str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*") if p.suffix in suffixes
    )


READABLE = [name for name in sample_files() if name not in UNREADABLE]


@functools.cache
def load(samples: Path, name: str) -> list[otio.schema.Timeline]:
    # Read once per session (AAF parsing is slow); no test changes what it reads.
    return read_timelines(samples / name, **EDL_OPTIONS.get(Path(name).name, {}))


def marker_count(tl: otio.schema.Timeline) -> int:
    return len(collect_markers(place_items(tl)))


def nested_stack_count(tl: otio.schema.Timeline) -> int:
    return len(tl.tracks.find_children(descended_from_type=otio.schema.Stack))


# ---------------------------------------------------------------- independent counts


def json_counts(path: Path) -> tuple[int, int]:
    """(enabled clips on enabled video tracks, nested ones included; markers) from the JSON."""
    data = json.loads(path.read_text())

    def markers(node) -> int:
        if isinstance(node, dict):
            own = str(node.get("OTIO_SCHEMA", "")).startswith("Marker.")
            return own + sum(markers(v) for v in node.values())
        if isinstance(node, list):
            return sum(markers(v) for v in node)
        return 0

    def clips(node) -> int:
        schema = node["OTIO_SCHEMA"].split(".")[0]
        if not node.get("enabled", True):
            return 0
        if schema == "Clip":
            return 1
        if schema == "Track" and node["kind"] != "Video":
            return 0
        if schema in ("Track", "Stack"):
            return sum(clips(child) for child in node["children"])
        return 0

    return clips(data["tracks"]), markers(data)


def fcp7_counts(path: Path) -> tuple[int, int]:
    """(enabled video clip items on enabled tracks, markers) of the top sequence of an FCP7 XML file.

    A clipitem holding a nested <sequence> loads as a Stack, and the reader
    keeps only the nested sequence's own markers, not those of its contents.
    """

    def enabled(element: ET.Element) -> bool:
        return (element.findtext("enabled") or "TRUE").strip().upper() != "FALSE"

    sequence = ET.parse(path).getroot().find("sequence")
    tracks = [t for t in sequence.findall("./media/video/track") if enabled(t)]
    clips = [c for t in tracks for c in t.findall("clipitem") if c.find("sequence") is None and enabled(c)]
    generators = [g for t in tracks for g in t.findall("generatoritem") if enabled(g)]
    markers = (
        sequence.findall("./marker")
        + sequence.findall("./media/*/track/clipitem/marker")
        + sequence.findall("./media/*/track/clipitem/sequence/marker")
    )
    return len(clips) + len(generators), len(markers)


EDL_EVENT = re.compile(r"^(\d+)\s+\S+\s+(\S+)\s+")


def edl_counts(path: Path) -> tuple[int, int]:
    """(video events, *LOC lines). A dissolve's two lines share one event number."""
    events, locators = set(), 0
    for line in path.read_text().splitlines():
        event = EDL_EVENT.match(line)
        if event and "V" in event.group(2):
            events.add(int(event.group(1)))
        locators += line.lstrip("* ").startswith("LOC:")
    return len(events), locators


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_samples_raise_timeline_error(samples, name):
    with pytest.raises(TimelineError) as error:
        read_timelines(samples / name)
    assert name.split("/")[-1] in str(error.value)


# Each plain-text format's own count of clips and markers, read from the file without OTIO.
FILE_COUNTS = {".otio": json_counts, ".xml": fcp7_counts, ".edl": edl_counts}


@pytest.mark.parametrize("name", [n for n in READABLE if Path(n).suffix in FILE_COUNTS])
def test_clip_and_marker_counts_match_the_files_own(samples, name):
    expected_clips, expected_markers = FILE_COUNTS[Path(name).suffix](samples / name)
    (tl,) = load(samples, name)
    assert len(select_clips(tl)) == expected_clips
    assert marker_count(tl) == expected_markers


@pytest.mark.parametrize("name", sorted(README_COUNTS))
def test_fcpxml_and_aaf_match_the_readme(samples, name):
    markers, video_tracks, transitions, nested = README_COUNTS[name]
    timelines = load(samples, name)
    assert sum(marker_count(tl) for tl in timelines) == markers
    assert sum(len(tl.video_tracks()) for tl in timelines) == video_tracks
    assert sum(len(tl.find_children(descended_from_type=otio.schema.Transition))
               for tl in timelines) == transitions
    assert sum(nested_stack_count(tl) for tl in timelines) == nested
    windows = [w for tl in timelines for w in select_clips(tl)]
    assert {w.track_index for w in windows} <= set(range(video_tracks))


@pytest.mark.parametrize(
    ("name", "time_warps"),
    [("edl/speed_effects.edl", 16), ("edl/speed_effects_small.edl", 2),
     ("otio-core/nested_example.otio", 2), ("aaf/misc_speed_effects.aaf", 8)],
)
def test_retimed_clips_match_the_readme_time_warps(samples, name, time_warps):
    # README's "Time warps" column; misc_speed_effects has one more warp at 1.0.
    (tl,) = load(samples, name)
    assert sum(w.speed != 1 for w in select_clips(tl)) == time_warps


def test_misc_speed_effects_speeds(samples):
    # README: time_scalar 2, 0.5, 3, 0.375, 14.375, 0.375, -1 and 1, and a FreezeFrame.
    (tl,) = load(samples, "aaf/misc_speed_effects.aaf")
    speeds = [w.speed for w in select_clips(tl) if w.speed != 1]
    f = Fraction
    assert sorted(speeds) == sorted([2, f(1, 2), 3, f(3, 8), f(115, 8), f(3, 8), -1, 0])


def test_linear_speed_effects_speeds(samples):
    # README: 19 LinearTimeWarps from 0.25 to 5.0, three of them at 1.0.
    (tl,) = load(samples, "aaf/linear_speed_effects.aaf")
    retimed = [w.speed for w in select_clips(tl) if w.speed != 1]
    assert len(retimed) == 16
    assert min(retimed) == Fraction(1, 4) and max(retimed) == 5


def test_avid_marker_list_matches_the_marker_times(samples):
    # Media Composer's own list: absolute frame in column 2, marker name in column 5.
    rows = [line.split("\t") for line in (samples / "aaf" / "multiple-markers-over-transitions.txt")
            .read_text().splitlines() if line.strip()]
    truth = Counter((int(row[1]), row[4]) for row in rows)
    (tl,) = load(samples, "aaf/multiple-markers-over-transitions.aaf")
    found = Counter((m.start * 24, m.label) for m in collect_markers(place_items(tl)))
    # The reader drops the three markers under the last transition (README).
    assert truth - found == Counter({(392, "25"): 1, (398, "31"): 1, (404, "37"): 1})
    assert found - truth == Counter()


def test_avid_time_warp_markers_sit_on_their_clips_first_frame(samples):
    # Each clip of this Media Composer test carries one locator describing its
    # effect, on its first frame; retimed clips must not move it.
    (tl,) = load(samples, "aaf/time_warp_test.avid_media_composer.aaf")
    windows = select_clips(tl)
    assert len(windows) == marker_count(tl) == 75
    assert all(len(w.cues) == 1 and w.cues[0].time == 0 for w in windows)


def test_kdenlive_guides_and_clip_markers(samples):
    (tl,) = load(samples, "kdenlive/test-guides-markers.otio")
    cues = {w.name: w.cues for w in select_clips(tl)}
    f = Fraction
    assert cues == {
        "blue.mpg": (Cue(f(1, 24), "This is the first guide"), Cue(f(2, 24), "This is the first marker"),
                     Cue(f(3, 24), "This is the second marker")),
        # The fourth marker sits on frame 5 of a 5-frame clip: past its end.
        "red.mpg": (Cue(f(3, 24), "This is the third marker"),),
        "yellow.mpg": (Cue(f(4, 24), "This is the fifth marker"), Cue(f(4, 24), "This is the second guide")),
    }


def test_premiere_sequence_markers_reach_the_clips_under_them(samples):
    (tl,) = load(samples, "fcp7-xml/premiere_example.xml")
    labels = {w.name: [c.label for c in w.cues] for w in select_clips(tl)}
    assert labels["test_title"] == ["My MArker 1", "RED", "dsf"]
    assert labels["sc01_sh030_anim.mov"] == ["RED", "dsf"]


def test_edl_locators_are_record_timecode_even_outside_their_clips_source(samples):
    # The EDL's record column starts at 00:59:53:11. Event 004 is recorded from
    # 00:59:58:00 (source 01:00:10:01 on) and carries LOCs at 01:00:01:14 and
    # 01:00:02:14, outside its source range; event 007 is recorded from
    # 01:00:13:17 with a LOC at 01:00:15:13.
    def frames(timecode: str) -> int:
        return int(otio.opentime.from_timecode(timecode, 24).value)

    (tl,) = load(samples, "edl/screening_example.edl")
    cues = {w.name: [(w.timeline_start.value, c.time * 24, c.label) for c in w.cues] for w in select_clips(tl) if w.cues}
    start = frames("00:59:53:11")
    event_4, event_7 = frames("00:59:58:00"), frames("01:00:13:17")
    assert cues == {
        "ZZ100_504C (LAY1)": [(event_4 - start, frames("01:00:01:14") - event_4, "ANIM FIX NEEDED"),
                              (event_4 - start, frames("01:00:02:14") - event_4, "ANIM FIX NEEDED")],
        "ZZ100_508 (LAY2)": [(event_7 - start, frames("01:00:15:13") - event_7, "GREEN")],
    }


def test_start_timecode_of_an_edl_is_its_first_record_timecode(samples):
    # --range timecodes count from it; the EDL reader sets no global_start_time.
    (screening,) = load(samples, "edl/screening_example.edl")
    assert start_timecode(screening) == otio.opentime.from_timecode("00:59:53:11", 24)
    (gaps,) = load(samples, "edl/gap_test.edl")  # records from 00:00:00:00
    assert start_timecode(gaps) is None
    (premiere,) = load(samples, "aaf/2997fps-DFTC.aaf")
    assert start_timecode(premiere) == premiere.global_start_time


def test_fcp7_disabled_clips_and_tracks_get_no_foley(samples):
    # Video track 1 holds two disabled clips between enabled ones; video track 3 is disabled.
    (tl,) = load(samples, "fcp7-xml/premiere_enable_property.xml")
    assert sorted(w.name for w in select_clips(tl)) == ["source.mp4", "source.mp4", "source3.mp4"]
    assert sorted(c.name for c in tl.find_clips() if not c.enabled) == [
        "audio_track_1_disabled_1", "video_track_1_disabled_1", "video_track_1_disabled_2", "video_track_3_disabled_1",
    ]
    assert [t.enabled for t in tl.video_tracks()] == [True, True, False]


def test_kdenlive_dissolves_show_both_clips(samples):
    # Cuts at frames 24 and 48; the first dissolve runs 12 frames before its cut and 4
    # after, the second 4 before and 12 after. Each clip plays wherever it shows.
    (tl,) = load(samples, "kdenlive/test-transitions.otio")
    windows = [(w.name, w.timeline_start.value, w.timeline_range.end_time_exclusive().value) for w in select_clips(tl)]
    assert windows == [("red.png", 0, 24 + 4), ("yellow.png", 24 - 12, 48 + 12), ("blue.png", 48 - 4, 72)]


def round_trip_summary(tl: otio.schema.Timeline) -> dict:
    """What a write-back must keep, in whole frames (FCP7 XML stores no sub-frame in-points)."""
    rate = timeline_rate(tl)

    def frames(seconds: Fraction) -> int:
        return to_frames(seconds, rate)

    return {
        "tracks": [(t.kind, t.trimmed_range().duration) for t in tl.tracks],
        "clips": len(tl.find_clips()),
        "windows": [
            (w.name, w.track_index, w.timeline_start.value, w.duration.value, frames(w.media_start),
             w.speed, [(frames(c.time), c.label) for c in w.cues],
             [(frames(s.start), frames(s.end), s.label) for s in w.spans])
            for w in select_clips(tl)
        ],
        "markers": sorted({(frames(m.start), frames(m.duration), m.label)
                           for m in collect_markers(place_items(tl))}),
    }


def writable_suffix(name: str, tl: otio.schema.Timeline) -> str:
    suffix = Path(name).suffix
    if suffix == ".edl" and len(tl.video_tracks()) == 1 and not tl.audio_tracks():
        return suffix
    return suffix if suffix in (".otio", ".xml", ".fcpxml") else ".otio"


@pytest.mark.parametrize("name", READABLE)
def test_write_back_loses_nothing(samples, tmp_path, name):
    for index, tl in enumerate(load(samples, name)):
        before = round_trip_summary(tl)
        markers_before = marker_count(tl)
        nested_markers = sum(
            len(s.markers) for s in tl.tracks.find_children(descended_from_type=otio.schema.Stack)
        )
        suffix = writable_suffix(name, tl)
        out = tmp_path / f"copy{index}{suffix}"
        write_timeline(tl, out)
        options = EDL_OPTIONS.get(Path(name).name, {}) if suffix == ".edl" else {}
        (again,) = read_timelines(out, **options)
        assert round_trip_summary(again) == before
        # The FCP7 XML writer puts a nested sequence's markers on both the
        # sequence and its clipitem, and the reader keeps both (an adapter bug).
        duplicated = nested_markers if suffix == ".xml" else 0
        assert marker_count(again) == markers_before + duplicated
