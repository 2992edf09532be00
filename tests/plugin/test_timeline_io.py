"""Reading timeline files into TimelineErrors that say what to do, and writing them atomically."""

import errno
import os
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin import files, timeline_io
from foley_plugin.errors import OutputError, PluginError, TimelineError
from foley_plugin.foley_track import is_foley_track
from foley_plugin.timeline_io import (
    check_output_format,
    default_output_path,
    read_timeline,
    read_timelines,
    readable_suffixes,
    write_timeline,
    write_timelines,
)
from tests.plugin.otio_builders import clip, span, timeline, track


def write_otio(path: Path, tl: otio.schema.Timeline | None = None) -> Path:
    otio.adapters.write_to_file(tl or timeline(track(clip("a", 0, 24))), str(path))
    return path


def test_timeline_error_is_a_plugin_error():
    assert issubclass(TimelineError, PluginError)


def test_readable_formats_come_from_the_installed_adapters():
    table = readable_suffixes()
    for suffix, adapter in {
        ".otio": "otio_json",
        ".otioz": "otioz",
        ".xml": "fcp_xml",
        ".fcpxml": "fcpx_xml",
        ".edl": "cmx_3600",
        ".aaf": "AAF",
    }.items():
        assert table[suffix] == adapter


def test_reads_an_otio_file(tmp_path):
    tl = read_timeline(write_otio(tmp_path / "cut.otio"))
    assert [c.name for c in tl.find_clips()] == ["a"]


def test_missing_file(tmp_path):
    with pytest.raises(TimelineError, match="no such file"):
        read_timeline(tmp_path / "gone.otio")


def test_unknown_extension_lists_the_supported_ones(tmp_path):
    path = tmp_path / "cut.prproj"
    path.write_text("x")
    with pytest.raises(TimelineError) as error:
        read_timeline(path)
    message = str(error.value)
    assert "cut.prproj" in message
    for suffix in (".otio", ".xml", ".fcpxml", ".edl", ".aaf"):
        assert suffix in message


@pytest.mark.parametrize("suffix", [".otio", ".xml", ".fcpxml"])
def test_truncated_file_is_reported_as_corrupt(tmp_path, suffix):
    full = tmp_path / f"full{suffix}"
    adapter = readable_suffixes()[suffix]
    otio.adapters.write_to_file(timeline(track(clip("a", 0, 24))), str(full), adapter_name=adapter)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(TimelineError, match="corrupt or truncated") as error:
        read_timeline(cut)
    assert str(cut) in str(error.value)


def test_edl_at_the_wrong_rate_suggests_rate(samples):
    with pytest.raises(TimelineError, match="--rate"):
        read_timeline(samples / "edl" / "25fps.edl")
    assert len(read_timeline(samples / "edl" / "25fps.edl", rate=25).find_clips()) == 4


def test_edl_with_mismatched_durations(samples):
    path = samples / "edl" / "timecode_mismatch.edl"
    with pytest.raises(TimelineError, match="record durations"):
        read_timeline(path, rate=25)
    tl = read_timeline(path, rate=25, ignore_timecode_mismatch=True)
    assert len(tl.find_clips()) == 20


def test_newer_otio_schema_says_so(samples):
    with pytest.raises(TimelineError, match="newer OpenTimelineIO schema"):
        read_timeline(samples / "otio-core" / "screening_example.otio")


def test_collections_of_timelines(samples):
    path = samples / "fcpx-xml" / "fcpx_event.fcpxml"
    timelines = read_timelines(path)
    assert len(timelines) == 2
    assert read_timeline(path).name == timelines[0].name


def test_file_without_a_timeline(samples):
    with pytest.raises(TimelineError, match="no timeline"):
        read_timeline(samples / "fcpx-xml" / "fcpx_clips.fcpxml")


def test_default_output_path():
    assert default_output_path(Path("/e/cut.xml")) == Path("/e/cut.foley.xml")
    assert default_output_path(Path("/e/cut.fcpxml")) == Path("/e/cut.foley.fcpxml")
    assert default_output_path(Path("/e/cut.otio")) == Path("/e/cut.foley.otio")
    assert default_output_path(Path("/e/cut.aaf")) == Path("/e/cut.foley.aaf")
    assert default_output_path(Path("/e/cut.edl")) == Path("/e/cut.foley.otio")


def test_write_then_read_back(tmp_path):
    out = tmp_path / "out.xml"
    write_timeline(timeline(track(clip("a", 0, 24))), out)
    assert [c.name for c in read_timeline(out).find_clips()] == ["a"]
    assert os.listdir(tmp_path) == ["out.xml"]


def test_never_overwrites_its_input(tmp_path):
    source = write_otio(tmp_path / "cut.otio")
    original = source.read_bytes()
    tl = read_timeline(source)
    tl.tracks[0].append(clip("b", 0, 24))
    with pytest.raises(TimelineError, match="own input"):
        write_timeline(tl, source)
    with pytest.raises(TimelineError, match="own input"):
        write_timeline(tl, tmp_path / "." / "cut.otio")
    assert source.read_bytes() == original
    assert os.listdir(tmp_path) == ["cut.otio"]


def test_a_copy_of_the_input_may_be_written_elsewhere(tmp_path):
    source = write_otio(tmp_path / "cut.otio")
    tl = read_timeline(source)
    write_timeline(tl, default_output_path(source))
    assert sorted(os.listdir(tmp_path)) == ["cut.foley.otio", "cut.otio"]


def test_a_failing_writer_leaves_no_temp_file_and_keeps_the_old_output(tmp_path, monkeypatch):
    out = write_otio(tmp_path / "out.otio")
    before = out.read_bytes()

    def broken_writer(tl, adapter_name=None):
        raise RuntimeError("cannot encode this")

    monkeypatch.setattr(timeline_io.otio.adapters, "write_to_string", broken_writer)
    with pytest.raises(TimelineError, match="cannot encode this"):
        write_timeline(timeline(track(clip("new", 0, 24))), out)
    assert out.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.otio"]


def test_a_disk_that_fills_mid_write_leaves_no_temp_file_and_keeps_the_old_output(tmp_path, monkeypatch):
    out = write_otio(tmp_path / "out.otio")
    before = out.read_bytes()

    def full_disk(handle, data):
        handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_to_disk", full_disk)
    with pytest.raises(OutputError, match=r"out\.otio: cannot be written .*disk is full"):
        write_timeline(timeline(track(clip("new", 0, 24))), out)
    assert out.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.otio"]


def test_an_output_format_without_room_for_the_foley_track_is_refused_up_front(tmp_path):
    for name in ("cut.otio", "cut.otioz", "cut.xml", "cut.fcpxml", "cut.aaf", "cut.kdenlive"):
        check_output_format(tmp_path / name)
    for name in ("cut.edl", "cut.mov", "cut"):
        with pytest.raises(TimelineError, match=r"cannot hold the Foley track.*\.otio"):
            check_output_format(tmp_path / name)


def test_formats_that_cannot_be_written(tmp_path):
    tl = timeline(track(clip("a", 0, 24)))
    with pytest.raises(TimelineError, match="written as"):
        write_timeline(tl, tmp_path / "cut.mov")
    assert os.listdir(tmp_path) == []


def test_an_edl_that_would_lose_tracks_is_refused(tmp_path):
    two_tracks = timeline(
        track(clip("a", 0, 24)),
        track(clip("foley", 0, 24), name="Foley", kind=otio.schema.TrackKind.Audio),
    )
    with pytest.raises(TimelineError, match="one video track"):
        write_timeline(two_tracks, tmp_path / "cut.edl")
    write_timeline(timeline(track(clip("a", 0, 24))), tmp_path / "single.edl")
    assert len(read_timeline(tmp_path / "single.edl").find_clips()) == 1


def test_written_file_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    out = write_otio(tmp_path / "out.otio")
    out.chmod(0o640)
    write_timeline(timeline(track(clip("a", 0, 24))), out)
    assert out.stat().st_mode & 0o777 == 0o640



def test_an_aaf_is_written_where_the_aaf_writer_can_and_says_that_markers_are_left_out(samples, tmp_path):
    tl = read_timeline(samples / "aaf" / "marker-over-transition.aaf")
    media = tmp_path / "cut.foley-media"
    media.mkdir()
    (media / "01-shot.wav").write_bytes(b"")
    foley = clip("shot (Foley)", 0, 24, url=(media / "01-shot.wav").as_uri())
    foley.media_reference.available_range = span(0, 24)
    tl.tracks.append(track(foley, name="Foley", kind=otio.schema.TrackKind.Audio))
    out = tmp_path / "cut.foley.aaf"

    written = write_timeline(tl, out)

    assert written.path == out and os.listdir(tmp_path) == ["cut.foley-media", "cut.foley.aaf"]
    assert written.notes == (
        f"{out}: AAF keeps no markers, so the sequence's 5 marker(s) are not in it "
        "(they stay in the editor's own sequence)",
    )
    back = read_timeline(out)
    assert [c.name for c in back.find_clips()] == [c.name for c in tl.find_clips()]
    (foley,) = [t for t in back.tracks if is_foley_track(t)]
    assert [c.media_reference.target_url for c in foley.find_clips()] == [(media / "01-shot.wav").as_uri()]


def test_a_timeline_the_aaf_writer_refuses_is_written_as_otio(samples, tmp_path):
    # 23.976 fps media in a 29.97 fps sequence: the AAF writer wants one rate.
    tl = read_timeline(samples / "aaf" / "2997fps-DFTC.aaf")
    out = tmp_path / "cut.foley.aaf"

    written = write_timeline(tl, out)

    assert written.path == tmp_path / "cut.foley.otio" and os.listdir(tmp_path) == ["cut.foley.otio"]
    (note,) = written.notes
    assert note.startswith(f"{out}: not written, the AAF writer cannot take this timeline (")
    assert "29.97" in note and "23.976" in note and note.endswith(f"; wrote {written.path} instead")
    assert read_timeline(written.path).to_json_string() == tl.to_json_string()


def test_every_timeline_of_a_file_is_written_back_in_its_collection(samples, tmp_path):
    source = samples / "fcpx-xml" / "fcpx_event.fcpxml"
    timelines = read_timelines(source)
    out = tmp_path / "event.fcpxml"

    assert write_timelines(timelines, out).path == out

    assert [t.to_json_string() for t in read_timelines(out)] == [t.to_json_string() for t in timelines]
    collection = otio.adapters.read_from_file(str(out))
    assert collection.name == otio.adapters.read_from_file(str(source)).name == "OpenTimeline_Event"


def test_ntsc_fcpxml_is_refused_since_its_reader_would_misplace_every_clip(samples, tmp_path):
    # The same project at 29.97 fps: otio-fcpx-xml-adapter 1.0.0 would read it as 29 fps.
    text = (samples / "fcpx-xml" / "fcpx_project.fcpxml").read_text()
    assert 'frameDuration="100/3000s"' in text
    ntsc = tmp_path / "ntsc.fcpxml"
    ntsc.write_text(text.replace('frameDuration="100/3000s"', 'frameDuration="1001/30000s"'))
    with pytest.raises(TimelineError, match=r"uses 29\.970 fps, which the FCPXML reader .* wrong frame") as error:
        read_timeline(ntsc)
    assert str(error.value).startswith(f"{ntsc}: ")


def test_fcpxml_output_needs_a_rate_its_writer_knows(tmp_path):
    for rate in (24, 25, 30.0, 50, 60):
        check_output_format(tmp_path / "cut.fcpxml", rate)
    for rate in (24000 / 1001, 30000 / 1001, 15):
        with pytest.raises(TimelineError, match=r"cannot write a .* fps timeline .* as \.otio or \.xml instead"):
            check_output_format(tmp_path / "cut.fcpxml", rate)
    check_output_format(tmp_path / "cut.xml", 30000 / 1001)


def test_fcpxml_times_that_floats_cannot_hold_read_back_on_their_frame(samples, tmp_path):
    # 41/10 s is frame 123 at 30 fps, but 4.1 * 30 is 122.99999999999999 in floats: the adapter's
    # own reader truncated such times to the frame before, markers and cuts alike.
    timelines = read_timelines(samples / "fcpx-xml" / "fcpx_project.fcpxml")
    clips = list(timelines[0].find_clips())
    first = clips[0]
    frames = (122, 123, 124, 247)
    for frame in frames:
        first.markers.append(
            otio.schema.Marker(
                name=f"m{frame}",
                marked_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(frame, 30), otio.opentime.RationalTime(0, 30)
                ),
            )
        )
    out = tmp_path / "markers.fcpxml"
    write_timelines(timelines, out)
    again = read_timelines(out)[0]
    read = {m.name: m.marked_range.start_time for c in again.find_clips() for m in c.markers if m.name in {
        f"m{frame}" for frame in frames
    }}
    assert {name: (time.value, time.rate) for name, time in read.items()} == {
        f"m{frame}": (frame, 30) for frame in frames
    }
