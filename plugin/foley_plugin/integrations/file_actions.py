"""`foley install file-actions`: "Generate Foley" on right-clicked timeline files in Linux file managers.

Installs, below XDG_DATA_HOME (default ~/.local/share):

- rhythmic-foley/generate-foley: the runner (templates/generate-foley.sh), which
  runs `foley generate` on each file and reports through desktop notifications
  and a log;
- nautilus/scripts/Generate Foley: the same runner as a GNOME Files script
  (right-click > Scripts > Generate Foley), which reads the selection from
  NAUTILUS_SCRIPT_SELECTED_FILE_PATHS;
- kio/servicemenus/rhythmic-foley.desktop: a KDE Dolphin service menu for the
  timeline types (Plasma 6 and KDE Frameworks 5.85 or later), and the same
  file in kservices5/ServiceMenus for older KDE Frameworks 5;
- mime/packages/rhythmic-foley.xml: the timeline types by file name, since
  shared-mime-info knows none of them but XML (the database is refreshed with
  update-mime-database where it is installed).

Runner, script and service menus are executable: GNOME Files runs only
executable scripts, and KDE runs a .desktop file outside the system folders
only when it is executable (KDesktopFile::isAuthorizedDesktopFile).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ..errors import PluginError
from . import foley_command
from .owned_files import InstalledFile, fill_in, install, owner_note, template, uninstall

TARGET = "file-actions"
ACTION_NAME = "Generate Foley"
_RUNNER_TEMPLATE = "generate-foley.sh"
_FOLEY_LINE = "run_foley() { false; }  # written by `foley install file-actions`\n"

# Suffix, MIME type, description, and the type it is a kind of.
TIMELINE_TYPES = (
    (".otio", "application/x-otio", "OpenTimelineIO timeline", "application/json"),
    (".otioz", "application/x-otioz", "OpenTimelineIO timeline bundle", "application/zip"),
    (".fcpxml", "application/x-fcpxml", "Final Cut Pro XML timeline", "application/xml"),
    (".edl", "application/x-edl", "CMX 3600 edit decision list", "text/plain"),
    (".aaf", "application/x-aaf", "Advanced Authoring Format timeline", "application/octet-stream"),
    (".kdenlive", "application/x-kdenlive", "Kdenlive project", "application/xml"),
)
# FCP7 XML (from Premiere and Resolve) is plain XML by name: the menu shows on every .xml file.
XML_TYPE = "application/xml"


def data_home(environ: Mapping[str, str] = os.environ, home: Path | None = None) -> Path:
    """XDG_DATA_HOME, or ~/.local/share when it is unset or not absolute (as the XDG base directory spec says)."""
    value = environ.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return (Path.home() if home is None else home) / ".local/share"


def installed_paths(data: Path) -> dict[str, Path]:
    """Where each file goes below the data folder `data`."""
    return {
        "runner": data / "rhythmic-foley/generate-foley",
        "nautilus": data / "nautilus/scripts" / ACTION_NAME,
        "kde6": data / "kio/servicemenus/rhythmic-foley.desktop",
        "kde5": data / "kservices5/ServiceMenus/rhythmic-foley.desktop",
        "mime": data / "mime/packages/rhythmic-foley.xml",
    }


def runner_text(command: list[str]) -> str:
    """The runner script, set to run `command` as `foley`."""
    return fill_in(template(_RUNNER_TEMPLATE), _FOLEY_LINE, f'run_foley() {{ {shlex.join(command)} "$@"; }}\n')


def service_menu_text(runner: Path) -> str:
    """The Dolphin service menu that runs `runner` on the selected timeline files."""
    mime_types = ";".join([mime for _, mime, _, _ in TIMELINE_TYPES] + [XML_TYPE]) + ";"
    return (
        "[Desktop Entry]\n"
        f"# {owner_note(TARGET)}\n"
        "Type=Service\n"
        # Read by KDE Frameworks 5 from kservices5/ServiceMenus; ignored by KDE Frameworks 6.
        "X-KDE-ServiceTypes=KonqPopupMenu/Plugin\n"
        f"MimeType={mime_types}\n"
        "Actions=generateFoley;\n"
        "X-KDE-Priority=TopLevel\n"
        "\n"
        "[Desktop Action generateFoley]\n"
        f"Name={ACTION_NAME}\n"
        "Icon=audio-x-generic\n"
        f"Exec={_exec_argument(str(runner))} %F\n"
    )


def mime_package_text() -> str:
    """A shared-mime-info package naming the timeline types by their file suffix."""
    types = "".join(
        f'  <mime-type type="{mime}">\n'
        f"    <comment>{comment}</comment>\n"
        f'    <sub-class-of type="{parent}"/>\n'
        f'    <glob pattern="*{suffix}"/>\n'
        "  </mime-type>\n"
        for suffix, mime, comment, parent in TIMELINE_TYPES
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- {owner_note(TARGET)} -->\n"
        '<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">\n'
        f"{types}"
        "</mime-info>\n"
    )


def install_actions(*, force: bool, platform: str | None = None, environ: Mapping[str, str] = os.environ,
                    home: Path | None = None) -> list[Path]:
    """Install the runner, the GNOME Files script, the Dolphin service menus and the MIME types; their paths."""
    _check_platform(platform)
    paths = installed_paths(data_home(environ, home))
    runner = runner_text(foley_command())
    menu = service_menu_text(paths["runner"])
    files = [
        InstalledFile(paths["runner"], runner, executable=True),
        InstalledFile(paths["nautilus"], runner, executable=True),
        InstalledFile(paths["kde6"], menu, executable=True),
        InstalledFile(paths["kde5"], menu, executable=True),
        InstalledFile(paths["mime"], mime_package_text()),
    ]
    install(files, force=force)
    _refresh_mime_database(paths["mime"].parent.parent)
    return [file.path for file in files]


def uninstall_actions(*, platform: str | None = None, environ: Mapping[str, str] = os.environ,
                      home: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Remove the installed files that are ours; (removed, left alone because not ours)."""
    _check_platform(platform)
    paths = installed_paths(data_home(environ, home))
    removed, kept = uninstall(list(paths.values()))
    if paths["mime"] in removed:
        _refresh_mime_database(paths["mime"].parent.parent)
    if paths["runner"] in removed and not any(paths["runner"].parent.iterdir()):
        paths["runner"].parent.rmdir()  # the folder is ours alone
    return removed, kept


def _check_platform(platform: str | None) -> None:
    if (sys.platform if platform is None else platform) in ("darwin", "win32"):
        raise PluginError(
            "file actions are for KDE Dolphin and GNOME Files on Linux; on macOS make a Quick Action and on "
            "Windows a Send to entry, as the README's \"Right-click a timeline\" section shows"
        )


def _exec_argument(argument: str) -> str:
    """`argument` quoted for a desktop entry's Exec key (Desktop Entry Specification, "The Exec key")."""
    quoted = "".join("\\" + c if c in '"`$\\' else c for c in argument).replace("%", "%%")
    # The key's value is itself unescaped once before the command line is split.
    return '"' + quoted.replace("\\", "\\\\") + '"'


def _refresh_mime_database(mime_folder: Path) -> None:
    """Rebuild the user's MIME cache so file managers see the new types; skipped where the tool is missing."""
    tool = shutil.which("update-mime-database")
    if tool is None:
        print(
            "foley: update-mime-database is not installed; the timeline types are known after the next "
            "MIME database update (or log in again)",
            file=sys.stderr,
        )
        return
    result = subprocess.run([tool, str(mime_folder)], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"foley: update-mime-database {mime_folder} failed: {result.stderr.strip()}", file=sys.stderr)
