"""Writing result files so that each one appears whole or not at all.

Every file the plugin writes (the WAVs, the output timeline, the records of
finished clips) goes through `write_atomically`, and its bytes reach the disk
in `_write_to_disk` only. A write that fails (a full disk, a read-only folder)
leaves no partial file behind and raises OutputError naming the file and what
to do about it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError

_ELSEWHERE = "write the result to another folder (-o)"
_ADVICE = {
    errno.ENOSPC: f"the disk is full: free some space or {_ELSEWHERE}",
    errno.EDQUOT: f"the disk quota is used up: free some space or {_ELSEWHERE}",
    errno.EACCES: f"the folder is not writable: allow writing there or {_ELSEWHERE}",
    errno.EPERM: f"the folder is not writable: allow writing there or {_ELSEWHERE}",
    errno.EROFS: f"the disk is read-only: {_ELSEWHERE}",
}


def write_atomically(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write `data` to `path` through a temporary file beside it, flushed to disk, then moved in.

    With `replace`, an existing `path` is replaced and keeps its mode; without
    it, FileExistsError is raised and the existing file is left alone. Any
    other failure raises OutputError, and no temporary file remains.
    """
    folder = path.parent
    try:
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    except OSError as error:
        raise _output_error(path, error) from None
    temp = Path(handle.name)
    try:
        with handle:
            _write_to_disk(handle, data)
        os.chmod(temp, _mode_for(path))  # the temporary file is 0600; the result is shared like any file
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # unlike a rename, never replaces a file that appeared meanwhile
        _fsync_folder(folder)
    except FileExistsError:
        raise
    except OSError as error:
        raise _output_error(path, error) from None
    finally:
        temp.unlink(missing_ok=True)


def make_folder(folder: Path) -> None:
    """Create `folder` (its parent must exist) unless it is there; OutputError if that fails."""
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise _output_error(folder, error) from None


def check_writable(folder: Path) -> None:
    """OutputError unless files can be written in `folder`, tried with a small probe file.

    Run before any generation, so that a read-only or missing output folder is
    reported before the engine spends minutes on clips that could not be saved.
    """
    if not folder.is_dir():
        raise OutputError(f"{folder}: no such folder; create it or write the result elsewhere (-o)")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".foley-probe-", suffix=".tmp") as probe:
            _write_to_disk(probe, b"\0")
    except OSError as error:
        raise _output_error(folder, error) from None


def _write_to_disk(handle: BinaryIO, data: bytes) -> None:
    """The one place where the plugin's output bytes go to the disk."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def _output_error(path: Path, error: OSError) -> OutputError:
    advice = _ADVICE.get(error.errno, f"check the disk or {_ELSEWHERE}")
    return OutputError(f"{path}: cannot be written ({error.strerror or error}); {advice}")


def _mode_for(path: Path) -> int:
    # A replaced file keeps its mode; a new one gets what the umask allows.
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    # Makes the rename or link itself durable; folders cannot be opened on Windows.
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
