"""Result files appear whole or not at all, and a failed write says which file and what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from foley_plugin import files
from foley_plugin.errors import OutputError
from foley_plugin.files import check_writable, write_atomically


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_mode(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        write_atomically(tmp_path / "new.otio", b"one")
    finally:
        os.umask(mask)
    assert (tmp_path / "new.otio").stat().st_mode & 0o777 == 0o640
    (tmp_path / "new.otio").chmod(0o600)
    write_atomically(tmp_path / "new.otio", b"two")
    assert (tmp_path / "new.otio").read_bytes() == b"two"
    assert (tmp_path / "new.otio").stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["new.otio"]


def test_without_replace_an_existing_file_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"first")
    with pytest.raises(FileExistsError):
        write_atomically(tmp_path / "a.wav", b"second", replace=False)
    assert (tmp_path / "a.wav").read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["a.wav"]


def test_a_disk_that_fills_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(handle, data: bytes) -> None:
        handle.write(data[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_to_disk", full_disk)
    with pytest.raises(OutputError) as error:
        write_atomically(tmp_path / "a.wav", b"x" * 100, replace=False)
    assert str(error.value) == (
        f"{tmp_path / 'a.wav'}: cannot be written (No space left on device); "
        "the disk is full: free some space or write the result to another folder (-o)"
    )
    assert os.listdir(tmp_path) == []


def test_a_missing_output_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"gone: no such folder; create it or write the result elsewhere \(-o\)"):
        check_writable(tmp_path / "gone")
    check_writable(tmp_path)
    assert os.listdir(tmp_path) == []
