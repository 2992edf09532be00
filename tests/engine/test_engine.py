import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from foley_engine import engine as engine_module
from foley_engine.config import AUDIO
from foley_engine.data.clip_video import encode_scene
from foley_engine.data.scenes import Scene, VisualEvent
from foley_engine.engine import FoleyEngine, save_untrained
from foley_engine.errors import Cancelled, InvalidRequest, MediaError, ModelError
from foley_engine.request import (
    DetectionRequest,
    EventSpan,
    GenerationRequest,
    OnsetCue,
    ProgressUpdate,
    TimeMap,
)
from foley_engine.video import sample_frames

from .engine_testing import write_video


@pytest.fixture(scope="module")
def video_8fps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s at 8 fps: enough for a two-window clip."""
    return write_video(tmp_path_factory.mktemp("engine") / "8fps.mp4", 96, 8)


def request(video: Path, seconds: Fraction, **changes) -> GenerationRequest:
    base = GenerationRequest(
        video_path=video,
        window=TimeMap(media_start=Fraction(1, 2), duration=seconds),
        cues=(OnsetCue(Fraction(1)), OnsetCue(Fraction(2, 3), "door")),
        spans=(EventSpan(Fraction(1, 2), Fraction(3, 2), "steps"),),
        seed=11,
        steps=2,
    )
    return dataclasses.replace(base, **changes)


def test_info_describes_the_untrained_preset(engine: FoleyEngine) -> None:
    info = engine.info()
    assert not info.trained and info.name.startswith("untrained")
    assert [a.name for a in info.adapters] == ["temporal", "semantic"]
    assert not any(a.trained for a in info.adapters)
    assert (info.device, info.sample_rate, info.window_samples) == ("cpu", 16000, AUDIO.window_samples)
    assert (info.default_steps, info.default_guidance_scale) == (25, 4.5)


def test_three_seconds_at_48k(engine: FoleyEngine, video_8fps: Path) -> None:
    updates: list[ProgressUpdate] = []
    audio = engine.generate(request(video_8fps, Fraction(3), sample_rate=48000), on_progress=updates.append)
    assert audio.samples.shape == (144000,) and audio.samples.dtype == np.float32
    assert audio.sample_rate == 48000 and audio.duration == 3
    assert np.abs(audio.samples).max() <= 1.0
    assert (audio.seed, audio.model_name) == (11, engine.info().name)
    stages = [(u.stage, u.step, u.total) for u in updates]
    assert stages[0] == ("features", 0, 1)
    assert [s for s in stages if s[0] == "diffusion"] == [("diffusion", k, 2) for k in range(3)]
    assert stages[-1] == ("vocoder", 1, 1)
    assert {(u.window, u.windows) for u in updates} == {(0, 1)}


def test_ten_seconds_take_two_windows(engine: FoleyEngine, video_8fps: Path) -> None:
    updates: list[ProgressUpdate] = []
    cues = (OnsetCue(Fraction(1)), OnsetCue(Fraction(9)))
    audio = engine.generate(request(video_8fps, Fraction(10), cues=cues, sample_rate=48000), updates.append)
    assert len(audio.samples) == 480000
    assert {(u.window, u.windows) for u in updates} == {(0, 2), (1, 2)}
    assert audio.stats["windows"] == 2


def test_ntsc_duration_gives_the_exact_sample_count(engine: FoleyEngine, video_8fps: Path) -> None:
    seconds = Fraction(100 * 1001, 24000)  # 100 frames at 23.976 fps
    model_rate = engine.generate(request(video_8fps, seconds, steps=1))
    assert len(model_rate.samples) == 66733 and model_rate.sample_rate == 16000  # 66733.33
    cd_rate = engine.generate(request(video_8fps, seconds, steps=1, sample_rate=44100))
    assert len(cd_rate.samples) == 183934  # 183933.75


def test_same_request_same_audio(engine: FoleyEngine, video_8fps: Path) -> None:
    first = engine.generate(request(video_8fps, Fraction(2), steps=1))
    np.testing.assert_array_equal(first.samples, engine.generate(request(video_8fps, Fraction(2), steps=1)).samples)
    other = engine.generate(request(video_8fps, Fraction(2), steps=1, seed=12))
    assert not np.array_equal(first.samples, other.samples)


def test_should_cancel_stops_between_steps(engine: FoleyEngine, video_8fps: Path) -> None:
    updates: list[ProgressUpdate] = []
    polls = []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) > 2

    with pytest.raises(Cancelled):
        engine.generate(request(video_8fps, Fraction(3), steps=20), updates.append, should_cancel)
    assert max(u.step for u in updates if u.stage == "diffusion") == 2
    assert not any(u.stage == "vocoder" for u in updates)


def test_cancel_before_the_start(engine: FoleyEngine, video_8fps: Path) -> None:
    with pytest.raises(Cancelled):
        engine.generate(request(video_8fps, Fraction(3)), should_cancel=lambda: True)


def test_missing_video_is_a_media_error(engine: FoleyEngine, tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        engine.generate(request(tmp_path / "gone.mp4", Fraction(2)))


@pytest.mark.parametrize(
    "field, changes",
    [
        ("window.duration", {"window": TimeMap(Fraction(0), Fraction(0))}),
        ("window.media_start", {"window": TimeMap(Fraction(-1), Fraction(2))}),
        ("window.speed", {"window": TimeMap(Fraction(1), Fraction(2), Fraction(-1))}),
        ("cues[1].time", {"cues": (OnsetCue(Fraction(1)), OnsetCue(Fraction(4)))}),
        ("cues[0].time", {"cues": (OnsetCue(Fraction(-1, 24)),)}),
        ("spans[0]", {"spans": (EventSpan(Fraction(2), Fraction(1)),)}),
        ("steps", {"steps": 0}),
        ("steps", {"steps": 5000}),
        ("guidance_scale", {"guidance_scale": float("nan")}),
        ("guidance_scale", {"guidance_scale": -1.0}),
        ("semantic_strength", {"semantic_strength": 3.0}),
        ("temporal_strength", {"temporal_strength": float("inf")}),
        ("sample_rate", {"sample_rate": 100}),
        ("seed", {"seed": -1}),
    ],
)
def test_validate_names_the_bad_field(engine: FoleyEngine, field: str, changes: dict) -> None:
    with pytest.raises(InvalidRequest) as caught:
        engine.validate(request(Path("/nowhere.mp4"), Fraction(3), **changes))
    assert caught.value.field == field


def test_validate_accepts_a_good_request(engine: FoleyEngine) -> None:
    engine.validate(request(Path("/nowhere.mp4"), Fraction(3), steps=None, sample_rate=48000, guidance_scale=1.0))


def test_load_missing_directory_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="save-untrained") as caught:
        FoleyEngine.load(tmp_path / "no-model")
    assert str(tmp_path / "no-model") in str(caught.value)


def test_load_directory_without_a_pipeline(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model_index.json"):
        FoleyEngine.load(tmp_path)


def test_saved_untrained_model_loads(tmp_path: Path) -> None:
    save_untrained(tmp_path / "model", seed=2)
    with pytest.raises(FileExistsError):
        save_untrained(tmp_path / "model")
    engine = FoleyEngine.load(tmp_path / "model")
    assert engine.info().name == "untrained-tiny-2" and not engine.info().trained


def test_the_digest_follows_the_weights_not_the_folder(tmp_path: Path) -> None:
    save_untrained(tmp_path / "a", seed=2)
    save_untrained(tmp_path / "b", seed=2)
    save_untrained(tmp_path / "c", seed=3)
    digest = FoleyEngine.load(tmp_path / "a").info().digest
    assert len(digest) == 64
    assert FoleyEngine.load(tmp_path / "b").info().digest == digest  # same weights, other folder
    assert FoleyEngine.load(tmp_path / "c").info().digest != digest  # other weights
    retrained = FoleyEngine.load(tmp_path / "a")
    with torch.no_grad():
        retrained.pipeline.unet.conv_out.bias.add_(1e-3)
    assert FoleyEngine(retrained.pipeline).info().digest != digest


def test_load_without_a_directory_loads_the_bundled_checkpoint() -> None:
    info = FoleyEngine.load().info()
    assert info.device == "cpu"
    assert info.trained and info.name == "rhythmic-foley-small"


def test_without_the_bundled_checkpoint_the_untrained_preset_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(engine_module, "DEFAULT_CHECKPOINT", tmp_path / "absent")
    info = FoleyEngine.load().info()
    assert not info.trained and info.name.startswith("untrained")


def test_frames_past_the_clip_end_hold_the_last_visible_frame(
    engine: FoleyEngine, video_8fps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = []

    def recording_sample_frames(*args, **kwargs) -> np.ndarray:
        counts.append(kwargs["count"])
        return sample_frames(*args, **kwargs)

    monkeypatch.setattr(engine_module, "sample_frames", recording_sample_frames)
    engine.generate(request(video_8fps, Fraction(3), steps=1))
    engine.generate(request(video_8fps, Fraction(10), steps=1))
    # 3 s at 4 fps; then 10 s: a full window and the 10 - 7.192 s = 2.808 s left (12 frames).
    assert counts == [12, 32, 12]


def test_the_bundled_checkpoint_finds_the_contacts_of_a_rendered_scene(tmp_path: Path) -> None:
    fps = Fraction(25)
    contacts = {12: "door", 40: "glass", 47: "footstep", 80: "metal"}
    events = tuple(VisualEvent(frame, label, 40.0 + 10 * i) for i, (frame, label) in enumerate(contacts.items()))
    scene = Scene(fps, 100, 128, (30, 30, 40), (90, 90, 90), events)
    video = tmp_path / "scene.mp4"
    encode_scene(scene, video, 4, 16, 64)
    engine = FoleyEngine.load()
    assert engine.info().event_detector
    found = engine.detect(DetectionRequest(video, TimeMap(Fraction(0), Fraction(4))))
    assert found.fps == fps
    # Every contact on its frame (±1), nothing else, and named by its class.
    frames = sorted(round(onset.time * fps) for onset in found.onsets)
    assert len(frames) == len(contacts)
    for frame, expected in zip(frames, contacts):
        assert abs(frame - expected) <= 1
    assert [onset.label for onset in sorted(found.onsets, key=lambda o: o.time)] == list(contacts.values())
