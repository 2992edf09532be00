"""The video event detector's plumbing: frames at the video's own rate, peaks → exact frame times,
spans, chunking, and the engine's `detect` and video cues, on real videos."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from foley_engine import detection
from foley_engine.detection import (
    FrameProbabilities,
    Thresholds,
    decode_detection,
    detect_events,
    merge_cues,
    onset_peaks,
    square_views,
    strongest_view,
    window_probabilities,
)
from foley_engine.engine import DEFAULT_CHECKPOINT, FoleyEngine
from foley_engine.errors import Cancelled, InvalidRequest, MediaError, ModelError
from foley_engine.event_detector import VideoEventDetector
from foley_engine.request import DetectionRequest, GenerationRequest, OnsetCue, TimeMap

from foley_plugin import demo

from .engine_testing import fresh_pipeline, picture_index, write_video

NTSC = Fraction(30000, 1001)
NAMES = ("footstep", "door", "glass")


@pytest.fixture(scope="module")
def video_ntsc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 30000/1001 fps: frame k shows index k."""
    return write_video(tmp_path_factory.mktemp("video") / "ntsc.mp4", 180, NTSC)


def small_detector(image_size: int = 16) -> VideoEventDetector:
    torch.manual_seed(0)
    return VideoEventDetector(image_size=image_size, conv_channels=(8,), hidden=8, temporal_dilations=(1, 2)).eval()


def test_onsets_are_peaks_at_or_above_the_threshold_or_strong_frames_beside_one() -> None:
    onset = np.array([0.9, 0.2, 0.6, 0.7, 0.7, 0.1, 0.49, 0.3, 0.55, 0.8, 0.1, 0.95, 0.85, 0.2])
    # Peaks: 0.9 (first frame), the first of the 0.7 plateau, 0.8 and 0.95; 0.6 and 0.55 sit
    # beside higher frames, 0.49 is below the threshold. 0.85 sits beside 0.95 but is strong
    # enough to be a second contact on the next frame.
    assert onset_peaks(onset, 0.5, adjacent=0.8).tolist() == [0, 3, 9, 11, 12]
    assert onset_peaks(onset, 0.5, adjacent=1.0).tolist() == [0, 3, 9, 11]
    assert onset_peaks(onset, 0.92, adjacent=0.8).tolist() == [11]
    assert onset_peaks(np.zeros(0), 0.5, adjacent=0.8).tolist() == []


def test_decoding_gives_exact_frame_times_class_labels_and_spans_split_at_onsets() -> None:
    frames = 12
    onset = np.zeros(frames)
    onset[[2, 5]] = [0.8, 0.9]
    activity = np.zeros(frames)
    activity[2:8] = 0.9
    activity[10:] = 0.7
    classes = np.zeros((frames, len(NAMES)))
    classes[:, 0] = 1.0
    classes[5:8] = [0.1, 0.2, 0.7]
    classes[10:] = [0.2, 0.6, 0.2]
    probabilities = FrameProbabilities(onset, activity, classes)
    duration = Fraction(11, 1) / NTSC + Fraction(1, 100)  # the last frame is cut short by the window

    found = decode_detection(probabilities, NTSC, duration, NAMES, Thresholds(onset=0.5, activity=0.5, adjacent=0.95))

    assert found.fps == NTSC
    assert [(cue.time, cue.label) for cue in found.onsets] == [(2 / NTSC, "footstep"), (5 / NTSC, "glass")]
    assert [cue.confidence for cue in found.onsets] == pytest.approx([0.8, 0.9])
    spans = [(span.start, span.end, span.label) for span in found.events]
    assert spans == [
        (2 / NTSC, 5 / NTSC, "footstep"),
        (5 / NTSC, 8 / NTSC, "glass"),
        (10 / NTSC, duration, "door"),
    ]
    assert all(isinstance(t, Fraction) for span in found.events for t in (span.start, span.end))
    assert found.events[2].confidence == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("height", "width", "scaled", "offsets"),
    [
        (1080, 1920, (64, 114), (0, 50)),
        (1920, 1080, (114, 64), (0, 50)),
        (128, 128, (64, 64), (0,)),
        (100, 1000, (64, 640), (0, 64, 128, 192, 256, 320, 384, 448, 512, 576)),
    ],
)
def test_square_views_cover_the_picture_at_its_own_proportions(
    height: int, width: int, scaled: tuple[int, int], offsets: tuple[int, ...]
) -> None:
    assert square_views(height, width, 64) == (scaled, offsets)


def test_each_frame_takes_its_clearest_sighting_from_the_views() -> None:
    left = FrameProbabilities(np.array([0.9, 0.1]), np.array([0.8, 0.2]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    right = FrameProbabilities(np.array([0.2, 0.6]), np.array([0.3, 0.7]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    joined = strongest_view([left, right])
    np.testing.assert_array_equal(joined.onset, [0.9, 0.6])
    np.testing.assert_array_equal(joined.activity, [0.8, 0.7])
    np.testing.assert_array_equal(joined.classes, [[1.0, 0.0], [0.0, 1.0]])


def test_the_default_detector_sees_impacts_of_the_wide_demo_video(demo_material: demo.DemoMaterial) -> None:
    # The demo is 320 × 180; squashed into one square view this detector found none of its impacts.
    detector = VideoEventDetector.from_pretrained(DEFAULT_CHECKPOINT / "event_detector").eval()
    window = TimeMap(media_start=Fraction(0), duration=Fraction(demo.TOTAL_FRAMES, demo.FPS))
    found = [cue.time * demo.FPS for cue in detect_events(detector, demo_material.video, window).onsets]
    assert len(found) >= 5
    assert set(found) <= set(demo.IMPACT_FRAMES)


def test_a_detection_stops_between_chunks_once_asked(video_ntsc: Path) -> None:
    detector = small_detector()
    window = TimeMap(media_start=Fraction(0), duration=Fraction(3))
    asked = []

    def stopped() -> bool:
        asked.append(True)
        return len(asked) == 3

    with pytest.raises(Cancelled, match="after 14 of its 90 frames"):
        detect_events(detector, video_ntsc, window, chunk_frames=7, stopped=stopped)
    assert len(asked) == 3  # two chunks ran, the third was never read


def test_a_chunked_pass_gives_what_one_pass_gives(video_ntsc: Path) -> None:
    detector = small_detector()
    window = TimeMap(media_start=Fraction(1), duration=Fraction(3))
    whole = window_probabilities(detector, video_ntsc, window, NTSC, chunk_frames=1000)
    chunked = window_probabilities(detector, video_ntsc, window, NTSC, chunk_frames=7)
    assert len(whole) == len(chunked) == 90  # ceil(3 s × 29.97)
    np.testing.assert_allclose(chunked.onset, whole.onset, atol=1e-5)
    np.testing.assert_allclose(chunked.activity, whole.activity, atol=1e-5)
    np.testing.assert_allclose(chunked.classes, whole.classes, atol=1e-5)


def test_frames_are_read_at_the_videos_rate_at_output_times_of_a_sped_up_window(
    video_ntsc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[np.ndarray] = []
    real_sampler = detection.sample_frames

    def recording(*args: object, **kwargs: object) -> np.ndarray:
        frames = real_sampler(*args, **kwargs)
        seen.append(frames)
        return frames

    monkeypatch.setattr(detection, "sample_frames", recording)
    detector = small_detector(image_size=64)
    window = TimeMap(media_start=60 / NTSC, duration=Fraction(1), speed=Fraction(2))
    found = detect_events(detector, video_ntsc, window, chunk_frames=16)

    assert found.fps == NTSC
    margin = detector.context_frames
    shown = [picture_index(frame) for frames in seen for frame in frames[margin:-margin]]
    # Output frame k shows media time (60 + 2k) / fps: media frame 60 + 2k (the video shows its index).
    assert shown == [60 + 2 * k for k in range(30)]


@pytest.fixture(scope="module")
def detecting_engine() -> FoleyEngine:
    """A tiny pipeline whose random detector reports every onset peak (threshold 0)."""
    pipe = fresh_pipeline(vae_levels=3, vae_attention=False, griffin_lim_iterations=1)
    pipe.event_detector.register_to_config(onset_threshold=0.0)
    return FoleyEngine(pipe)


def test_detect_returns_onsets_and_spans_on_frame_times_inside_the_window(
    detecting_engine: FoleyEngine, video_ntsc: Path
) -> None:
    window = TimeMap(media_start=Fraction(1), duration=Fraction(2))
    found = detecting_engine.detect(DetectionRequest(video_ntsc, window))
    assert found.fps == NTSC
    assert found.onsets, "a threshold of 0 reports every peak"
    for cue in found.onsets:
        assert 0 <= cue.time < window.duration
        assert (cue.time * NTSC).denominator == 1  # a whole frame
        assert cue.label in detecting_engine.pipeline.event_detector.class_names
        assert 0 <= cue.confidence <= 1
    for span in found.events:
        assert 0 <= span.start < span.end <= window.duration


def test_detect_checks_the_model_the_window_and_the_file(
    detecting_engine: FoleyEngine, video_ntsc: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequest, match="window.duration"):
        detecting_engine.detect(DetectionRequest(video_ntsc, TimeMap(Fraction(0), Fraction(0))))
    with pytest.raises(MediaError, match="no such file"):
        detecting_engine.detect(DetectionRequest(tmp_path / "missing.mp4", TimeMap(Fraction(0), Fraction(1))))
    pipe = fresh_pipeline(vae_levels=3, vae_attention=False, griffin_lim_iterations=1)
    pipe.event_detector = None
    without = FoleyEngine(pipe)
    with pytest.raises(ModelError, match="no event detector.*foley train detector"):
        without.detect(DetectionRequest(video_ntsc, TimeMap(Fraction(0), Fraction(1))))
    request = GenerationRequest(video_ntsc, TimeMap(Fraction(0), Fraction(1)), video_cues=True)
    with pytest.raises(InvalidRequest, match="video_cues"):
        without.generate(request)


def test_video_cues_join_the_editors_cues_before_the_masks_are_built(
    detecting_engine: FoleyEngine, video_ntsc: Path
) -> None:
    window = TimeMap(media_start=Fraction(1), duration=Fraction(2))
    detected = detecting_engine.detect(DetectionRequest(video_ntsc, window)).onsets
    plain = GenerationRequest(video_ntsc, window, steps=2, seed=5)

    def audio(request: GenerationRequest) -> np.ndarray:
        return detecting_engine.generate(request).samples

    with_video_cues = audio(dataclasses.replace(plain, video_cues=True))
    np.testing.assert_array_equal(with_video_cues, audio(dataclasses.replace(plain, cues=detected)))
    assert not np.array_equal(with_video_cues, audio(plain))

    editor = OnsetCue(detected[0].time + 1 / NTSC, "door")
    np.testing.assert_array_equal(
        audio(dataclasses.replace(plain, cues=(editor,), video_cues=True)),
        audio(dataclasses.replace(plain, cues=merge_cues((editor,), detected, NTSC))),
    )


def test_an_editors_cue_wins_over_detected_onsets_within_one_frame() -> None:
    frame = 1 / NTSC
    detected = tuple(OnsetCue(k * frame, "glass", 0.9) for k in (10, 20, 30, 40))
    editor = (OnsetCue(21 * frame, "door"), OnsetCue(38 * frame, "door"))
    merged = merge_cues(editor, detected, NTSC)
    # 20 is one frame from the cue at 21; 38 is two frames from 40.
    assert [(cue.time / frame, cue.label) for cue in merged] == [
        (21, "door"),
        (38, "door"),
        (10, "glass"),
        (30, "glass"),
        (40, "glass"),
    ]
    assert merge_cues((), detected, NTSC) == detected
    assert merge_cues(editor, (), NTSC) == editor


def test_the_preset_detector_is_small_saves_and_loads_back(tmp_path: Path) -> None:
    torch.manual_seed(1)
    detector = VideoEventDetector(class_names=NAMES).eval()
    assert sum(p.numel() for p in detector.parameters()) * 4 <= 2_000_000  # float32 bytes
    frames = torch.rand(2, 40, 3, 64, 64)
    with torch.no_grad():
        output = detector(frames)
    assert output.onset_logits.shape == output.activity_logits.shape == (2, 40)
    assert output.class_logits.shape == (2, 40, len(NAMES))

    detector.save_pretrained(tmp_path / "event_detector")
    loaded = VideoEventDetector.from_pretrained(tmp_path / "event_detector").eval()
    assert loaded.class_names == NAMES
    with torch.no_grad():
        torch.testing.assert_close(loaded(frames).onset_logits, output.onset_logits)
    with pytest.raises(ValueError, match="odd"):
        VideoEventDetector(temporal_kernel=4)
    with pytest.raises(ValueError, match="batch, frames, 3"):
        detector(torch.rand(40, 3, 64, 64))
