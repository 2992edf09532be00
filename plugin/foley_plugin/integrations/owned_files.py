"""Files installed into other programs' folders: written whole, and only ours ever replaced or removed.

A file is ours when it holds OWNER_MARK, which `owner_note` puts in a comment
of every file the integrations write. Installing refuses to replace a file
that is not ours (unless forced) before writing anything; uninstalling
removes our files and leaves any other file in their place alone.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import PluginError
from ..files import write_atomically

OWNER_MARK = "Rhythmic Foley: installed by `foley install"


@dataclass(frozen=True)
class InstalledFile:
    """A file to install: where it goes, its text, and whether it must be executable."""

    path: Path
    text: str
    executable: bool = False


def owner_note(target: str) -> str:
    """The sentence, for a comment in each installed file, that marks it as installed by `foley install target`."""
    return f"{OWNER_MARK} {target}`; `foley uninstall {target}` removes it."


def template(name: str) -> str:
    """The text of the shipped template `name` (in foley_plugin/integrations/templates)."""
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def fill_in(text: str, line: str, value: str) -> str:
    """`text` with the placeholder `line` (present exactly once) replaced by `value`."""
    if text.count(line) != 1:
        raise ValueError(f"the template should hold the line {line!r} once")
    return text.replace(line, value)


def is_ours(path: Path) -> bool:
    """True when `path` is a file that `foley install` wrote."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return OWNER_MARK in stream.read()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise PluginError(f"{path}: cannot be read ({error.strerror}); check its permissions") from None


def install(files: Sequence[InstalledFile], *, force: bool) -> None:
    """Write every file, or none when one would replace a file that is not ours.

    With `force`, files that are not ours are replaced too. Folders are
    created as needed.
    """
    foreign = [f.path for f in files if f.path.exists() and not is_ours(f.path)]
    if foreign and not force:
        listed = "\n".join(f"  {path}" for path in foreign)
        raise PluginError(
            f"these files are in the way and were not installed by foley:\n{listed}\n"
            "move them away, or add --force to replace them; nothing was installed"
        )
    for file in files:
        _writable_folder(file.path.parent)
    for file in files:
        write_atomically(file.path, file.text.encode("utf-8"))
        if file.executable:
            mode = stat.S_IMODE(file.path.stat().st_mode)
            os.chmod(file.path, mode | (mode & 0o444) >> 2)  # executable by whoever may read it


def uninstall(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Remove those of `paths` that are ours; return (removed, left alone because not ours)."""
    removed, kept = [], []
    for path in paths:
        if is_ours(path):
            try:
                path.unlink()
            except OSError as error:
                raise PluginError(f"{path}: cannot be removed ({error.strerror}); check the folder's permissions") from None
            removed.append(path)
        elif path.exists():
            kept.append(path)
    return removed, kept


def _writable_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PluginError(f"{folder}: cannot be created ({error.strerror}); check the permissions of its parents") from None
    if not os.access(folder, os.W_OK):
        raise PluginError(f"{folder}: is not writable; allow writing there, then install again")
