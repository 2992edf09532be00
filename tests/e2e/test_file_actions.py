"""The installed GNOME Files script run as Nautilus runs it: `foley generate` on the selected timeline."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import opentimelineio as otio
import pytest

from foley_plugin.foley_track import is_foley_track
from foley_plugin.integrations import file_actions
from foley_plugin.timeline_io import read_timeline

from ..conftest import ServerThread
from .plugin_runs import write_standin

# What the script runs besides `foley` (named by its full path) and the shell's builtins.
SCRIPT_TOOLS = ("basename", "date", "mkdir", "tail", "tr")


def tools_folder(folder: Path) -> Path:
    """A folder holding only the tools the script needs, for PATH: a desktop without notify-send."""
    folder.mkdir()
    for tool in SCRIPT_TOOLS:
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


def one_shot(folder: Path) -> Path:
    """A timeline of one one-second shot of a stand-in video, saved as folder/cut.otio."""
    media = folder / "shot.mp4"
    write_standin(media, seconds=2)
    one_second = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24))
    clip = otio.schema.Clip(
        name="shot",
        media_reference=otio.schema.ExternalReference(target_url=media.as_uri(), available_range=one_second),
        source_range=one_second,
    )
    timeline = otio.schema.Timeline("cut")
    timeline.tracks.append(otio.schema.Track("V1", children=[clip]))
    path = folder / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


def nautilus_run(script: Path, selected: list[Path], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` the way GNOME Files runs a script on a selection."""
    env = {**env, "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS": "".join(f"{path}\n" for path in selected)}
    return subprocess.run([str(script)], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, Path]:
    """The file actions installed below a temporary XDG_DATA_HOME; their paths."""
    file_actions.install_actions(force=False, platform="linux", environ={"XDG_DATA_HOME": str(tmp_path / "data")})
    return file_actions.installed_paths(tmp_path / "data")


def test_the_nautilus_script_generates_foley_beside_the_selected_timeline(
    installed: dict[str, Path], engine_server: ServerThread, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    timeline = one_shot(project)
    env = {
        "HOME": str(tmp_path),
        "PATH": str(tools_folder(tmp_path / "tools")),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "FOLEY_ENGINE": engine_server.address,
        "FOLEY_GENERATE_ARGS": "--steps 2",
    }
    result = nautilus_run(installed["nautilus"], [timeline], env, cwd=tmp_path)

    log = (tmp_path / "state" / "rhythmic-foley" / "generate-foley.log").read_text(encoding="utf-8")
    assert result.returncode == 0, result.stderr + log
    output = read_timeline(project / "cut.foley.otio")
    (foley,) = [track for track in output.tracks if is_foley_track(track)]
    assert len(foley.find_clips()) == 1 and (project / "cut.foley-media").is_dir()
    assert f"foley generate {timeline}" in log and f"wrote {project / 'cut.foley.otio'}" in log
    assert "starting the embedded engine" not in log  # FOLEY_ENGINE reached `foley`


def test_a_selected_file_that_is_no_timeline_is_skipped_with_a_notification(installed: dict[str, Path], tmp_path: Path) -> None:
    # notify-send belongs to the desktop: a stand-in records what it is asked to show.
    tools = tools_folder(tmp_path / "tools")
    shown = tmp_path / "notifications"
    (tools / "notify-send").write_text(f'#!/bin/sh\nprintf "%s|" "$@" >>"{shown}"\necho >>"{shown}"\n')
    os.chmod(tools / "notify-send", 0o755)
    photo = tmp_path / "holiday.JPG"
    photo.write_bytes(b"\xff\xd8")
    env = {"HOME": str(tmp_path), "PATH": str(tools), "XDG_STATE_HOME": str(tmp_path / "state")}

    result = nautilus_run(installed["nautilus"], [photo], env, cwd=tmp_path)

    assert result.returncode == 1
    assert shown.read_text().splitlines() == [
        "--app-name=Rhythmic Foley|Generate Foley: skipped holiday.JPG|"
        "Not a timeline file (.otio .otioz .xml .fcpxml .edl .aaf .kdenlive).|"
    ]
    assert not list(tmp_path.glob("holiday.foley*"))
