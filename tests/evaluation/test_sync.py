"""`foley eval sync` end to end on a tiny dataset with the untrained model, and snapping in the engine."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from foley_engine import cli
from foley_engine.config import AUDIO
from foley_engine.data import load_split
from foley_engine.engine import FoleyEngine
from foley_engine.errors import InvalidRequest
from foley_engine.metrics import precise_onsets
from foley_engine.request import GenerationRequest, OnsetCue, TimeMap

MODEL_CONDITIONS = ("base", "temporal@1")
REFERENCE_CONDITIONS = ("reference (recorded)", "reference (Griffin-Lim of true mel)")


@pytest.fixture(scope="module")
def sync_report(sync_dataset: Path, untrained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sync_out")
    argv = ["eval", "sync", "--model", str(untrained_model), "--data", str(sync_dataset), "--limit", "2"]
    argv += ["--steps", "1", "--strengths", "1", "--reference", "--speed-runs", "1", "--speed-steps", "1"]
    argv += ["--figures", "1", "--out", str(out)]
    assert cli.main(argv) == 0
    return out


def test_sync_json_has_every_condition_with_and_without_snapping(sync_report: Path) -> None:
    report = json.loads((sync_report / "sync.json").read_text())
    rows = {(row["name"], row["snapped"]): row for row in report["rows"]}
    names = MODEL_CONDITIONS + REFERENCE_CONDITIONS
    assert set(rows) == {(name, snapped) for name in names for snapped in (False, True)}
    assert report["clips"] == 2 and report["skipped_audio_only"] >= 1
    for row in rows.values():
        assert row["clips"] == 2 and row["cues"] > 0
        for key in ("onset_acc", "onset_detection_acc", "onset_ap", "hit_rate_1f", "hit_rate_2f", "chance_hit_rate_1f"):
            assert 0.0 <= row[key] <= 1.0, key
        assert row["false_onsets_per_min"] >= 0 and row["silent"] + row["clipped"] <= 2
    # The untrained adapter's output convolutions are zero, so it adds exactly nothing: with the
    # same seed per clip the adapter condition reproduces the base model's audio and figures.
    for snapped in (False, True):
        assert {k: v for k, v in rows[("base", snapped)].items() if k != "name"} == {
            k: v for k, v in rows[("temporal@1", snapped)].items() if k != "name"
        }
    recorded = rows[("reference (recorded)", False)]
    assert recorded["onset_acc"] == recorded["onset_ap"] == 1.0
    assert recorded["hit_rate_2f"] >= 0.9 > recorded["chance_hit_rate_2f"]


def test_sync_json_reports_the_detector_error_and_the_stage_times(sync_report: Path) -> None:
    report = json.loads((sync_report / "sync.json").read_text())
    errors = report["detector_error"]
    assert errors["synthetic"]["precise"]["median_ms"] < 1.0 and errors["synthetic"]["precise"]["p95_ms"] < 5.0
    assert errors["synthetic"]["librosa"]["bias_ms"] > 5.0
    assert errors["dataset_isolated"]["precise"]["median_ms"] < 5.0
    speed = report["speed"]
    assert speed["steps"] == 1 and speed["runs"] == 1
    stages = speed["mean"]
    assert all(stages[key] > 0 for key in ("features_s", "diffusion_s", "decode_s", "vocoder_s"))
    assert stages["total_s"] >= stages["features_s"] + stages["diffusion_s"] + stages["vocoder_s"]


def test_sync_writes_markdown_and_a_valid_png(sync_report: Path) -> None:
    markdown = (sync_report / "sync.md").read_text()
    assert "| condition | snap |" in markdown and "reference (Griffin-Lim of true mel)" in markdown
    figures = sorted(sync_report.glob("*.png"))
    assert len(figures) == 1
    with Image.open(figures[0]) as image:
        image.verify()
    with Image.open(figures[0]) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400


def test_the_engine_snaps_when_asked(
    sync_dataset: Path, untrained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every window the engine renders is replaced by clicks 30 ms after each cue: this checks where
    # the engine snaps (joined windows, model rate, before resampling), not what the diffusion makes.
    engine = FoleyEngine.load(untrained_model)
    clip = next(clip for clip in load_split(sync_dataset, "test") if clip.kind == "paired")
    cues = (OnsetCue(Fraction(1, 2)), OnsetCue(Fraction(3, 2)))
    window = np.random.default_rng(0).standard_normal(AUDIO.window_samples).astype(np.float32) * 1e-3
    for cue in cues:
        start = int(cue.time * AUDIO.sample_rate) + 30 * 16
        window[start : start + 16] = 0.8

    def clicks(key: object, tasks: list) -> None:
        for job, _ in tasks:
            job.pieces.append(window.copy())

    monkeypatch.setattr(engine, "_run_batch", clicks)

    def render(snap: bool) -> np.ndarray:
        request = GenerationRequest(
            video_path=clip.video, window=TimeMap(Fraction(0), Fraction(2)), cues=cues, snap=snap, sample_rate=48_000
        )
        audio = engine.generate(request)
        assert len(audio.samples) == 96_000 and audio.stats["transients_snapped"] == (2.0 if snap else 0.0)
        assert audio.stats["transients_filled"] == 0.0
        return audio.samples

    for snap, delay in ((False, Fraction(3, 100)), (True, Fraction(0))):
        onsets = precise_onsets(render(snap), 48_000)
        for cue in cues:
            assert np.min(np.abs(onsets - float(cue.time + delay))) < 0.001, (snap, cue)
    with pytest.raises(InvalidRequest, match="snap_reach_ms"):
        engine.validate(GenerationRequest(video_path=clip.video, window=TimeMap(Fraction(0), Fraction(2)), snap_reach_ms=0))


def test_cues_from_video_generate_without_the_true_onsets_and_snap_to_the_detected_ones(
    sync_dataset: Path, untrained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[GenerationRequest] = []
    generate = FoleyEngine.generate

    def recording_generate(self: FoleyEngine, request: GenerationRequest, *args, **kwargs):  # noqa: ANN002, ANN003
        sent.append(request)
        return generate(self, request, *args, **kwargs)

    monkeypatch.setattr(FoleyEngine, "generate", recording_generate)
    argv = ["eval", "sync", "--model", str(untrained_model), "--data", str(sync_dataset), "--limit", "1"]
    argv += ["--steps", "1", "--strengths", "1", "--semantic-strengths", "0.5", "--cues", "video"]
    argv += ["--speed-runs", "0", "--figures", "1", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    report = json.loads((tmp_path / "sync.json").read_text())
    assert {row["name"] for row in report["rows"]} == {"base", "temporal@1", "temporal@1+semantic@0.5"}
    assert report["settings"]["cues"] == "video"
    by_strength = {(r.temporal_strength, r.semantic_strength): r for r in sent}
    assert not by_strength[(None, 0.0)].video_cues  # the base: no cues at all
    for key in ((1.0, 0.0), (1.0, 0.5)):
        assert by_strength[key].video_cues and by_strength[key].cues == ()
    assert (tmp_path / report["figures"][0]).is_file()
