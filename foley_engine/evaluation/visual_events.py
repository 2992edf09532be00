"""The video event detector benchmark: onsets, activity and classes on a split's paired clips.

Each clip's video is read the way the engine reads it (`detection.window_probabilities`:
frames at the clip's own rate, decoded from the MP4, in chunks) and scored
against its metadata with `metrics.events.EventTally` at the detector's own
thresholds: onset hit rate within ±1 frame next to precision and false onsets
per minute, AP, class accuracy and activity IoU. A chance row scores each
clip's detections against another clip's truth (the same fps), which is what
the detector's onset density alone would hit. Speed is the wall time of one
clip's detection (decoding included).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..data import ClipRecord, load_split
from ..detection import FrameProbabilities, Thresholds, window_probabilities
from ..event_detector import VideoEventDetector
from ..metrics.events import EventTally, FrameTargets
from ..request import TimeMap
from ..training.detector import clip_targets
from ..video import probe_video

DECAY_DB = 35.0  # the activity targets' decay, as the small config trains them


@dataclass(frozen=True)
class DetectorBenchmark:
    """The figures of one detector on one split."""

    split: str
    clips: int
    onsets: int
    figures: dict[str, float]
    chance: dict[str, float]  # the same detections scored against another clip of the same rate
    thresholds: Thresholds
    seconds_per_clip: float

    def as_dict(self) -> dict[str, object]:
        return {
            "split": self.split,
            "clips": self.clips,
            "onsets": self.onsets,
            "thresholds": asdict(self.thresholds),
            "seconds_per_clip": self.seconds_per_clip,
            "figures": self.figures,
            "chance": self.chance,
        }


def _chance_partner(records: list[ClipRecord], index: int) -> int | None:
    """The next clip after `index` (cyclically) with the same frame rate, or None."""
    for step in range(1, len(records)):
        other = (index + step) % len(records)
        if records[other].fps == records[index].fps:
            return other
    return None


def benchmark_detector(
    detector: VideoEventDetector,
    data: Path,
    split: str = "test",
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> DetectorBenchmark:
    """Score `detector` on the paired clips of `split` (the first `limit` of them)."""
    records = [r for r in load_split(data, split) if r.kind == "paired"][:limit]
    if not records:
        raise ValueError(f"{data}: the {split} split has no paired clips")
    thresholds = Thresholds.of(detector)
    results: list[tuple[FrameProbabilities, FrameTargets]] = []
    seconds = 0.0
    for index, record in enumerate(records):
        info = probe_video(record.video)
        began = time.perf_counter()
        window = TimeMap(Fraction(0), info.frame_count / info.fps)
        probabilities = window_probabilities(detector, record.video, window, info.fps)
        seconds += time.perf_counter() - began
        results.append((probabilities, clip_targets(record, info.frame_count, detector.class_names, DECAY_DB)))
        if (index + 1) % 50 == 0:
            log(f"{index + 1}/{len(records)} clips")
    tally, chance = EventTally(), EventTally()
    for index, (record, (probabilities, targets)) in enumerate(zip(records, results)):
        tally.add(probabilities, targets, record.fps, thresholds)
        partner = _chance_partner(records, index)
        if partner is not None:
            # Clips of one rate have one length: ceil(window × fps) frames.
            other = results[partner][1]
            chance.add(probabilities, other, record.fps, thresholds)
    return DetectorBenchmark(
        split=split,
        clips=len(records),
        onsets=tally.onsets,
        figures=tally.figures(),
        chance=chance.figures(),
        thresholds=thresholds,
        seconds_per_clip=seconds / len(records),
    )


def write_benchmark(result: DetectorBenchmark, out: Path) -> Path:
    """`out/detector.json` with the benchmark's figures."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "detector.json"
    path.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return path


def format_benchmark(result: DetectorBenchmark) -> str:
    """The figures as a small Markdown table, chance beside each."""
    lines = [
        f"{result.clips} {result.split} clips, {result.onsets} onsets; {result.thresholds}, "
        f"{result.seconds_per_clip:.2f} s per clip",
        "",
        "| figure | detector | chance |",
        "| --- | --- | --- |",
    ]
    for name, value in result.figures.items():
        other = result.chance.get(name, float("nan"))
        chance = f"{other:.3f}" if np.isfinite(other) else "—"
        lines.append(f"| {name} | {value:.3f} | {chance} |")
    return "\n".join(lines)
