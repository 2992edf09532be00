"""`foley generate --manifest FILE`: the WAVs and their timeline frames as JSON, for editor scripts."""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio

from foley_plugin.foley_track import is_foley_track
from foley_plugin.timeline_io import read_timeline

from ..conftest import ServerThread
from .plugin_runs import run_in_process, write_standin

RATE = 24


def frames(start: int, duration: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, RATE), otio.opentime.RationalTime(duration, RATE))


def two_shots(media: Path) -> otio.schema.Timeline:
    """Shot A (frames 0–24) on V1 and C (6–30) on V2, in a timeline starting at 01:00:00:00."""
    timeline = otio.schema.Timeline("cut", global_start_time=otio.opentime.RationalTime(86_400, RATE))
    reference = otio.schema.ExternalReference(target_url=media.as_uri(), available_range=frames(0, 72))

    def shot(name: str, source_in: int) -> otio.schema.Clip:
        return otio.schema.Clip(name=name, media_reference=reference.clone(), source_range=frames(source_in, 24))

    v1 = otio.schema.Track("V1", children=[shot("A", 0)])
    v2 = otio.schema.Track("V2", children=[otio.schema.Gap(source_range=frames(0, 6)), shot("C", 12)])
    timeline.tracks.extend([v1, v2])
    return timeline


def test_the_manifest_lists_each_wav_with_its_frames_and_track(engine_server: ServerThread, tmp_path: Path, capsys) -> None:
    media = tmp_path / "shot.mp4"
    write_standin(media, seconds=3)
    source = tmp_path / "cut.otio"
    otio.adapters.write_to_file(two_shots(media), str(source))
    manifest_path = tmp_path / "out" / "manifest.json"
    manifest_path.parent.mkdir()

    status, err = run_in_process(
        capsys, "generate", source, "--engine", engine_server.address, "--steps", "2", "--manifest", manifest_path
    )
    assert status == 0, err

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    output = tmp_path / "cut.foley.otio"
    assert manifest["version"] == 1 and manifest["timeline"] == str(output) and manifest["rate"] == RATE
    # Frames count from the timeline's first frame, not from its 01:00:00:00 start; overlapping C gets lane 2.
    placed = [(c["name"], c["record_frame"], c["duration_frames"], c["lane"]) for c in manifest["clips"]]
    assert placed == [("A (Foley)", 0, 24, 1), ("C (Foley)", 6, 24, 2)]

    written = read_timeline(output)
    lanes = [track for track in written.tracks if is_foley_track(track)]
    played = {
        (lane, clip.range_in_parent().start_time.value): (output.parent / clip.media_reference.target_url).resolve()
        for lane, track in enumerate(lanes, start=1)
        for clip in track.find_clips()
    }
    assert {(c["lane"], c["record_frame"]): Path(c["wav"]) for c in manifest["clips"]} == played
    assert all(Path(c["wav"]).is_absolute() and Path(c["wav"]).is_file() for c in manifest["clips"])


def test_a_manifest_that_cannot_be_written_stops_the_run_before_any_job(tmp_path: Path, capsys) -> None:
    media = tmp_path / "shot.mp4"
    write_standin(media, seconds=3)
    source = tmp_path / "cut.otio"
    otio.adapters.write_to_file(two_shots(media), str(source))

    # No engine listens there: the run must stop before it would be asked anything.
    status, err = run_in_process(
        capsys, "generate", source, "--engine", "unix:/nonexistent/engine.sock", "--manifest", tmp_path / "no" / "m.json"
    )
    assert status == 1
    assert f"{tmp_path / 'no'}: no such folder" in err and "engine" not in err
    assert not (tmp_path / "cut.foley.otio").exists()
