"""Bad inputs and failing writes: a clear error naming the file and what to do, a
non-zero exit, the input untouched, and nothing written half-way.

Timelines and media are real files; writes fail where the plugin's bytes meet
the disk (`files._write_to_disk`), as they do on a full or read-only disk.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from foley_plugin import files
from foley_plugin.resume import RECORDS_FOLDER
from tests.plugin.test_editor_samples import READABLE

from ..conftest import ServerThread
from .plugin_runs import FileState, ScriptedEngine, copy_demo, files_below, run_in_process

STEPS = ["--steps", "1"]
# EDLs are lines of text with no end marker: one cut short is often another valid EDL.
TRUNCATABLE = [name for name in READABLE if not name.endswith(".edl")]


def fail_writes(monkeypatch: pytest.MonkeyPatch, error: int, target: str) -> None:
    """Writes of files named `target` fail with `error` half-way through, the way a disk fills up."""
    write = files._write_to_disk

    def failing(handle, data: bytes) -> None:
        if Path(handle.name).name.startswith(f".{target}."):  # write_atomically's temporary file for it
            handle.write(data[: len(data) // 2])
            raise OSError(error, os.strerror(error))
        write(handle, data)

    monkeypatch.setattr(files, "_write_to_disk", failing)


def fail_probes(monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    """Every write fails with `error` before a byte lands, as in a read-only folder."""

    def failing(handle, data: bytes) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(files, "_write_to_disk", failing)


@pytest.mark.parametrize("sample", TRUNCATABLE)
def test_a_truncated_timeline_is_a_clear_error(
    sample: str, samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    data = (samples / sample).read_bytes()
    source = tmp_path / Path(sample).name
    source.write_bytes(data[: len(data) // 2])
    before = FileState.of(source)
    status, err = run_in_process(capsys, "generate", source, "--engine", scripted_server.address)
    assert status == 1
    assert f"foley: {source}: could not be read" in err and "corrupt or truncated" in err
    assert "export it from the editor again" in err and "Traceback" not in err
    assert FileState.of(source) == before and files_below(tmp_path) == [source.name]
    assert scripted.requests == []


def test_an_unknown_extension_lists_the_formats_read(samples: Path, tmp_path: Path, capsys) -> None:
    source = tmp_path / "cut.prproj"
    source.write_bytes((samples / "otio-core/screening_example.v0.18.1.otio").read_bytes())
    status, err = run_in_process(capsys, "generate", source)
    assert status == 1
    assert f"{source}: unknown timeline format .prproj; supported: " in err and ".fcpxml" in err
    assert files_below(tmp_path) == [source.name]


def test_an_output_format_that_cannot_hold_the_foley_track_is_refused_before_any_job(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    status, err = run_in_process(capsys, "generate", source, "-o", tmp_path / "cut.edl", "--engine", scripted_server.address)
    assert status == 1 and "cut.edl: .edl cannot hold the Foley track" in err
    assert scripted.requests == [] and files_below(tmp_path) == ["bouncing-ball.mp4", "demo.otio"]


@pytest.mark.parametrize("kind", ["no permission", "read error"])
def test_media_that_cannot_be_read_stops_the_run_before_any_job(
    kind: str, demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    video = tmp_path / "bouncing-ball.mp4"
    video.unlink()
    if kind == "no permission":
        video.write_bytes(demo_material.video.read_bytes())
        video.chmod(0)
        if os.access(video, os.R_OK):
            pytest.skip("running as root: a file's mode does not stop root from reading it")
        reason = "Permission denied"
    else:
        if not Path("/proc/self/mem").is_file():
            pytest.skip("needs Linux's /proc/self/mem")
        # A file every process, root included, fails to read: its own memory at address 0.
        video.symlink_to("/proc/self/mem")
        reason = "Input/output error"
    before = FileState.of(source)
    status, err = run_in_process(capsys, "generate", source, "--engine", scripted_server.address)
    assert status == 1
    assert "cannot read the media of 3 clip(s)" in err
    assert f"clip 'drop A': {video} ({reason})" in err and "nothing was generated" in err
    assert scripted.requests == []
    assert FileState.of(source) == before and files_below(tmp_path) == ["bouncing-ball.mp4", "demo.otio"]


@pytest.mark.parametrize("kind", ["broken link", "folder"])
def test_media_that_is_not_there_is_named_and_nothing_is_written(
    kind: str, demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    video = tmp_path / "bouncing-ball.mp4"
    video.unlink()
    if kind == "broken link":
        video.symlink_to(tmp_path / "unmounted-drive" / "bouncing-ball.mp4")
    else:
        video.mkdir()
    status, err = run_in_process(capsys, "generate", source, "--engine", scripted_server.address)
    assert status == 1
    assert f"foley: skipping clip 'drop A': media not found ({video})" in err
    assert f"{source}: no video clip with readable media to score (3 selected)" in err
    assert scripted.requests == [] and files_below(tmp_path) == ["bouncing-ball.mp4", "demo.otio"]


def test_a_media_file_the_engine_cannot_decode_is_named_at_its_clip(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    video = tmp_path / "bouncing-ball.mp4"
    video.unlink()
    video.write_bytes(os.urandom(4096))
    status, err = run_in_process(capsys, "generate", source, "--engine", scripted_server.address, *STEPS)
    assert status == 1
    assert "clip 1 of 3 'drop A'" in err and str(video) in err and "no clip was finished" in err
    assert files_below(tmp_path) == ["bouncing-ball.mp4", "demo.otio"]


def test_a_read_only_output_folder_is_refused_before_any_job(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a folder's mode does not stop root from writing in it")
        status, err = run_in_process(capsys, "generate", source, "-o", locked / "cut.otio", "--engine", scripted_server.address)
    finally:
        locked.chmod(0o755)
    assert status == 1 and f"{locked}: cannot be written (Permission denied); the folder is not writable" in err
    assert scripted.requests == [] and files_below(locked) == []


@pytest.mark.parametrize(
    ("error", "advice"),
    [(errno.EROFS, "the disk is read-only"), (errno.EACCES, "the folder is not writable"), (errno.ENOSPC, "the disk is full")],
)
def test_an_output_folder_that_takes_no_file_is_refused_before_any_job(
    error: int, advice: str, demo_material, scripted_server: ServerThread, scripted: ScriptedEngine,
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = copy_demo(demo_material, tmp_path)
    before = FileState.of(source)
    fail_probes(monkeypatch, error)
    status, err = run_in_process(capsys, "generate", source, "--engine", scripted_server.address)
    assert status == 1
    assert f"foley: {tmp_path}: cannot be written ({os.strerror(error)}); {advice}" in err and "(-o)" in err
    assert scripted.requests == []
    assert FileState.of(source) == before and files_below(tmp_path) == ["bouncing-ball.mp4", "demo.otio"]


def test_a_disk_that_fills_up_at_a_wav_keeps_the_finished_clips(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys, monkeypatch
) -> None:
    source = copy_demo(demo_material, tmp_path)
    before = FileState.of(source)
    media = tmp_path / "demo.foley-media"
    command = ("generate", source, "--engine", scripted_server.address, *STEPS)
    with monkeypatch.context() as patch:
        fail_writes(patch, errno.ENOSPC, "02-drop_B.wav")
        status, err = run_in_process(capsys, *command)
    assert status == 1
    assert "clip 2 of 3 'drop B'" in err
    assert f"{media / '02-drop_B.wav'}: cannot be written (No space left on device); the disk is full" in err
    assert f"1 finished clip(s) are kept in {media}" in err
    assert FileState.of(source) == before
    # No part of the WAV that failed, no timeline, no temporary file.
    assert [p for p in files_below(tmp_path) if not p.startswith(f"demo.foley-media/{RECORDS_FOLDER}/")] == [
        "bouncing-ball.mp4", "demo.foley-media", "demo.foley-media/.foley-finished", "demo.foley-media/01-drop_A.wav",
        "demo.otio",
    ]

    scripted.reset()
    status, err = run_in_process(capsys, *command)
    assert status == 0 and "reusing 1 of 3 clip(s)" in err
    assert [r.seed for r in scripted.requests] == [1, 2]


def test_a_disk_that_fills_up_at_the_timeline_keeps_every_clip(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys, monkeypatch
) -> None:
    source = copy_demo(demo_material, tmp_path)
    before = FileState.of(source)
    output = tmp_path / "demo.foley.otio"
    command = ("generate", source, "--engine", scripted_server.address, *STEPS)
    with monkeypatch.context() as patch:
        fail_writes(patch, errno.ENOSPC, output.name)
        status, err = run_in_process(capsys, *command)
    assert status == 1
    assert f"{output}: cannot be written (No space left on device); the disk is full" in err
    assert "All 3 clip(s) are finished and kept" in err
    assert FileState.of(source) == before and not output.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temporary timeline

    scripted.reset()
    status, err = run_in_process(capsys, *command)
    assert status == 0 and "reusing 3 of 3 clip(s)" in err and scripted.requests == []
    assert output.exists()
