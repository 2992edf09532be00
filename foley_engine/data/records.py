"""The per-clip records of a built dataset (`<split>/clips.jsonl`) and loading them back.

Onset times are exact: a fraction of seconds (a frame time for paired
clips) next to the sample index it rounds to, never a 4 fps frame index.
Paths are stored relative to the dataset folder and resolved on loading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .splits import SPLITS

CLIPS_FILE = "clips.jsonl"


@dataclass(frozen=True)
class OnsetRecord:
    """One placed sound: its start (exact seconds and sample index), class and source recording."""

    sample: int
    seconds: Fraction
    label: str
    recording: str
    frame: int | None = None  # the contact frame of a paired clip


@dataclass(frozen=True)
class ClipRecord:
    """One 8.192 s training clip."""

    id: str
    kind: str  # "paired" (video + audio) or "audio" (audio only)
    split: str
    fps: Fraction | None
    rhythm: str
    labels: tuple[str, ...]
    onsets: tuple[OnsetRecord, ...]
    audio: Path
    video: Path | None = None
    frames: Path | None = None

    def to_json(self, root: Path) -> dict[str, Any]:
        """The record as written to clips.jsonl, paths relative to the dataset folder `root`."""
        onsets = []
        for onset in self.onsets:
            item: dict[str, Any] = {
                "sample": onset.sample,
                "seconds_num": onset.seconds.numerator,
                "seconds_den": onset.seconds.denominator,
                "class": onset.label,
                "recording": onset.recording,
            }
            if onset.frame is not None:
                item["frame"] = onset.frame
            onsets.append(item)
        paths = {"audio": self.audio, "video": self.video, "frames": self.frames}
        return {
            "id": self.id,
            "kind": self.kind,
            "split": self.split,
            "fps": None if self.fps is None else f"{self.fps.numerator}/{self.fps.denominator}",
            "rhythm": self.rhythm,
            "classes": list(self.labels),
            "onsets": onsets,
            "paths": {name: path.relative_to(root).as_posix() for name, path in paths.items() if path is not None},
        }

    @classmethod
    def from_json(cls, item: dict[str, Any], root: Path) -> ClipRecord:
        """The record of one clips.jsonl line, paths resolved against `root`."""
        paths = {name: root / value for name, value in item["paths"].items()}
        return cls(
            id=item["id"],
            kind=item["kind"],
            split=item["split"],
            fps=None if item["fps"] is None else Fraction(item["fps"]),
            rhythm=item["rhythm"],
            labels=tuple(item["classes"]),
            onsets=tuple(
                OnsetRecord(
                    sample=onset["sample"],
                    seconds=Fraction(onset["seconds_num"], onset["seconds_den"]),
                    label=onset["class"],
                    recording=onset["recording"],
                    frame=onset.get("frame"),
                )
                for onset in item["onsets"]
            ),
            audio=paths["audio"],
            video=paths.get("video"),
            frames=paths.get("frames"),
        )


def write_split(records: list[ClipRecord], root: Path, split: str) -> Path:
    """Write `root/<split>/clips.jsonl`, one compact JSON object per line in the given order."""
    path = root / split / CLIPS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(root), separators=(",", ":")) + "\n")
    return path


def load_split(out: Path | str, split: str) -> list[ClipRecord]:
    """The clips of one split ("train", "val" or "test") of the dataset built in `out`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    root = Path(out)
    path = root / split / CLIPS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; build the dataset with `python -m foley_engine.data build`")
    with open(path, encoding="utf-8") as handle:
        return [ClipRecord.from_json(json.loads(line), root) for line in handle if line.strip()]
