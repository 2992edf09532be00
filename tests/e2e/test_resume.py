"""A run that stops at a clip loses nothing: the input stays as it was, no timeline is
written, and the clips finished so far are reused by the next run with the same inputs.

Failures happen where they happen in use: the engine fails a job, the engine
stops, the embedded engine's process is killed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.foley_track import is_foley_track
from foley_plugin.resume import RECORDS_FOLDER
from foley_plugin.timeline_io import read_timeline
from foley_plugin.wav import read_wav

from ..conftest import ServerThread
from .plugin_runs import FileState, ScriptedEngine, copy_demo, files_below, run_foley, run_in_process

STEPS = ["--steps", "1"]


@dataclass(frozen=True)
class FoleyClip:
    range: otio.opentime.TimeRange
    wav: Path
    metadata: dict


def foley_clips(output: Path) -> list[FoleyClip]:
    """The clips of the output's Foley track."""
    timeline = read_timeline(output)  # held: its tracks live only as long as it does
    (track,) = [t for t in timeline.tracks if is_foley_track(t)]
    return [
        FoleyClip(item.range_in_parent(), output.parent / item.media_reference.target_url, dict(item.metadata["foley"]))
        for item in track
        if isinstance(item, otio.schema.Clip)
    ]


def assert_same_result(output: Path, clean: Path) -> None:
    """The same Foley clips, parameters and audio; only the job ids (and media folders) differ."""
    ours, theirs = foley_clips(output), foley_clips(clean)
    assert [c.range for c in ours] == [c.range for c in theirs]
    for mine, reference in zip(ours, theirs):
        assert mine.metadata.pop("job_id") != reference.metadata.pop("job_id")
        assert mine.metadata == reference.metadata
        assert mine.wav.read_bytes() == reference.wav.read_bytes()


def test_a_failed_job_keeps_the_finished_clips_and_the_next_run_makes_only_the_rest(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    before = FileState.of(source)
    output, media = tmp_path / "demo.foley.otio", tmp_path / "demo.foley-media"
    command = ("generate", source, "--engine", scripted_server.address, *STEPS)

    scripted.reset(fail_at=2)
    status, err = run_in_process(capsys, *command)
    assert status == 1
    assert "clip 2 of 3 'drop B'" in err and "internal engine error" in err
    assert f"1 finished clip(s) are kept in {media}" in err and "No timeline was written" in err
    assert FileState.of(source) == before
    assert not output.exists()
    wav = media / "01-drop_A.wav"
    assert files_below(media) == [RECORDS_FOLDER, f"{RECORDS_FOLDER}/{_record_of(media)}", wav.name]
    kept = FileState.of(wav)

    scripted.reset()
    status, err = run_in_process(capsys, *command)
    assert status == 0, err
    assert "reusing 1 of 3 clip(s)" in err
    assert [r.seed for r in scripted.requests] == [1, 2]  # drop B and drop C only
    assert FileState.of(wav) == kept and FileState.of(source) == before
    assert len(list(media.glob("*.wav"))) == 3

    scripted.reset()
    clean = tmp_path / "clean.otio"
    assert run_in_process(capsys, *command, "-o", clean)[0] == 0
    assert len(scripted.requests) == 3
    assert_same_result(output, clean)


def test_a_changed_parameter_never_reuses_a_clip(
    demo_material, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys
) -> None:
    source = copy_demo(demo_material, tmp_path)
    command = ("generate", source, "--engine", scripted_server.address, *STEPS)
    assert run_in_process(capsys, *command)[0] == 0
    first = {p.name: FileState.of(p) for p in (tmp_path / "demo.foley-media").glob("*.wav")}

    scripted.reset()
    status, err = run_in_process(capsys, *command, "--seed", "7")
    assert status == 0 and "reusing" not in err
    assert [r.seed for r in scripted.requests] == [7, 8, 9]
    wavs = {p.name: FileState.of(p) for p in (tmp_path / "demo.foley-media").glob("*.wav")}
    assert len(wavs) == 6 and {name: wavs[name] for name in first} == first  # new files; the old ones untouched
    assert [c.metadata["seed"] for c in foley_clips(tmp_path / "demo.foley.otio")] == [7, 8, 9]

    scripted.reset()
    status, err = run_in_process(capsys, *command, "--seed", "7")
    assert status == 0 and "reusing 3 of 3 clip(s)" in err and scripted.requests == []

    scripted.reset()
    status, err = run_in_process(capsys, *command, "--seed", "7", "--regenerate")
    assert status == 0 and len(scripted.requests) == 3


def test_an_engine_that_stops_mid_run_loses_nothing(demo_material, scripted_server: ServerThread, tmp_path: Path) -> None:
    source = copy_demo(demo_material, tmp_path)
    before = FileState.of(source)
    stopping = ServerThread(tmp_path / "stopping.sock", ScriptedEngine.from_config).start()
    try:
        stopping.server.servicer.engine.reset(hang_at=2)
        run = subprocess.Popen(
            [sys.executable, "-m", "foley_plugin.cli", "generate", str(source), "--engine", stopping.address, *STEPS],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert stopping.server.servicer.engine.reached.wait(120), "the second job never reached the engine"
        stopping.stop(grace_s=0.5)
        _, err = run.communicate(timeout=60)
    finally:
        stopping.stop()
    assert run.returncode == 1
    assert "clip 2 of 3 'drop B'" in err
    assert "was cancelled" in err or "stopped answering" in err  # the job's end, or the connection's
    assert "1 finished clip(s) are kept" in err
    assert FileState.of(source) == before and not (tmp_path / "demo.foley.otio").exists()

    # Another engine with the same model takes over; the finished clip is not made again.
    engine = scripted_server.server.servicer.engine
    engine.reset()
    rerun = run_foley("generate", source, "--engine", scripted_server.address, *STEPS)
    assert "reusing 1 of 3 clip(s)" in rerun.stderr
    assert [r.seed for r in engine.requests] == [1, 2]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the engine's process in /proc (Linux)")
def test_killing_the_embedded_engine_mid_run_loses_nothing(demo_material, tmp_path: Path) -> None:
    source = copy_demo(demo_material, tmp_path)
    before = FileState.of(source)
    # Enough steps that the second clip is still being made when the kill lands.
    command = [sys.executable, "-m", "foley_plugin.cli", "generate", str(source), "--steps", "20"]
    run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "| 1/3" not in seen:  # the overall progress bar: the first clip is finished
        char = run.stderr.read(1)
        assert char, f"foley ended before finishing a clip:\n{seen}"
        seen += char
    (engine,) = _children(run.pid)
    os.kill(engine, signal.SIGKILL)
    _, rest = run.communicate(timeout=120)
    err = seen + rest
    assert run.returncode == 1, err
    failed_at = int(re.search(r"clip (\d) of 3", err).group(1))
    assert failed_at in (2, 3) and "the embedded engine was killed by SIGKILL" in err
    assert FileState.of(source) == before and not (tmp_path / "demo.foley.otio").exists()
    media = tmp_path / "demo.foley-media"
    kept = {p.name: FileState.of(p) for p in media.glob("*.wav")}
    assert len(kept) == failed_at - 1 and f"{len(kept)} finished clip(s) are kept" in err

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"reusing {len(kept)} of 3 clip(s)" in rerun.stderr
    assert {name: FileState.of(media / name) for name in kept} == kept
    wavs = [clip.wav for clip in foley_clips(tmp_path / "demo.foley.otio")]
    assert [wav.name for wav in wavs[: len(kept)]] == sorted(kept)
    for wav in wavs:
        samples, rate = read_wav(wav)
        assert rate == 48_000 and len(samples) > 0


def _record_of(media: Path) -> str:
    (record,) = (media / RECORDS_FOLDER).iterdir()
    return record.name


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the plugin's embedded engine)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name in parentheses may hold spaces; the parent id follows the state field.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children
