"""The recordings inside an unpacked package: plain audio files and entries of sound containers.

Two game containers are read as well as plain files: Quake-style `.pk3`
archives (zip files whose members overlay the folder they sit in, as in
ufoai-sound) and OpenTTD's `.cat` sound sets (a table of offsets followed by
entries, each a length-prefixed description and a RIFF WAVE file, as in
openttd-opensfx). Both are cheap to parse with the standard library.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf

from ..errors import MediaError
from .debian import PackageRoot

AUDIO_SUFFIXES = frozenset({".ogg", ".oga", ".flac", ".wav"})
ZIP_SUFFIXES = frozenset({".pk3", ".zip"})
CAT_SUFFIX = ".cat"


@dataclass(frozen=True)
class Recording:
    """One recorded sound: a file of a package, or an entry of a container file in it."""

    package: str
    root: Path
    path: str
    member: str = ""
    title: str = ""
    note: str = ""

    @property
    def id(self) -> str:
        """A stable name: `package:path`, with `#member` for container entries."""
        return f"{self.package}:{self.path}" + (f"#{self.member}" if self.member else "")

    @property
    def installed_path(self) -> str:
        """Where the sound sits in the installed tree, containers read as folders.

        A .pk3 member overlays the archive's folder (the game mounts it
        there); a .cat entry sits inside the .cat as if it were a folder.
        """
        if not self.member:
            return self.path
        if PurePosixPath(self.path).suffix.lower() in ZIP_SUFFIXES:
            return str(PurePosixPath(self.path).parent / self.member)
        return f"{self.path}/{self.member}"

    def read(self) -> bytes:
        """The recording's encoded bytes."""
        file = self.root / self.path
        if not self.member:
            return file.read_bytes()
        if file.suffix.lower() in ZIP_SUFFIXES:
            with zipfile.ZipFile(file) as archive:
                return archive.read(self.member)
        return _cat_entries(file)[int(self.member)][1]


@functools.lru_cache(maxsize=2)
def _cat_entries(path: Path) -> dict[int, tuple[str, bytes]]:
    """{index: (description, RIFF bytes)} of an OpenTTD .cat file; silent placeholder entries left out."""
    data = path.read_bytes()
    if len(data) < 8:
        raise MediaError(str(path), "is too short for an OpenTTD sound catalogue")
    # The first offset also tells the table's size; its top bit is a flag.
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    entries = {}
    for index in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        name_length = data[offset]
        name = data[offset + 1 : offset + 1 + name_length].rstrip(b"\0").decode("latin-1")
        body = data[offset + 1 + name_length : offset + size]
        if body[:4] == b"RIFF":
            entries[index] = (name, body)
    return entries


def _cat_title(description: str) -> str:
    # OpenSFX descriptions read '"Crash". Original "crash.wav" by ...'; the
    # quoted title says what the sound is, the rest names sources and authors.
    match = re.match(r'\s*"([^"]*)"', description)
    return match.group(1) if match else description


def find_recordings(package: PackageRoot) -> list[Recording]:
    """Every recording in an unpacked package, in path order (documentation folders skipped)."""
    recordings: list[Recording] = []
    doc = package.root / "usr" / "share" / "doc"
    for file in sorted(path for path in package.root.rglob("*") if path.is_file()):
        if doc in file.parents:
            continue
        path = file.relative_to(package.root).as_posix()
        suffix = file.suffix.lower()
        common = {"package": package.name, "root": package.root, "path": path}
        if suffix in AUDIO_SUFFIXES:
            recordings.append(Recording(**common))
        elif suffix in ZIP_SUFFIXES:
            with zipfile.ZipFile(file) as archive:
                members = sorted(
                    info.filename
                    for info in archive.infolist()
                    if not info.is_dir() and PurePosixPath(info.filename).suffix.lower() in AUDIO_SUFFIXES
                )
            recordings.extend(Recording(**common, member=member) for member in members)
        elif suffix == CAT_SUFFIX:
            for index, (description, _) in _cat_entries(file).items():
                recordings.append(
                    Recording(**common, member=f"{index:02d}", title=_cat_title(description), note=description)
                )
    return recordings


def decode_audio(data: bytes, name: str) -> tuple[np.ndarray, int]:
    """Decode encoded audio bytes to mono float32 samples and their rate; channels are averaged."""
    try:
        samples, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise MediaError(name, f"cannot be decoded as audio ({error})") from None
    return np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), int(sample_rate)
