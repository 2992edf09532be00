"""`foley eval semantic`: the event classifier, FD and KL, what each ablation row feeds the
pipeline, and the command end to end on the tiny dataset with the untrained model."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from foley_engine import cli
from foley_engine.audio_encoder import AudioEncoder
from foley_engine.audio_io import read_wav
from foley_engine.config import AUDIO
from foley_engine.data import load_split
from foley_engine.evaluation.classifier import (
    CROP_FRAMES,
    MAX_SHIFT,
    ClassifierTraining,
    EventSet,
    accuracy,
    audio_crops,
    event_crops,
    load_or_train,
    predict,
    train_classifier,
)
from foley_engine.evaluation.semantic import (
    BASE,
    RECORDED,
    RESYNTHESISED,
    Condition,
    clip_description,
    condition_inputs,
    semantic_conditions,
)
from foley_engine.mel import log_mel
from foley_engine.metrics.distributions import frechet_distance, kl_divergence
from foley_engine.semantics import WindowText

RATE = AUDIO.sample_rate
TOY_TONES = (300.0, 900.0, 2000.0, 4500.0)  # one class per tone


def _toy_events(seed: int, per_class: int) -> EventSet:
    """Decaying tone bursts, one frequency per class, at random levels in one clip per class."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.3 * RATE)) / RATE
    crops, labels = [], []
    for label, tone in enumerate(TOY_TONES):
        audio = np.zeros(AUDIO.window_samples, dtype=np.float32)
        onsets = [Fraction(k * 8 + 2, 20) for k in range(per_class)]  # 0.4 s apart
        for onset in onsets:
            start = int(onset * RATE)
            burst = np.sin(2 * np.pi * tone * t) * np.exp(-t / 0.05) * rng.uniform(0.1, 0.8)
            audio[start : start + len(t)] += burst + 0.01 * rng.standard_normal(len(t))
        mel = log_mel(torch.from_numpy(audio)[None])[0]
        crops.append(event_crops(mel, onsets, MAX_SHIFT).half())
        labels += [label] * len(onsets)
    return EventSet(torch.cat(crops), torch.tensor(labels))


def test_the_classifier_learns_a_separable_toy_set_far_above_chance() -> None:
    torch.manual_seed(0)
    train, val = _toy_events(0, 20), _toy_events(1, 10)
    model, history = train_classifier(train, val, ClassifierTraining(epochs=4, batch_size=16), log=lambda _: None)
    assert len(history) == 4
    # Four classes: chance is 0.25.
    assert accuracy(predict(model, val.centred()), val.labels) >= 0.9
    assert max(epoch["val_accuracy"] for epoch in history) >= 0.9


def test_crops_start_just_before_the_onset_and_read_silence_past_the_end() -> None:
    mel = torch.zeros(AUDIO.n_mels, AUDIO.window_frames)
    mel[:, 100] = 1.0  # a one-frame click in frame 100 (1.6 s)
    crops = event_crops(mel, [Fraction(8, 5), Fraction(8)])
    assert crops.shape == (2, AUDIO.n_mels, CROP_FRAMES)
    assert crops[0, 0].nonzero().flatten().tolist() == [2]  # LEAD_FRAMES in
    assert not crops[1].any()  # 8 s: mostly past the window's 8.192 s, padded with the floor
    wide = event_crops(mel, [Fraction(8, 5)], margin=MAX_SHIFT)
    assert wide.shape[-1] == CROP_FRAMES + 2 * MAX_SHIFT
    assert torch.equal(wide[..., MAX_SHIFT : MAX_SHIFT + CROP_FRAMES], crops[:1])
    samples = np.zeros(AUDIO.window_samples, dtype=np.float32)
    assert audio_crops(samples, []).shape == (0, AUDIO.n_mels, CROP_FRAMES)


def test_the_classifier_is_cached_until_the_data_or_settings_change(sync_dataset: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for split in ("train", "val"):
        (data / split).mkdir(parents=True)
        shutil.copy(sync_dataset / split / "clips.jsonl", data / split / "clips.jsonl")
    # The copied records name the original's audio by relative path; link the audio folders in.
    for split in ("train", "val"):
        for item in (sync_dataset / split).iterdir():
            if item.is_dir():
                (data / split / item.name).symlink_to(item)
    folder = tmp_path / "classifier"
    settings = ClassifierTraining(epochs=1, batch_size=8)
    first = load_or_train(data, folder, settings, log=lambda _: None)
    assert first.trained_now and (folder / "training.json").is_file()
    assert first.record["train_events"] > 0 and first.record["val_events"] > 0
    again = load_or_train(data, folder, settings, log=lambda _: None)
    assert not again.trained_now
    for name, parameter in first.model.state_dict().items():
        assert torch.equal(parameter, again.model.state_dict()[name]), name
    assert load_or_train(data, folder, ClassifierTraining(epochs=2, batch_size=8), log=lambda _: None).trained_now
    # A val clip listed twice: the data changed, so the cached model is stale.
    lines = (data / "val" / "clips.jsonl").read_text().splitlines()
    (data / "val" / "clips.jsonl").write_text("\n".join(lines[:-1] + [lines[-1]] * 2) + "\n")
    assert load_or_train(data, folder, ClassifierTraining(epochs=2, batch_size=8), log=lambda _: None).trained_now


def test_frechet_distance_is_zero_for_a_set_and_itself_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 8))
    assert abs(frechet_distance(a, a)) < 1e-6
    # Equal covariances: the distance is the squared distance of the means.
    assert frechet_distance(a, a + 1.0) == pytest.approx(8.0, rel=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(32.0, rel=1e-6)
    # Twice the spread: tr(S + 4S - 2 * 2S) = tr(S), plus the mean's own shift.
    mean = a.mean(axis=0)
    assert frechet_distance(a, 2.0 * a) == pytest.approx(np.trace(np.cov(a, rowvar=False)) + mean @ mean, rel=1e-6)
    # Fewer rows than dimensions (singular covariances), as a small benchmark run has.
    small = rng.standard_normal((3, 16))
    assert abs(frechet_distance(small, small)) < 1e-4
    assert frechet_distance(small, small + 0.5) == pytest.approx(16 * 0.25, rel=1e-3)
    with pytest.raises(ValueError):
        frechet_distance(a[:1], a)


def test_kl_divergence_is_zero_for_equal_distributions_and_log_two_for_certain_against_even() -> None:
    p = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    assert np.allclose(kl_divergence(p, p), 0.0, atol=1e-6)
    certain, even = np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])
    assert kl_divergence(certain, even)[0] == pytest.approx(np.log(2.0), rel=1e-6)
    # Ruling out the true class costs a lot, but a finite amount.
    assert 10.0 < kl_divergence(certain, np.array([[0.0, 1.0]]))[0] < 30.0


def test_each_ablation_row_feeds_the_pipeline_what_its_name_says() -> None:
    conditions = {condition.name: condition for condition in semantic_conditions([1.0, 0.5])}
    assert list(conditions) == [
        BASE,
        "semantic@1: events only",
        "semantic@1: text only",
        "semantic@1: events + text",
        "semantic@0.5: events only",
        "semantic@0.5: text only",
        "semantic@0.5: events + text",
    ]
    spans = np.zeros(AUDIO.window_frames, dtype=np.float32)
    spans[100:140] = 1.0
    embeddings = np.zeros((16, 384), dtype=np.float32)
    embeddings[0, 0] = 1.0
    centres = np.zeros(16, dtype=np.float32)
    centres[0], centres[-1] = 0.23, -1.0
    text = WindowText(spans, embeddings, centres)
    onsets = np.zeros(AUDIO.window_frames, dtype=np.float32)
    onsets[100] = 1.0

    def fed(name: str) -> dict:
        inputs = condition_inputs(conditions[name], onsets, text)
        assert np.array_equal(inputs["onset_mask"], onsets[None])  # the temporal cues never change
        return inputs

    base = fed(BASE)
    assert base["span_mask"] is None and base["event_embeddings"] is None and base["semantic_strength"] == 0.0
    events = fed("semantic@1: events only")
    assert np.array_equal(events["span_mask"], spans[None]) and events["event_embeddings"] is None
    assert events["semantic_strength"] == 1.0
    words = fed("semantic@1: text only")
    # An all-zero mask, not None: None would switch the adapter off.
    assert words["span_mask"] is not None and not words["span_mask"].any()
    assert torch.equal(words["event_embeddings"], torch.from_numpy(embeddings)[None])
    assert torch.equal(words["event_centres"], torch.from_numpy(centres)[None])
    both = fed("semantic@0.5: events + text")
    assert np.array_equal(both["span_mask"], spans[None]) and both["event_embeddings"] is not None
    assert both["semantic_strength"] == 0.5
    assert condition_inputs(Condition("off", None, spans=True, text=True), onsets, text)["span_mask"] is None


def test_a_clips_events_are_its_labelled_onsets_until_each_sound_decays(sync_dataset: Path) -> None:
    clip = next(c for c in load_split(sync_dataset, "test") if c.kind == "paired")
    reference, _ = read_wav(clip.audio)
    description = clip_description(clip, reference)
    assert description.summary == ""
    assert [event.label for event in description.events] == [onset.label for onset in clip.onsets]
    hop = Fraction(AUDIO.hop_length, AUDIO.sample_rate)
    for event, onset in zip(description.events, clip.onsets):
        assert abs(event.start - onset.seconds) <= hop
        assert event.end > event.start


@pytest.fixture(scope="module")
def semantic_report(
    sync_dataset: Path, untrained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("semantic_out")
    tower = tmp_path_factory.mktemp("cavp")
    torch.manual_seed(0)
    AudioEncoder().save_pretrained(tower / "audio_encoder")
    argv = ["eval", "semantic", "--model", str(untrained_model), "--data", str(sync_dataset), "--limit", "2"]
    argv += ["--steps", "1", "--audio-tower", str(tower), "--out", str(out)]
    assert cli.main(argv) == 0
    return out, str(tower / "audio_encoder")


def test_semantic_json_has_every_row_scored(semantic_report: tuple[Path, str]) -> None:
    out, tower = semantic_report
    report = json.loads((out / "semantic.json").read_text())
    rows = {row["name"]: row for row in report["rows"]}
    conditions = [BASE, "semantic@1: events only", "semantic@1: text only", "semantic@1: events + text"]
    assert list(rows) == [RECORDED, RESYNTHESISED, *conditions]
    assert report["clips"] == 2 and report["skipped_audio_only"] >= 1 and not report["skipped_conditions"]
    assert report["audio_tower"] == tower
    events = report["events"]
    assert events > 0
    for row in rows.values():
        assert row["clips"] == 2 and row["events"] == events
        assert 0.0 <= row["accuracy"] <= 1.0
    assert rows[RECORDED]["fd"] is None and rows[RECORDED]["kl"] is None
    for name in [RESYNTHESISED, *conditions]:
        assert rows[name]["fd"] >= -1e-6 and rows[name]["kl"] >= 0.0, name
    # The untrained semantic adapter's output convolutions are zero, so with the same seed per
    # clip every ablation row reproduces the adapter-off row exactly.
    for name in conditions[1:]:
        assert {k: v for k, v in rows[name].items() if k != "name"} == {
            k: v for k, v in rows[BASE].items() if k != "name"
        }
    classifier = report["classifier"]
    assert classifier["trained_now"] and classifier["split_events"] >= events
    assert (out / "classifier" / "training.json").is_file()
    assert set(report["target"]["by_strength"]) == {"1"}
    assert report["target"]["by_strength"]["1"] == {"gain": 0.0, "met": False}
    per_clip = report["per_clip"][BASE]
    assert [item["events"] for item in per_clip] and sum(item["events"] for item in per_clip) == events


def test_semantic_markdown_holds_the_table_and_the_target(semantic_report: tuple[Path, str]) -> None:
    markdown = (semantic_report[0] / "semantic.md").read_text()
    assert "| condition | clips | events | class acc | FD | KL | limited |" in markdown
    assert "| semantic@1: events + text | 2 |" in markdown
    assert "Target: events + text at least 10 points" in markdown and "+0.0 points (not met)" in markdown
