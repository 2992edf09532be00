"""Stage `detector`: the video event detector, trained on the paired clips' frames at their own rate.

- **Frames.** Every paired clip is decoded once at its own frame rate with
  the engine's sampler (`sample_frames`), area-scaled to the detector's size
  and kept as uint8 in `frames-<split>.npy` in the stage folder, read back
  memory-mapped. `frames.json` holds the key they were made from (dataset
  folder, a digest of its clip lists, clip ids, frame size); anything else
  rebuilds them.
- **Targets**, per frame: an onset on each record onset's contact `frame`;
  activity from that frame until the sound has decayed `decay_db` below its
  peak in the clip's WAV or the next onset starts (`onsets.sound_spans`);
  the onset's class on its active frames.
- **Training** sees random crops of `crop_frames` frames, mirrored half the
  time. A crop's first frame has no previous frame to differ from, so unless
  the crop starts the clip its loss is left out.
- **Validation** runs whole val clips and scores them with
  `metrics.events.EventTally` at the detector's thresholds.
- **Export** first sets the detector's `onset_threshold` from the F1 of
  onset hit rate and precision on the val clips over `THRESHOLDS` (see
  `calibrate`; the positive weight of the onset loss moves the
  probabilities, so 0.5 is not the natural cut).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import AUDIO
from ..data import ClipRecord
from ..data.records import CLIPS_FILE
from ..data.taxonomy import CLASSES
from ..detection import Thresholds, output_probabilities, to_pixels
from ..event_detector import EventDetectorOutput, VideoEventDetector
from ..metrics.events import EventTally, FrameTargets
from ..onsets import sound_spans
from ..request import TimeMap
from ..video import probe_video, sample_frames
from .clips import load_records, read_samples
from .config import DetectorConfig, TrainingConfig
from .loop import Stage, TrainingError

INDEX_FILE = "frames.json"
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(2, 19))


def build_detector(config: DetectorConfig, class_names: Sequence[str] = CLASSES) -> VideoEventDetector:
    """A fresh detector with the configuration's architecture."""
    return VideoEventDetector(
        image_size=config.image_size,
        conv_channels=config.conv_channels,
        hidden=config.hidden,
        temporal_kernel=config.temporal_kernel,
        temporal_dilations=config.temporal_dilations,
        class_names=tuple(class_names),
    )


def clip_targets(record: ClipRecord, n_frames: int, class_names: Sequence[str], decay_db: float) -> FrameTargets:
    """A paired clip's per-frame targets over its `n_frames` video frames (see the module docstring)."""
    if record.fps is None:
        raise TrainingError(f"{record.id} is an audio-only clip; the detector trains on paired clips")
    onset = np.zeros(n_frames, dtype=np.float32)
    activity = np.zeros(n_frames, dtype=np.float32)
    classes = np.full(n_frames, -1, dtype=np.int64)
    events = sorted(record.onsets, key=lambda o: o.seconds)
    unknown = sorted({o.label for o in events} - set(class_names))
    if unknown:
        raise TrainingError(f"{record.id}: classes {unknown} are not among the detector's {list(class_names)}")
    if any(o.frame is None for o in events):
        raise TrainingError(f"{record.id}: an onset has no contact frame; rebuild the dataset")
    spans = sound_spans(read_samples(record), AUDIO.sample_rate, [o.seconds for o in events], decay_db)
    for index, (event, (_, end)) in enumerate(zip(events, spans)):
        first = event.frame
        stop = events[index + 1].frame if index + 1 < len(events) else n_frames
        # The frames whose display interval [k, k + 1) / fps starts before the sound ends.
        last = min(stop, max(first + 1, math.ceil(Fraction(end) * record.fps)), n_frames)
        if not 0 <= first < n_frames:
            raise TrainingError(f"{record.id}: onset frame {first} lies outside its {n_frames} frames")
        onset[first] = 1.0
        activity[first:last] = 1.0
        classes[first:last] = class_names.index(event.label)
    return FrameTargets(onset=onset, activity=activity, classes=classes)


def decode_clip(record: ClipRecord, size: int) -> np.ndarray:
    """Every frame (N, size, size, 3) uint8 of a paired clip's video, at its own rate."""
    if record.video is None:
        raise TrainingError(f"{record.id} has no video")
    info = probe_video(record.video)
    window = TimeMap(media_start=Fraction(0), duration=info.frame_count / info.fps)
    return sample_frames(record.video, window, fps=info.fps, size=(size, size), count=info.frame_count)


def _split_digest(data: Path, split: str) -> str:
    return hashlib.sha256((Path(data) / split / CLIPS_FILE).read_bytes()).hexdigest()


@dataclass
class FrameSet:
    """One split's decoded clips: all frames in one (memory-mapped) array, clip after clip."""

    records: list[ClipRecord]
    frames: np.ndarray  # (total frames, size, size, 3) uint8
    offsets: list[int]  # where each clip's frames start
    lengths: list[int]
    targets: list[FrameTargets]

    def __len__(self) -> int:
        return len(self.records)

    def clip(self, index: int, first: int = 0, count: int | None = None) -> np.ndarray:
        """Frames first .. first + count of clip `index` (all of them by default)."""
        count = self.lengths[index] - first if count is None else count
        start = self.offsets[index] + first
        return self.frames[start : start + count]


def cached_frames(out: Path, data: Path, splits: dict[str, list[ClipRecord]], size: int) -> dict[str, np.ndarray]:
    """Each split's frames, concatenated clip by clip, read from `out` when made from the same
    dataset and clips at the same size; otherwise decoded and written there first."""
    index_path = out / INDEX_FILE
    key = {
        "data": str(Path(data).resolve()),
        "digests": {split: _split_digest(data, split) for split in splits},
        "clips": {split: [r.id for r in records] for split, records in splits.items()},
        "size": size,
    }
    if index_path.is_file() and json.loads(index_path.read_text())["key"] == key:
        return {split: np.load(out / f"frames-{split}.npy", mmap_mode="r") for split in splits}
    if index_path.is_file():
        print(f"{out}: frames were made from other clips or at another size; decoding again")
        index_path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, records in splits.items():
        counts = [probe_video(r.video).frame_count for r in records]
        path = out / f"frames-{split}.npy"
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(sum(counts), size, size, 3))
        position = 0
        for record, count in zip(records, counts):
            frames = decode_clip(record, size)
            if len(frames) != count:
                raise TrainingError(f"{record.video}: decoded {len(frames)} frames, its header says {count}")
            array[position : position + count] = frames
            position += count
        array.flush()
        del array
        arrays[split] = np.load(path, mmap_mode="r")
    # Written last: an interrupted decoding leaves no key, so the next run decodes again.
    index_path.write_text(json.dumps({"key": key}, indent=1) + "\n")
    return arrays


class DetectorStage(Stage):
    """Trains `event_detector`; exports it under that name."""

    name = "detector"

    def __init__(self, config: TrainingConfig, data: Path, out: Path, device: torch.device) -> None:
        super().__init__(config.detector)
        self.config = config.detector
        self.device = device
        splits = {
            "train": load_records(data, "train", self.config.train_clips, kinds=("paired",)),
            "val": load_records(data, "val", self.config.val_clips, kinds=("paired",)),
        }
        if not splits["train"]:
            raise TrainingError(f"{data}: the train split has no paired clips to train the detector on")
        self.detector = build_detector(self.config).to(device)
        arrays = cached_frames(out, data, splits, self.config.image_size)
        self.sets = {split: self._frame_set(records, arrays[split]) for split, records in splits.items()}
        self.crop = min(self.config.crop_frames, *self.sets["train"].lengths)
        self.pos_weight = torch.tensor(self.config.onset_pos_weight, device=device)

    def _frame_set(self, records: list[ClipRecord], frames: np.ndarray) -> FrameSet:
        lengths = [probe_video(r.video).frame_count for r in records]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist() if records else []
        names = self.detector.class_names
        targets = [clip_targets(r, n, names, self.config.decay_db) for r, n in zip(records, lengths)]
        return FrameSet(records, frames, offsets, lengths, targets)

    @property
    def train_size(self) -> int:
        return len(self.sets["train"])

    def trainable(self) -> dict[str, nn.Module]:
        return {"event_detector": self.detector}

    def describe(self) -> dict[str, Any]:
        train, val = self.sets["train"], self.sets["val"]
        return {
            "train_clips": len(train),
            "val_clips": len(val),
            "train_frames": sum(train.lengths),
            "onset_share": float(np.mean(np.concatenate([t.onset for t in train.targets]))),
            "active_share": float(np.mean(np.concatenate([t.activity for t in train.targets]))),
            "crop_frames": self.crop,
            "detector_params": sum(p.numel() for p in self.detector.parameters()),
        }

    def _losses(
        self, output: EventDetectorOutput, targets: list[FrameTargets], keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(onset, activity, class) losses of the detector's `output` over the frames `keep` (B, T) marks."""
        onset = torch.from_numpy(np.stack([t.onset for t in targets])).to(self.device)
        activity = torch.from_numpy(np.stack([t.activity for t in targets])).to(self.device)
        classes = torch.from_numpy(np.stack([t.classes for t in targets])).to(self.device)
        keep = keep.to(self.device)
        weights = keep.float() / keep.sum().clamp(min=1)
        onset_loss = F.binary_cross_entropy_with_logits(
            output.onset_logits.float(), onset, pos_weight=self.pos_weight, reduction="none"
        )
        activity_loss = F.binary_cross_entropy_with_logits(output.activity_logits.float(), activity, reduction="none")
        active = keep & (classes >= 0)
        if active.any():
            class_loss = F.cross_entropy(output.class_logits[active].float(), classes[active])
        else:
            class_loss = output.class_logits.sum() * 0.0
        return (onset_loss * weights).sum(), (activity_loss * weights).sum(), class_loss

    def _total(self, losses: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        onset, activity, classes = losses
        return onset + self.config.activity_weight * activity + self.config.class_weight * classes

    def loss(self, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        train = self.sets["train"]
        crops, targets, keep = [], [], []
        for index in indices.tolist():
            first = int(torch.randint(0, train.lengths[index] - self.crop + 1, ()).item())
            frames = torch.from_numpy(np.array(train.clip(index, first, self.crop)))
            if self.config.flip and torch.rand(()).item() < 0.5:
                frames = frames.flip(2)
            whole = train.targets[index]
            crops.append(frames)
            window = slice(first, first + self.crop)
            targets.append(FrameTargets(whole.onset[window], whole.activity[window], whole.classes[window]))
            mask = torch.ones(self.crop, dtype=torch.bool)
            mask[0] = first == 0
            keep.append(mask)
        output = self.detector(to_pixels(torch.stack(crops)).to(self.device))
        losses = self._losses(output, targets, torch.stack(keep))
        onset, activity, classes = (part.item() for part in losses)
        return self._total(losses), {"onset": onset, "activity": activity, "class": classes}

    def _val_outputs(self) -> list[EventDetectorOutput]:
        val = self.sets["val"]
        return [self.detector(to_pixels(np.array(val.clip(index)))[None].to(self.device)) for index in range(len(val))]

    def validate(self) -> dict[str, float]:
        """The loss parts and `EventTally`'s figures on the whole val clips."""
        val = self.sets["val"]
        tally = EventTally()
        sums = np.zeros(3)
        thresholds = Thresholds.of(self.detector)
        for index, output in enumerate(self._val_outputs()):
            targets = val.targets[index]
            losses = self._losses(output, [targets], torch.ones(1, val.lengths[index], dtype=torch.bool))
            sums += [part.item() for part in losses]
            probabilities = output_probabilities(output)
            tally.add(probabilities, targets, val.records[index].fps, thresholds)
        onset, activity, classes = (float(part) for part in sums / max(len(val), 1))
        loss = onset + self.config.activity_weight * activity + self.config.class_weight * classes
        return {"loss": loss, "onset": onset, "activity": activity, "class": classes, **tally.figures()}

    def calibrate(self) -> float:
        """The lowest onset threshold of `THRESHOLDS` whose val F1 is within one onset's worth
        (1 / val onsets) of the best; the current one without val clips.

        Thresholds that close are a tie within the val set's noise, and the lower one keeps more
        contacts: a missed contact is a sound the Foley lacks, while an extra onset next to a
        contact still lands within a frame of it."""
        val = self.sets["val"]
        if not len(val):
            return self.detector.config.onset_threshold
        with torch.no_grad():
            probabilities = [output_probabilities(output) for output in self._val_outputs()]

        current = Thresholds.of(self.detector)

        def f1(threshold: float) -> float:
            tally = EventTally()
            thresholds = dataclasses.replace(current, onset=threshold)
            for index, clip in enumerate(probabilities):
                tally.add(clip, val.targets[index], val.records[index].fps, thresholds)
            figures = tally.figures()
            recall, precision = figures["onset_hit_rate"], figures["onset_precision"]
            # NaN (no onsets or no detections) compares false: such a threshold scores 0.
            return 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0

        scores = {threshold: f1(threshold) for threshold in THRESHOLDS}
        onsets = sum(int(targets.onset.sum()) for targets in val.targets)
        best = max(scores.values())
        return min(t for t, score in scores.items() if score >= best - 1 / max(onsets, 1))

    def export(self, out: Path) -> None:
        threshold = self.calibrate()
        self.detector.register_to_config(onset_threshold=threshold)
        print(f"detector: onset threshold {threshold} (from the onset F1 on the val clips)")
        self.detector.save_pretrained(out / "event_detector")
