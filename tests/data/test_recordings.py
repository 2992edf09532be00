import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foley_engine.data.debian import PackageError, find_package_roots, package_root
from foley_engine.data.recordings import decode_audio, find_recordings


def wav_bytes(seconds: float, rate: int = 22_050) -> bytes:
    buffer = io.BytesIO()
    samples = np.sin(np.arange(int(seconds * rate)) * 0.3).astype(np.float32) * 0.5
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def cat_file(entries: list[tuple[str, bytes]]) -> bytes:
    """An OpenTTD sound catalogue: (offset, size) table, then length-prefixed name + data per entry."""
    table, body = b"", b""
    start = 8 * len(entries)
    for name, data in entries:
        encoded = name.encode("latin-1") + b"\0"
        chunk = bytes([len(encoded)]) + encoded + data
        table += struct.pack("<II", (start + len(body)) | 0x80000000, len(chunk))
        body += chunk
    return table + body


def make_package(root: Path, name: str) -> Path:
    doc = root / "usr" / "share" / "doc" / name
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nCopyright: x\nLicense: CC0\n")
    return root


def test_containers_are_read_as_folders(tmp_path: Path) -> None:
    root = make_package(tmp_path / "pkg", "fakegame")
    base = root / "usr" / "share" / "games" / "fakegame" / "base"
    base.mkdir(parents=True)
    with zipfile.ZipFile(base / "0snd.pk3", "w") as archive:
        archive.writestr("sound/doors/door1-close.wav", wav_bytes(0.2))
        archive.writestr("sound/readme.txt", "not audio")
    (base / "sfx.cat").write_bytes(
        cat_file([('"Crash". By Someone. License: CC0.', wav_bytes(0.3)), ('"Unused". Empty.', b"")])
    )
    (base / "thud.wav").write_bytes(wav_bytes(0.1))

    recordings = find_recordings(package_root(root))
    by_id = {recording.id: recording for recording in recordings}
    prefix = "fakegame:usr/share/games/fakegame/base"
    assert sorted(by_id) == [
        f"{prefix}/0snd.pk3#sound/doors/door1-close.wav",
        f"{prefix}/sfx.cat#00",
        f"{prefix}/thud.wav",
    ]
    member = by_id[f"{prefix}/0snd.pk3#sound/doors/door1-close.wav"]
    assert member.installed_path == "usr/share/games/fakegame/base/sound/doors/door1-close.wav"
    entry = by_id[f"{prefix}/sfx.cat#00"]
    assert entry.title == "Crash" and "License: CC0" in entry.note
    assert entry.installed_path == "usr/share/games/fakegame/base/sfx.cat/00"
    samples, rate = decode_audio(entry.read(), entry.id)
    assert rate == 22_050 and len(samples) == int(0.3 * 22_050)


def test_package_folders_are_found(tmp_path: Path) -> None:
    make_package(tmp_path / "a", "pkg-a")
    make_package(tmp_path / "b", "pkg-b")
    assert [root.name for root in find_package_roots(tmp_path)] == ["pkg-a", "pkg-b"]
    assert [root.name for root in find_package_roots(tmp_path / "a")] == ["pkg-a"]
    with pytest.raises(PackageError):
        find_package_roots(tmp_path / "a" / "usr" / "share" / "doc" / "pkg-a")
