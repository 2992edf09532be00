import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foley_engine.config import AUDIO
from foley_engine.data import CLASSES, SPLITS, ClipRecord, load_split
from foley_engine.request import TimeMap
from foley_engine.video import probe_video, sample_frames

FPS_CHOICES = {Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(24000, 1001)}


def all_clips(out: Path) -> list[ClipRecord]:
    return [clip for split in SPLITS for clip in load_split(out, split)]


def test_same_seed_gives_identical_files(dataset: Path, dataset_again: Path) -> None:
    for split in SPLITS:
        assert (dataset / split / "clips.jsonl").read_bytes() == (dataset_again / split / "clips.jsonl").read_bytes()
    compared = 0
    for clip in all_clips(dataset):
        for path in (clip.audio, clip.video, clip.frames):
            if path is not None:
                assert path.read_bytes() == (dataset_again / path.relative_to(dataset)).read_bytes(), path.name
                compared += 1
    assert compared == 6 * 3 + 6
    assert (dataset / "datacard.json").read_bytes() == (dataset_again / "datacard.json").read_bytes()


def test_clip_counts_and_record_fields(dataset: Path) -> None:
    counts = {split: [clip.kind for clip in load_split(dataset, split)] for split in SPLITS}
    assert {split: (kinds.count("paired"), kinds.count("audio")) for split, kinds in counts.items()} == {
        "train": (4, 4),
        "val": (1, 1),
        "test": (1, 1),
    }
    line = json.loads((dataset / "train" / "clips.jsonl").read_text().splitlines()[0])
    assert set(line) >= {"id", "kind", "fps", "classes", "onsets", "paths"}
    assert set(line["onsets"][0]) >= {"sample", "seconds_num", "seconds_den", "class"}
    for clip in all_clips(dataset):
        assert clip.audio.is_file() and set(clip.labels) <= set(CLASSES)
        assert clip.labels == tuple(sorted({onset.label for onset in clip.onsets}))
        samples, rate = sf.read(clip.audio, dtype="float32")
        assert rate == AUDIO.sample_rate and samples.shape == (AUDIO.window_samples,)
        assert np.abs(samples).max() == pytest.approx(10 ** (-1 / 20), rel=1e-4)
        if clip.kind == "paired":
            frames = np.load(clip.frames)
            assert frames.dtype == np.uint8 and frames.shape == (AUDIO.video_frames_per_window, 64, 64, 3)
        else:
            assert clip.video is None and clip.frames is None and clip.fps is None


def test_split_is_by_recording(dataset: Path) -> None:
    seen: dict[str, str] = {}
    for clip in all_clips(dataset):
        for onset in clip.onsets:
            assert seen.setdefault(onset.recording, clip.split) == clip.split, onset.recording
    card = json.loads((dataset / "datacard.json").read_text())
    split_of = {item["id"]: item["split"] for item in card["recordings"]}
    assert all(split_of[recording] == split for recording, split in seen.items())
    # Every class with three recordings has one in each split.
    for label in ("footstep", "door", "glass", "impact"):
        assert all(card["classes"][label]["recordings"][split] >= 1 for split in SPLITS), label


def test_paired_onsets_sit_on_frame_times(dataset: Path) -> None:
    paired = [clip for clip in all_clips(dataset) if clip.kind == "paired"]
    assert paired
    for clip in paired:
        assert clip.fps in FPS_CHOICES
        info = probe_video(clip.video)
        assert info.fps == clip.fps and (info.width, info.height) == (128, 128)
        assert info.duration >= AUDIO.window_seconds
        for onset in clip.onsets:
            assert onset.seconds == Fraction(onset.frame) / clip.fps
            assert onset.sample == int(onset.seconds * AUDIO.sample_rate + Fraction(1, 2))
    for clip in all_clips(dataset):
        for onset in clip.onsets:
            assert 0 < onset.sample < AUDIO.window_samples
            assert abs(onset.seconds * AUDIO.sample_rate - onset.sample) <= Fraction(1, 2)


def energy_rise_db(samples: np.ndarray, boundary: int, width: int) -> float:
    """Energy of the `width` samples from `boundary` over that of the `width` samples before it, in dB."""
    after = np.sum(samples[boundary : boundary + width] ** 2)
    before = np.sum(samples[max(boundary - width, 0) : boundary] ** 2)
    return float(10 * np.log10(max(after, 1e-12) / max(before, 1e-12)))


def test_the_audio_has_a_transient_at_every_onset(dataset: Path) -> None:
    # Look for the rise on a 4 ms grid within one mel frame either side of the onset.
    hop = AUDIO.hop_length
    for clip in all_clips(dataset):
        samples, _ = sf.read(clip.audio, dtype="float32")
        for onset in clip.onsets:
            rises = [
                energy_rise_db(samples, boundary, hop)
                for boundary in range(onset.sample - hop, onset.sample + hop + 1, hop // 4)
            ]
            assert max(rises) > 6.0, (clip.id, onset)


def test_stored_frames_match_the_decoded_video(dataset: Path) -> None:
    for clip in all_clips(dataset):
        if clip.kind != "paired":
            continue
        decoded = sample_frames(
            clip.video,
            TimeMap(Fraction(0), AUDIO.window_seconds),
            fps=AUDIO.video_fps,
            size=(64, 64),
            count=AUDIO.video_frames_per_window,
        )
        stored = np.load(clip.frames)
        difference = np.abs(decoded.astype(np.int16) - stored.astype(np.int16))
        assert difference.mean() < 3.0, clip.id
        # Frame by frame too: a one-frame shift would show as a large error on some frame.
        assert difference.reshape(len(stored), -1).mean(axis=1).max() < 5.0, clip.id


def test_rhythms_include_dense_bursts_and_long_silences(dataset: Path) -> None:
    rhythms = {clip.rhythm for clip in all_clips(dataset)}
    assert rhythms == {"regular", "irregular", "burst", "sparse"}
    window = AUDIO.window_seconds
    for kind in ("paired", "audio"):
        clips = [clip for clip in all_clips(dataset) if clip.kind == kind]
        gaps = [np.diff([float(onset.seconds) for onset in clip.onsets]) for clip in clips]
        assert min(gap.min() for gap in gaps if len(gap)) < 0.15
        silences = [
            max([float(clip.onsets[0].seconds), *gap, float(window - clip.onsets[-1].seconds) - 1.5])
            for clip, gap in zip(clips, gaps)
        ]
        assert max(silences) >= 3.0


def test_datacard_lists_licences_classes_and_exclusions(dataset: Path) -> None:
    card = json.loads((dataset / "datacard.json").read_text())
    assert card["packages"][0]["name"] == "fakepkg" and card["packages"][0]["upstream"] == "Fake Foley"
    excluded = {Path(item["path"]).name: item["reason"] for item in card["excluded"]}
    assert "non-commercial" in excluded["nc_explosion.ogg"]
    assert excluded["weird_thing.ogg"].startswith("unclassified")
    assert set(card["licences"]) == {"CC0-1.0"}
    knife = next(item for item in card["recordings"] if item["path"].endswith("knife-impact.wav"))
    assert knife["class"] == "impact" and knife["oneshots"] == 4 and knife["credit"] == "2024 Test Author"
    assert card["classes"]["footstep"]["recordings"] == {"train": 2, "val": 1, "test": 1}
    text = (dataset / "DATACARD.md").read_text()
    assert "| footstep | 2 / 2 | 1 / 1 | 1 / 1 | 4 / 4 |" in text and "nc_explosion.ogg" in text


def test_load_split_rejects_unknown_splits(dataset: Path) -> None:
    with pytest.raises(ValueError):
        load_split(dataset, "dev")
