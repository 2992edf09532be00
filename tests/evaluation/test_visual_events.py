"""`foley eval detector`: the event detector benchmark on a tiny dataset's paired test videos."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from foley_engine.data import CLASSES, load_split
from foley_engine.detection import FrameProbabilities
from foley_engine.evaluation import visual_events
from foley_engine.evaluation.__main__ import main as eval_main
from foley_engine.event_detector import VideoEventDetector
from foley_engine.request import TimeMap
from foley_engine.training.detector import clip_targets


@pytest.fixture(scope="module")
def saved_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("detector") / "event_detector"
    VideoEventDetector(image_size=16, conv_channels=(8,), hidden=8, temporal_dilations=(1,)).save_pretrained(folder)
    return folder


def test_the_command_scores_every_paired_test_clip(sync_dataset: Path, saved_detector: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    args = ["detector", "--detector", str(saved_detector), "--data", str(sync_dataset), "--out", str(out)]
    assert eval_main(args) == 0
    result = json.loads((out / "detector.json").read_text())
    paired = [r for r in load_split(sync_dataset, "test") if r.kind == "paired"]
    assert result["clips"] == len(paired) >= 2
    assert result["onsets"] == sum(len(r.onsets) for r in paired)
    assert {"onset_hit_rate", "onset_precision", "false_per_min", "onset_ap", "onset_class_accuracy"} <= set(
        result["figures"]
    )
    assert set(result["chance"]) == set(result["figures"])
    assert result["seconds_per_clip"] > 0
    assert eval_main(["detector", "--detector", str(tmp_path), "--data", str(sync_dataset)]) == 1


def test_a_detector_that_sees_the_truth_scores_full_marks_and_chance_does_not(
    sync_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = {r.video: r for r in load_split(sync_dataset, "test") if r.kind == "paired"}

    def truth(detector: VideoEventDetector, video: Path, window: TimeMap, fps: Fraction) -> FrameProbabilities:
        record = records[video]
        assert fps == record.fps and window.media_start == 0
        count = int(window.duration * fps)
        targets = clip_targets(record, count, CLASSES, visual_events.DECAY_DB)
        classes = np.eye(len(CLASSES))[np.maximum(targets.classes, 0)]
        return FrameProbabilities(targets.onset * 0.9, targets.activity * 0.9, classes)

    monkeypatch.setattr(visual_events, "window_probabilities", truth)
    result = visual_events.benchmark_detector(VideoEventDetector(), sync_dataset, "test")
    for name in ("onset_hit_rate", "onset_exact_rate", "onset_precision", "onset_ap", "activity_iou"):
        assert result.figures[name] == 1.0, name
        assert result.chance[name] < 1.0, name
    assert result.figures["false_per_min"] == 0.0 < result.chance["false_per_min"]
