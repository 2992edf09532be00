"""Building the training dataset: recordings → licence and class checks → one-shots → splits → clips.

The dataset folder holds `datacard.json`, `DATACARD.md` and one folder per
split with `clips.jsonl`, `audio/<id>.wav`, and for paired clips
`video/<id>.mp4` and `frames/<id>.npy` (the 4 fps frames, ready for training).
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from ..errors import FoleyError
from .clips import KINDS, ClipStyle, ClipTask, Pool, make_clip
from .datacard import class_counts, write_datacard
from .debian import DEFAULT_PACKAGES, fetch_packages, find_package_roots
from .library import INCLUDED, prepare_all, survey
from .records import ClipRecord, write_split
from .splits import SPLITS, assign_splits, split_counts

# (stage, done, total): stage is "recordings" or "clips".
Progress = Callable[[str, int, int], None]


class DatasetError(FoleyError):
    """The dataset cannot be built from what was found."""


@dataclass(frozen=True)
class DataConfig:
    """What to build. Audio numbers (sample rate, window, 4 fps) come from `foley_engine.config.AUDIO`."""

    seed: int = 0
    paired: int = 0
    audio_only: int = 0
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    cache: Path = Path(".cache/debian")
    # A folder laid out like unpacked packages; when set, nothing is downloaded.
    recordings_dir: Path | None = None
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    max_oneshot_seconds: float = 1.5
    max_oneshots_per_recording: int = 8
    fps_choices: tuple[Fraction, ...] = (Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(24000, 1001))
    video_size: int = 128
    frames_size: int = 64
    second_class_share: float = 0.3
    workers: int = 1


@dataclass(frozen=True)
class DatasetSummary:
    """What a build produced."""

    out: Path
    clips: dict[str, dict[str, int]]  # split -> kind -> clips written
    classes: dict[str, dict[str, dict[str, int]]]  # class -> "recordings"|"oneshots" -> split -> count
    recordings_included: int
    recordings_excluded: int
    seconds: float
    bytes_on_disk: int
    skipped: dict[str, int] = field(default_factory=dict)  # split -> clips not made (no recordings there)


# Each worker process receives the pools once, not with every clip.
_WORKER_STATE: list[tuple[dict[str, Pool], ClipStyle, Path]] = []


def _init_worker(pools: dict[str, Pool], style: ClipStyle, out: Path) -> None:
    _WORKER_STATE[:] = [(pools, style, out)]


def _run_task(task: ClipTask) -> ClipRecord:
    pools, style, out = _WORKER_STATE[0]
    return make_clip(task, pools[task.split], style, out)


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def build_dataset(config: DataConfig, out: Path, progress: Progress | None = None) -> DatasetSummary:
    """Build the dataset described by `config` into `out` and return what was made.

    The split folders in `out` are replaced; the same config always gives
    identical files, whatever `workers` is.
    """
    if config.video_size % config.frames_size:
        raise ValueError(f"video_size {config.video_size} must be a multiple of frames_size {config.frames_size}")
    started = time.perf_counter()
    out = Path(out)
    packages = (
        find_package_roots(Path(config.recordings_dir))
        if config.recordings_dir is not None
        else fetch_packages(config.packages, Path(config.cache))
    )

    def report(stage: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(stage, done, total))

    entries, oneshots = prepare_all(
        survey(packages), config.max_oneshot_seconds, config.max_oneshots_per_recording, report("recordings")
    )
    labels = {entry.recording.id: entry.label for entry in entries if entry.status == INCLUDED and entry.label}
    if not labels:
        raise DatasetError("no usable recordings: every one was excluded (see the licence and class rules)")
    assignment = assign_splits(labels, config.seed, config.split_fractions)
    entries = [replace(entry, split=assignment.get(entry.recording.id, "")) for entry in entries]
    pools: dict[str, Pool] = {split: {} for split in SPLITS}
    for recording_id in sorted(labels):
        pools[assignment[recording_id]].setdefault(labels[recording_id], []).append(
            (recording_id, oneshots[recording_id])
        )

    for split in SPLITS:
        shutil.rmtree(out / split, ignore_errors=True)
        for folder in ("audio", "video", "frames"):
            (out / split / folder).mkdir(parents=True)
    write_datacard(out, packages, entries, config.seed)

    tasks: list[ClipTask] = []
    skipped: dict[str, int] = {}
    for kind, total in zip(KINDS, (config.paired, config.audio_only)):
        for split, count in zip(SPLITS, split_counts(total, config.split_fractions)):
            if pools[split]:
                tasks.extend(ClipTask(split, kind, index, config.seed) for index in range(count))
            elif count:
                skipped[split] = skipped.get(split, 0) + count
    style = ClipStyle(config.fps_choices, config.video_size, config.frames_size, config.second_class_share)
    records: list[ClipRecord] = []
    clip_progress = report("clips")
    if config.workers > 1 and len(tasks) > 1:
        # Fork keeps the pools shared copy-on-write; order of results follows the tasks.
        context = multiprocessing.get_context("fork")
        with context.Pool(config.workers, initializer=_init_worker, initargs=(pools, style, out)) as workers:
            for record in workers.imap(_run_task, tasks, chunksize=4):
                records.append(record)
                if clip_progress:
                    clip_progress(len(records), len(tasks))
    else:
        for task in tasks:
            records.append(make_clip(task, pools[task.split], style, out))
            if clip_progress:
                clip_progress(len(records), len(tasks))

    clips: dict[str, dict[str, int]] = {split: dict.fromkeys(KINDS, 0) for split in SPLITS}
    for split in SPLITS:
        write_split([record for record in records if record.split == split], out, split)
    for record in records:
        clips[record.split][record.kind] += 1
    return DatasetSummary(
        out=out,
        clips=clips,
        classes=class_counts(entries),
        recordings_included=len(labels),
        recordings_excluded=len(entries) - len(labels),
        seconds=time.perf_counter() - started,
        bytes_on_disk=_folder_bytes(out),
        skipped=skipped,
    )
