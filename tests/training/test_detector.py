"""`foley train detector` on the tiny dataset: its targets, its frame cache, its loss falling,
resuming from its checkpoint, and the exported detector running on a clip's real video."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from foley_engine.data import CLASSES, ClipRecord, load_split
from foley_engine.detection import detect_events
from foley_engine.engine import FoleyEngine
from foley_engine.event_detector import VideoEventDetector
from foley_engine.onsets import sound_spans
from foley_engine.request import DetectionRequest, TimeMap
from foley_engine.training.__main__ import main as train_main
from foley_engine.training.checkpoint import load_checkpoint
from foley_engine.training.clips import read_samples
from foley_engine.training.config import load_config
from foley_engine.training.detector import THRESHOLDS, build_detector, cached_frames, clip_targets
from foley_engine.training.loop import read_loss_log
from foley_engine.video import probe_video

from .conftest import stage_args


@pytest.fixture(scope="module")
def detector_run(training_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The detector stage trained once with the tiny config."""
    root = tmp_path_factory.mktemp("detector")
    assert train_main(stage_args("detector", training_data, root)) == 0
    return root / "detector"


def paired(data: Path, split: str) -> list[ClipRecord]:
    return [record for record in load_split(data, split) if record.kind == "paired"]


def test_targets_mark_contact_frames_and_the_sound_until_it_decays(training_data: Path) -> None:
    record = max(paired(training_data, "train"), key=lambda r: len(r.onsets))
    frames = probe_video(record.video).frame_count
    targets = clip_targets(record, frames, CLASSES, decay_db=35.0)

    contact = [onset.frame for onset in record.onsets]
    assert np.flatnonzero(targets.onset).tolist() == contact
    assert targets.activity[: contact[0]].sum() == 0
    assert (targets.classes >= 0).tolist() == (targets.activity > 0).tolist()
    spans = sound_spans(read_samples(record), 16_000, [onset.seconds for onset in record.onsets], 35.0)
    decayed = 0
    for index, onset in enumerate(record.onsets):
        following = record.onsets[index + 1].frame if index + 1 < len(record.onsets) else frames
        # Active from the contact frame through the frame during which the sound has decayed,
        # never into the next sound.
        last = min(following, max(onset.frame + 1, math.ceil(Fraction(spans[index][1]) * record.fps)))
        assert targets.activity[onset.frame : last].all()
        assert (targets.classes[onset.frame : last] == CLASSES.index(onset.label)).all()
        assert targets.activity[last:following].sum() == 0
        decayed += last < following
    assert decayed, "no sound of the clip decays before the next one starts"


def test_the_detector_learns_resumes_and_its_export_runs_on_a_clips_video(
    detector_run: Path, training_data: Path
) -> None:
    config = load_config("tiny").detector
    losses = [r["loss"] for r in read_loss_log(detector_run) if r["phase"] == "train"]
    assert len(losses) == config.steps
    assert np.mean(losses[-8:]) < np.mean(losses[:8]), losses
    validation = [r for r in read_loss_log(detector_run) if r["phase"] == "val"][-1]
    assert {"onset_hit_rate", "onset_precision", "false_per_min", "onset_ap", "frame_class_accuracy"} <= set(validation)
    assert json.loads((detector_run / "stage.json").read_text())["steps"] == config.steps

    # The checkpoint holds the exported weights (no EMA in the tiny config) and loads back.
    exported = VideoEventDetector.from_pretrained(detector_run / "event_detector")
    state = load_checkpoint(detector_run)["modules"]["event_detector"]
    restored = build_detector(config)
    restored.load_state_dict(state)
    for name, tensor in exported.state_dict().items():
        assert torch.equal(tensor, restored.state_dict()[name]), name
    assert exported.config.onset_threshold in THRESHOLDS
    assert exported.config.image_size == config.image_size

    record = paired(training_data, "val")[0]
    duration = Fraction(probe_video(record.video).frame_count) / record.fps
    found = detect_events(exported.eval(), record.video, TimeMap(Fraction(0), duration))
    assert found.fps == record.fps
    assert all((cue.time * record.fps).denominator == 1 and 0 <= cue.time < duration for cue in found.onsets)


def test_resuming_continues_from_the_checkpoint_and_keeps_the_frame_cache(
    detector_run: Path, training_data: Path
) -> None:
    steps = load_config("tiny").detector.steps
    frames = detector_run / "frames-train.npy"
    written = frames.stat().st_mtime_ns
    args = ["detector", "--config", "tiny", "--data", str(training_data), "--out", str(detector_run)]
    assert train_main([*args, "--resume", "--max-steps", str(steps + 4)]) == 0
    trained = [r["step"] for r in read_loss_log(detector_run) if r["phase"] == "train"]
    assert trained == list(range(1, steps + 5))
    assert frames.stat().st_mtime_ns == written
    # Without --resume an existing checkpoint is refused rather than overwritten.
    assert train_main(args) == 1


def test_the_frame_cache_is_decoded_again_for_another_size(training_data: Path, tmp_path: Path) -> None:
    records = {"train": paired(training_data, "train")[:2], "val": []}
    small = cached_frames(tmp_path, training_data, records, size=16)["train"]
    counts = [probe_video(r.video).frame_count for r in records["train"]]
    assert small.shape == (sum(counts), 16, 16, 3) and small.dtype == np.uint8
    assert small.any()
    again = cached_frames(tmp_path, training_data, records, size=16)["train"]
    assert isinstance(again, np.memmap)  # read back, not decoded
    larger = cached_frames(tmp_path, training_data, records, size=24)["train"]
    assert larger.shape == (sum(counts), 24, 24, 3)


def test_assemble_adds_the_trained_detector_and_the_engine_detects(
    trained: Path, detector_run: Path, training_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pipeline"
    args = ["assemble", "--config", "tiny", "-o", str(out), "--detector", str(detector_run)]
    for stage in ("cavp", "vae", "base", "temporal"):
        args += [f"--{stage}", str(trained / stage)]
    assert train_main(args) == 0
    engine = FoleyEngine.load(out)
    assert isinstance(engine.pipeline.event_detector, VideoEventDetector)
    record = paired(training_data, "test")[0]
    found = engine.detect(DetectionRequest(record.video, TimeMap(Fraction(0), Fraction(4))))
    assert found.fps == record.fps
