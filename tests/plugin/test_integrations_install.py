"""`foley install|uninstall resolve|file-actions`: the right folders, only our files, never a stranger's."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from foley_plugin import cli
from foley_plugin.errors import PluginError
from foley_plugin.integrations import file_actions, foley_command, resolve
from foley_plugin.integrations.owned_files import OWNER_MARK

RESOLVE_EDIT = {
    "linux": ".local/share/DaVinciResolve/Fusion/Scripts/Edit",
    "darwin": "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Edit",
    "win32": "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Edit",
}
SUFFIXES = (".otio", ".otioz", ".xml", ".fcpxml", ".edl", ".aaf", ".kdenlive")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("platform", sorted(RESOLVE_EDIT))
def test_the_resolve_script_goes_to_resolves_edit_scripts_folder_and_leaves_with_uninstall(platform: str, tmp_path: Path) -> None:
    environ = {"APPDATA": str(tmp_path / "AppData/Roaming")}
    folder = tmp_path / RESOLVE_EDIT[platform]
    folder.mkdir(parents=True)
    neighbour = folder / "Someone Else's Script.lua"
    neighbour.write_text("print('hello')\n")

    path = resolve.install_script(force=False, platform=platform, environ=environ, home=tmp_path)

    assert path == folder / "Generate Foley.py"
    text = path.read_text(encoding="utf-8")
    assert f"FOLEY_COMMAND = {foley_command()!r}\n" in text
    assert Path(foley_command()[0]).is_file()
    compile(text, str(path), "exec")

    removed, kept = resolve.uninstall_script(platform=platform, environ=environ, home=tmp_path)
    assert removed == [path] and kept == [] and not path.exists()
    assert neighbour.read_text() == "print('hello')\n" and folder.is_dir()


def test_windows_without_appdata_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="APPDATA is not set"):
        resolve.install_script(force=False, platform="win32", environ={}, home=tmp_path)


def test_install_refuses_to_replace_a_file_it_did_not_write_unless_forced(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("sys.platform", "linux")
    target = tmp_path / RESOLVE_EDIT["linux"] / "Generate Foley.py"
    target.parent.mkdir(parents=True)
    target.write_text("# my own Generate Foley\n")

    status, _, err = run_cli(capsys, "install", "resolve")
    assert status == 1
    assert str(target) in err and "--force" in err and "nothing was installed" in err
    assert target.read_text() == "# my own Generate Foley\n"

    status, _, err = run_cli(capsys, "uninstall", "resolve")
    assert status == 0 and f"left {target} alone" in err and target.exists()

    status, out, _ = run_cli(capsys, "install", "resolve", "--force")
    assert status == 0 and f"installed {target}" in out and OWNER_MARK in target.read_text()
    # Our own file is replaced without --force (a newer version, another environment).
    assert run_cli(capsys, "install", "resolve")[0] == 0

    status, out, _ = run_cli(capsys, "uninstall", "resolve")
    assert status == 0 and f"removed {target}" in out and not target.exists()
    assert "nothing to remove" in run_cli(capsys, "uninstall", "resolve")[1]


def read_desktop_file(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # desktop entry keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def test_file_actions_install_valid_menus_for_every_timeline_type(tmp_path: Path) -> None:
    data = tmp_path / "data"
    installed = file_actions.install_actions(force=False, platform="linux", environ={"XDG_DATA_HOME": str(data)})
    paths = file_actions.installed_paths(data)
    assert sorted(installed) == sorted(paths.values())

    # The types, by suffix, from our MIME package; FCP7 XML is plain XML.
    package = ElementTree.parse(paths["mime"]).getroot()
    namespace = "{http://www.freedesktop.org/standards/shared-mime-info}"
    type_of = {
        glob.get("pattern")[1:]: mime.get("type")
        for mime in package.iter(f"{namespace}mime-type")
        for glob in mime.iter(f"{namespace}glob")
    }
    type_of[".xml"] = "application/xml"
    assert sorted(type_of) == sorted(SUFFIXES)

    for menu in (paths["kde6"], paths["kde5"]):
        entry = read_desktop_file(menu)
        main = entry["Desktop Entry"]
        assert main["Type"] == "Service"
        assert set(main["MimeType"].rstrip(";").split(";")) == set(type_of.values())
        assert main["Actions"].rstrip(";").split(";") == ["generateFoley"]
        action = entry["Desktop Action generateFoley"]
        assert action["Name"] == "Generate Foley"
        assert action["Exec"] == f'"{paths["runner"]}" %F'
    for path in (paths["kde6"], paths["kde5"], paths["nautilus"], paths["runner"]):
        assert path.stat().st_mode & stat.S_IXUSR, path
    assert paths["nautilus"].read_text() == paths["runner"].read_text()
    assert paths["runner"].read_text().startswith("#!/bin/sh\n")

    if shutil.which("update-mime-database"):
        globs = (data / "mime/globs2").read_text()
        assert all(f"{mime}:*{suffix}" in globs for suffix, mime in type_of.items() if suffix != ".xml")


def test_foley_engine_names_the_engine_when_no_engine_option_is_given(monkeypatch) -> None:
    monkeypatch.setenv("FOLEY_ENGINE", "unix:/run/foley.sock")
    assert cli._parser().parse_args(["generate", "cut.otio"]).engine == "unix:/run/foley.sock"
    assert cli._parser().parse_args(["generate", "cut.otio", "--engine", "host:1"]).engine == "host:1"
    monkeypatch.delenv("FOLEY_ENGINE")
    assert cli._parser().parse_args(["generate", "cut.otio"]).engine is None


def test_a_relative_xdg_data_home_is_ignored(tmp_path: Path) -> None:
    assert file_actions.data_home({"XDG_DATA_HOME": "relative/data"}, home=tmp_path) == tmp_path / ".local/share"
    assert file_actions.data_home({}, home=tmp_path) == tmp_path / ".local/share"


def test_file_actions_uninstall_removes_only_their_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    environ = {"XDG_DATA_HOME": str(data)}
    file_actions.install_actions(force=False, platform="linux", environ=environ)
    paths = file_actions.installed_paths(data)
    other_menu = paths["kde6"].parent / "someone-else.desktop"
    other_menu.write_text("[Desktop Entry]\nType=Service\n")
    paths["kde5"].write_text("[Desktop Entry]\n# edited by hand, no longer ours\n")

    removed, kept = file_actions.uninstall_actions(platform="linux", environ=environ)

    assert kept == [paths["kde5"]] and sorted(removed) == sorted(p for k, p in paths.items() if k != "kde5")
    assert other_menu.exists() and paths["kde5"].exists() and not paths["mime"].exists()
    assert not paths["runner"].parent.exists()  # our own folder goes with its last file


def test_file_actions_install_nothing_when_one_file_is_in_the_way(tmp_path: Path) -> None:
    data = tmp_path / "data"
    paths = file_actions.installed_paths(data)
    paths["nautilus"].parent.mkdir(parents=True)
    paths["nautilus"].write_text("#!/bin/sh\necho mine\n")
    with pytest.raises(PluginError, match="--force"):
        file_actions.install_actions(force=False, platform="linux", environ={"XDG_DATA_HOME": str(data)})
    assert not paths["runner"].exists() and not paths["kde6"].exists()


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_file_actions_point_macos_and_windows_to_the_readme(platform: str, tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="Quick Action.*Send to"):
        file_actions.install_actions(force=False, platform=platform, environ={}, home=tmp_path)


def test_a_desktop_exec_argument_keeps_spaces_quotes_and_percent_signs() -> None:
    # Desktop Entry Specification: quote, backslash-escape " ` $ \ inside, double % and every backslash once more.
    assert file_actions._exec_argument('/home/a b/"x"$%\\') == '"/home/a b/\\\\"x\\\\"\\\\$%%\\\\\\\\"'


def test_installed_files_are_executable_by_whoever_can_read_them(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        file_actions.install_actions(force=False, platform="linux", environ={"XDG_DATA_HOME": str(tmp_path)})
    finally:
        os.umask(old)
    assert stat.S_IMODE(file_actions.installed_paths(tmp_path)["runner"].stat().st_mode) == 0o750


def test_without_a_console_script_the_command_runs_foley_through_this_python(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("sysconfig.get_path", lambda name: str(tmp_path))
    command = foley_command()
    assert command == [sys.executable, "-m", "foley_plugin.cli"]
    result = subprocess.run([*command, "install", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "resolve" in result.stdout
