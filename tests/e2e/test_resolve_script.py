"""The installed "Generate Foley" Resolve script against a fake of Resolve, running the real `foley`."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import runpy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from foley_plugin.foley_track import is_foley_track
from foley_plugin.integrations import resolve as resolve_integration
from foley_plugin.integrations.owned_files import template
from foley_plugin.timeline_io import read_timeline

from ..conftest import ServerThread
from .fake_resolve import FakeResolve, FakeTimeline, media_item
from .plugin_runs import write_standin

START = 86_400  # 01:00:00:00 at 24 fps
FOLEY_BIN = "Foley"


@dataclass
class Scene:
    """A fake Resolve showing a timeline of three clips, and where the script keeps its files."""

    resolve: FakeResolve
    timeline: FakeTimeline
    script: Path
    work: Path


def make_scene(home: Path, media: Path) -> Scene:
    """Shots A (0–24) and B (36–60) on V1, C (6–30) on V2; a clip marker on A, a timeline marker in B."""
    resolve = FakeResolve()
    timeline = resolve.timeline("Scene 1", start_frame=START)
    video = media_item(resolve, media, 24)
    timeline.put_video(1, "A", video, offset=0, duration=24, markers={6: ("hit", 1)})
    timeline.put_video(1, "B", video, offset=36, duration=24, source_in=24)
    timeline.put_video(2, "C", video, offset=6, duration=24, source_in=12)
    timeline.markers[48] = ("door", 1)
    resolve.open_project("Demo: Project", timeline)
    script = resolve_integration.install_script(force=True, platform="linux", environ={}, home=home)
    return Scene(resolve, timeline, script, home / "Rhythmic Foley" / "Demo_ Project" / "Scene 1")


def run_script(script: Path, resolve: FakeResolve, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `script` as Resolve runs a menu script (the `resolve` object given); its console output."""
    capsys.readouterr()
    runpy.run_path(str(script), init_globals={"resolve": resolve}, run_name="__main__")
    return capsys.readouterr().out


@dataclass
class FirstRun:
    """The script run once, with the engine at FOLEY_ENGINE: the scene, the console, HOME and the shot's video."""

    scene: Scene
    console: str
    home: Path
    media: Path
    seconds: float


@pytest.fixture(scope="module")
def first_run(engine_server: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    home = tmp_path_factory.mktemp("home")
    media = tmp_path_factory.mktemp("media") / "shot.mp4"
    write_standin(media, seconds=3)
    console = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("FOLEY_ENGINE", engine_server.address)
        patch.setenv("FOLEY_GENERATE_ARGS", "--steps 2")
        scene = make_scene(home, media)
        started = time.monotonic()
        with contextlib.redirect_stdout(console):  # capsys is per test
            runpy.run_path(str(scene.script), init_globals={"resolve": scene.resolve}, run_name="__main__")
        yield FirstRun(scene, console.getvalue(), home, media, time.monotonic() - started)


def test_each_wav_is_placed_at_its_record_frame_on_new_foley_tracks(first_run: FirstRun) -> None:
    scene, console = first_run.scene, first_run.console
    recorder, timeline = scene.resolve.recorder, scene.timeline
    assert "placed 3 Foley clip(s) on audio track 2 'Foley', audio track 3 'Foley 2'" in console, console

    (export,) = recorder.named("Timeline.Export")
    assert export[1] == FakeResolve.EXPORT_OTIO and Path(export[0]).parent == scene.work
    assert recorder.named("Timeline.AddTrack") == [("audio", "mono"), ("audio", "mono")]
    assert recorder.named("Timeline.SetTrackName") == [("audio", 2, "Foley"), ("audio", 3, "Foley 2")]

    # One clipInfo per WAV: audio only, at the shot's record frame on Resolve's clock, its length in frames.
    infos = [info for (call,) in recorder.named("MediaPool.AppendToTimeline") for info in call]
    placed = [(i["recordFrame"], i["trackIndex"], i["mediaType"], i["startFrame"], i["endFrame"]) for i in infos]
    assert placed == [(START, 2, 2, 0, 23), (START + 6, 3, 2, 0, 23), (START + 36, 2, 2, 0, 23)]
    assert [(item.GetStart(), item.GetDuration()) for item in timeline.GetItemListInTrack("audio", 2)] == [
        (START, 24), (START + 36, 24)
    ]
    assert [item.GetStart() for item in timeline.GetItemListInTrack("audio", 3)] == [START + 6]
    assert timeline.GetTrackName("audio", 1) == "Audio 1" and timeline.GetItemListInTrack("audio", 1) == []

    # The WAVs were imported once, into the bin "Foley", and are the files the output timeline plays.
    (bin_,) = [f for f in scene.resolve.project.media_pool.root.subfolders if f.name == FOLEY_BIN]
    wavs = sorted(item.path for item in bin_.clips)
    output = read_timeline(scene.work / "timeline.foley.otio")
    foley_clips = [clip for track in output.tracks if is_foley_track(track) for clip in track.find_clips()]
    assert wavs == sorted((scene.work / c.media_reference.target_url).resolve() for c in foley_clips)
    assert {i["mediaPoolItem"].path for i in infos} == set(wavs)
    assert scene.resolve.project.media_pool.current is scene.resolve.project.media_pool.root  # left as it was

    # The console shows the run's progress, a progress bar at most once in 2 s, without cursor movements.
    assert "reusing" not in console and "wrote " in console and "\x1b" not in console
    assert "starting the embedded engine" not in console  # FOLEY_ENGINE reached `foley`
    meters = [line for line in console.splitlines() if re.search(r"\[\d+:\d\d", line)]
    assert 1 <= len(meters) <= first_run.seconds / 2 + 1, console

    # Resolve's markers reached the plugin as cues: the clip marker for A, the timeline marker for B only.
    cues = {clip.name: clip.metadata["foley"]["cues"] for clip in foley_clips}
    assert cues == {"A (Foley)": 1, "B (Foley)": 1, "C (Foley)": 0}


def test_a_refused_import_stops_before_any_track_is_added(
    first_run: FirstRun, engine_server: ServerThread, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("HOME", str(first_run.home))
    monkeypatch.setenv("FOLEY_ENGINE", engine_server.address)
    monkeypatch.setenv("FOLEY_GENERATE_ARGS", "--steps 2")
    again = make_scene(first_run.home, first_run.media)  # a new Resolve session: an empty media pool
    again.resolve.project.media_pool.import_refused = True
    console = run_script(again.script, again.resolve, capsys)
    assert "reusing 3 of 3 clip(s)" in console  # the first run's clips: nothing is generated again
    assert "Resolve could not import 3 WAV file(s)" in console and "run Generate Foley again" in console, console
    assert again.resolve.recorder.named("Timeline.AddTrack") == []
    assert again.resolve.recorder.named("MediaPool.AppendToTimeline") == []


@pytest.mark.parametrize("missing", ["project", "timeline"])
def test_no_open_project_or_timeline_is_reported(missing: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    resolve = FakeResolve()
    if missing == "timeline":
        resolve.open_project("Empty", None)
    script = resolve_integration.install_script(force=False, platform="linux", environ={}, home=tmp_path)
    console = run_script(script, resolve, capsys)
    expected = "No project is open" if missing == "project" else "The project 'Empty' has no timeline open"
    assert expected in console, console
    assert resolve.recorder.named("Timeline.Export") == []


def test_a_failed_export_is_reported_and_nothing_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    resolve = FakeResolve()
    timeline = resolve.timeline("Cut")
    timeline.export_fails = True
    resolve.open_project("P", timeline)
    script = resolve_integration.install_script(force=False, platform="linux", environ={}, home=tmp_path)
    console = run_script(script, resolve, capsys)
    assert "Resolve could not export the timeline to" in console, console
    assert "running" not in console and not list(tmp_path.rglob("foley-manifest.json"))


def test_a_failing_plugin_shows_the_end_of_its_output(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    resolve = FakeResolve()
    timeline = resolve.timeline("Cut")
    timeline.put_video(1, "gone", media_item(resolve, tmp_path / "moved-away.mp4", 24), offset=0, duration=24)
    resolve.open_project("P", timeline)
    script = resolve_integration.install_script(force=False, platform="linux", environ={}, home=tmp_path)
    console = run_script(script, resolve, capsys)
    assert "foley generate failed (exit status 1). Its last lines:" in console, console
    assert "no video clip with readable media" in console.split("Its last lines:")[1]
    assert resolve.recorder.named("MediaPool.ImportMedia") == [] and resolve.recorder.named("Timeline.AddTrack") == []


def test_the_uninstalled_template_asks_to_be_installed(tmp_path: Path, capsys) -> None:
    shipped = tmp_path / "Generate Foley.py"
    shipped.write_text(template(resolve_integration.SCRIPT_NAME), encoding="utf-8")
    resolve = FakeResolve()
    resolve.open_project("P", resolve.timeline("Cut"))
    console = run_script(shipped, resolve, capsys)
    assert "run `foley install resolve` in the Rhythmic Foley environment" in console
    assert resolve.recorder.calls == []


def test_the_script_is_python_3_6_syntax_and_imports_only_the_standard_library() -> None:
    tree = ast.parse(template(resolve_integration.SCRIPT_NAME), feature_version=(3, 6))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"builtins", "collections", "json", "os", "re", "subprocess", "sys", "time", "DaVinciResolveScript"}
