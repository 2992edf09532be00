"""`foley install|uninstall TARGET`: Generate Foley inside other programs.

Targets: "resolve" (a script in DaVinci Resolve's Workspace > Scripts > Edit
menu, `resolve`) and "file-actions" (a right-click action on timeline files
in KDE Dolphin and GNOME Files, `file_actions`). Every installed file carries
a note naming the command that installed it (`owned_files`), so uninstalling
removes those files and nothing else.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path


def foley_command() -> list[str]:
    """How another program starts this environment's `foley`: its console script, else `python -m`."""
    scripts = Path(sysconfig.get_path("scripts"))
    for name in ("foley", "foley.exe"):
        if (scripts / name).is_file():
            return [str(scripts / name)]
    return [sys.executable, "-m", "foley_plugin.cli"]
