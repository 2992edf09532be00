"""Running `foley` in the end-to-end tests, the media they need, and an engine that fails on cue."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import unquote, urlsplit

import av
import numpy as np
import opentimelineio as otio
import pytest

from foley_engine.engine import BatchItem, FoleyEngine
from foley_engine.errors import Cancelled
from foley_engine.presets import build_untrained_pipeline
from foley_engine.request import GenerationRequest
from foley_plugin import cli
from foley_server.config import EngineConfig


def run_foley(*args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`foley ARGS` as its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "foley_plugin.cli", *map(str, args)], capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"foley {args} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def run_in_process(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    """`foley ARGS` in this process, so that a test can fail its writes; the exit status and stderr."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    capsys.readouterr()
    try:
        status = cli.main([str(arg) for arg in args])
    finally:
        for number, handler in handlers.items():  # main() makes SIGTERM an interrupt, for its own process
            signal.signal(number, handler)
    return status, capsys.readouterr().err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class FileState:
    """A file's bytes (as a digest) and modification time: "untouched" means both are equal."""

    sha256: str
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        return cls(digest(path), path.stat().st_mtime_ns)


def write_standin(path: Path, seconds: float = 3.0, fps: int = 24) -> None:
    """A small stand-in video: a square that moves, so frames differ."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(int(seconds * fps)):
            image = np.zeros((48, 64, 3), np.uint8)
            image[10:30, index % 44 : index % 44 + 20] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def standin_media(timeline: otio.schema.Timeline, folder: Path) -> Path:
    """Stand-in files for every video clip, named the way `--media-root` looks them up.

    That is the file name of the clip's media URL or, without one, the clip's
    name (given ".mp4" if it has no suffix). One stand-in is rendered; every
    other name is a hard link to it (an EDL of 548 events names hundreds).
    """
    folder.mkdir(exist_ok=True)
    original = folder / ".standin.mp4"
    if not original.exists():
        write_standin(original)
    for clip in (clip for track in timeline.video_tracks() for clip in track.find_clips()):
        url = getattr(clip.media_reference, "target_url", "") or ""
        if url:
            path = unquote(urlsplit(url).path) if "://" in url else url
            name = PurePath(path.replace("\\", "/")).name
        else:
            name = clip.name.strip() if PurePath(clip.name.strip()).suffix else f"{clip.name.strip()}.mp4"
        # Names the lookup would not search for (empty, or with a path in them) get no file.
        if name not in ("", ".mp4", ".", "..") and "/" not in name and not (folder / name).exists():
            os.link(original, folder / name)
    return folder


def copy_demo(demo_material, folder: Path) -> Path:
    """The demo timeline copied into `folder`, its video linked beside it; the copy's path."""
    source = folder / "demo.otio"
    shutil.copyfile(demo_material.timeline, source)
    (folder / demo_material.video.name).symlink_to(demo_material.video)
    return source


def files_below(folder: Path) -> list[str]:
    """Every file and folder below `folder`, hidden ones included, as sorted relative paths."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


class ScriptedEngine(FoleyEngine):
    """The real engine, noting every request it is given; it fails one on cue.

    `fail_at` = n fails the n-th request (counted from 1 since `reset`) the way
    an unexpected error does; `hang_at` = n holds the n-th request until the
    server cancels it (when it stops), after setting `reached`.
    """

    def __init__(self, pipeline: object) -> None:
        super().__init__(pipeline)
        self.reset()

    @classmethod
    def from_config(cls, config: EngineConfig) -> ScriptedEngine:
        """A `load_engine` for `EngineServer`: the small untrained preset, whatever checkpoint is installed."""
        pipeline = build_untrained_pipeline()
        pipeline.to(config.device)
        return cls(pipeline)

    def reset(self, fail_at: int | None = None, hang_at: int | None = None) -> None:
        self.requests: list[GenerationRequest] = []
        self.fail_at = fail_at
        self.hang_at = hang_at
        self.reached = threading.Event()

    def generate_batch(self, items: Sequence[BatchItem], max_batch: int = 8) -> list:
        scripted: dict[int, Exception] = {}
        for position, item in enumerate(items):
            self.requests.append(item.request)
            number = len(self.requests)
            if number == self.fail_at:
                scripted[position] = RuntimeError(f"injected failure of request {number}")
            elif number == self.hang_at:
                scripted[position] = self._hang(item)
        real = [item for position, item in enumerate(items) if position not in scripted]
        made = iter(super().generate_batch(real, max_batch) if real else [])
        return [scripted[position] if position in scripted else next(made) for position in range(len(items))]

    def _hang(self, item: BatchItem) -> Exception:
        self.reached.set()
        while not (item.should_cancel and item.should_cancel()):
            time.sleep(0.02)
        return Cancelled("cancelled while running")
