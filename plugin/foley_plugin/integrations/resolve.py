"""`foley install resolve`: "Generate Foley" in DaVinci Resolve's Workspace > Scripts > Edit menu.

The script (templates/Generate Foley.py) runs on Resolve's own Python and
imports nothing of ours: installing writes the command that starts this
environment's `foley` into the installed copy.

Resolve lists the scripts found at startup in the per-user folders named by
its scripting README (Developer/Scripting/README.txt, "Using a script"):
scripts under Scripts/Edit appear on the Edit page.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ..errors import PluginError
from . import foley_command
from .owned_files import InstalledFile, fill_in, install, template, uninstall

SCRIPT_NAME = "Generate Foley.py"  # the menu item is the file's name
_COMMAND_LINE = "FOLEY_COMMAND = []  # written by `foley install resolve`\n"


def scripts_folder(platform: str | None = None, environ: Mapping[str, str] = os.environ, home: Path | None = None) -> Path:
    """The per-user folder of Resolve's Edit-page scripts on `platform` (a `sys.platform` value; default: this one)."""
    platform = sys.platform if platform is None else platform
    home = Path.home() if home is None else home
    if platform == "darwin":
        return home / "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Edit"
    if platform == "win32":
        appdata = environ.get("APPDATA")
        if not appdata:
            raise PluginError("APPDATA is not set, so DaVinci Resolve's Scripts folder cannot be found; set it and try again")
        return Path(appdata) / "Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Edit"
    return home / ".local/share/DaVinciResolve/Fusion/Scripts/Edit"


def script_text(command: list[str]) -> str:
    """The Resolve script, set to run `command` as `foley`."""
    return fill_in(template(SCRIPT_NAME), _COMMAND_LINE, f"FOLEY_COMMAND = {command!r}\n")


def install_script(*, force: bool, platform: str | None = None, environ: Mapping[str, str] = os.environ,
                   home: Path | None = None) -> Path:
    """Install the script for this environment's `foley`; return its path."""
    path = scripts_folder(platform, environ, home) / SCRIPT_NAME
    install([InstalledFile(path, script_text(foley_command()))], force=force)
    return path


def uninstall_script(*, platform: str | None = None, environ: Mapping[str, str] = os.environ,
                     home: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Remove the installed script if it is ours; (removed, left alone because not ours)."""
    return uninstall([scripts_folder(platform, environ, home) / SCRIPT_NAME])
