"""`foley preview` and `foley plot` on timelines that `foley generate` and the Foley-track writer made."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
from matplotlib.image import imread

from foley_plugin import demo
from foley_plugin.foley_track import is_foley_track
from foley_plugin.plot import foley_clip_views
from foley_plugin.timeline_io import read_timeline
from foley_plugin.wav import read_wav

from .click_timeline import SAMPLE_RATE, TONE_LEVEL, ClickTimeline, onsets
from .plugin_runs import digest, run_foley


def decoded(movie: Path) -> tuple[list[np.ndarray], np.ndarray, float]:
    """A movie's pictures (RGB), its sound (mono, 48 kHz) and its duration in seconds."""
    with av.open(str(movie)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
        duration = container.duration / av.time_base
        pictures = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    with av.open(str(movie)) as container:
        assert container.streams.audio[0].sample_rate == SAMPLE_RATE
        sound = np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)])
    return pictures, sound, duration


def ball_centre(picture: np.ndarray) -> np.ndarray:
    """Where the demo's orange ball is (row, column)."""
    red, blue = picture[..., 0].astype(int), picture[..., 2].astype(int)
    return np.argwhere((red > 170) & (blue < 100)).mean(axis=0)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@pytest.mark.slow
def test_preview_of_the_demo_shows_its_picture_and_plays_its_foley(demo_foley: Path, tmp_path: Path) -> None:
    before = digest(demo_foley)
    movie = tmp_path / "preview.mp4"
    run_foley("preview", demo_foley, "-o", movie)
    assert digest(demo_foley) == before
    pictures, sound, duration = decoded(movie)

    frames = 240  # drop A, B and C: 100 + 84 + 56 frames at 24 fps
    assert len(pictures) == frames
    assert abs(duration - frames / 24) <= 1 / 24
    assert pictures[0].shape == (demo.HEIGHT, demo.WIDTH, 3)
    # Timeline frame 110 is frame 10 of "drop B", which starts at frame 124 of the demo video.
    assert np.abs(ball_centre(pictures[110]) - ball_centre(demo.render_frame(134))).max() <= 1.5
    assert np.abs(ball_centre(pictures[110]) - ball_centre(demo.render_frame(110))).max() > 5

    timeline = read_timeline(demo_foley)
    (foley,) = [track for track in timeline.tracks if is_foley_track(track)]
    for clip in foley.find_clips():
        wav, _ = read_wav(demo_foley.parent / clip.media_reference.target_url)
        start = round(clip.range_in_parent().start_time.value * SAMPLE_RATE / 24)
        heard = sound[start : start + len(wav)]
        assert rms(heard) == pytest.approx(rms(wav), rel=0.2), clip.name
        assert np.corrcoef(heard, wav[: len(heard)])[0, 1] > 0.8, clip.name


def test_preview_follows_source_ranges_and_puts_sounds_on_the_markers(tmp_path: Path) -> None:
    rate = Fraction(30000, 1001)
    built = ClickTimeline(tmp_path, rate)
    output = built.with_foley(trim_frames=6)
    movie = tmp_path / "clicks.mp4"
    run_foley("preview", output, "-o", movie)
    pictures, sound, duration = decoded(movie)

    assert len(pictures) == built.LENGTH
    assert abs(duration - built.LENGTH / rate) <= 1 / rate
    # The movie's frame N is grey (3 N mod 256): "walk" shows it from frame 0, "door" from frame 45.
    assert pictures[30].mean() == pytest.approx(90, abs=6)
    assert pictures[70].mean() < 6  # the gap
    assert pictures[100].mean() == pytest.approx((45 + 22) * 3 % 256, abs=6)

    frame = SAMPLE_RATE / rate
    heard = [index / frame for index in onsets(sound)]
    assert len(heard) == len(built.MARKER_FRAMES), heard
    for marker, onset in zip(built.MARKER_FRAMES, heard):
        assert abs(onset - marker) <= 1, f"a click meant for frame {marker} sounds at frame {float(onset):.2f}"

    def between(first: int, last: int) -> np.ndarray:
        return sound[round(first * frame) : round(last * frame)]

    assert rms(between(15, 38)) == pytest.approx(TONE_LEVEL / np.sqrt(2), rel=0.15)  # track A1 under "walk"
    assert rms(between(62, 76)) < 0.005  # the gap
    assert rms(between(92, 126)) < 0.005  # "door": its movie's sound is on no audio track

    # Without its movie, the picture is black and its sound is missing, and each clip is named.
    built.movie.rename(tmp_path / "moved.mp4")
    result = run_foley("preview", output, "-o", tmp_path / "black.mp4", check=False)
    assert result.returncode == 3, result.stderr
    for name in ("walk", "door", "walk sound"):
        assert f"clip {name!r}" in result.stderr
    pictures, sound, _ = decoded(tmp_path / "black.mp4")
    assert max(picture.mean() for picture in pictures) < 6
    assert len(onsets(sound)) == len(built.MARKER_FRAMES)


@pytest.mark.slow
def test_plot_draws_a_picture_per_foley_clip(demo_foley: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    run_foley("plot", demo_foley, "-o", folder)
    pictures = sorted(folder.glob("*.png"))
    assert [p.name for p in pictures] == ["01-drop_A__Foley.png", "02-drop_B__Foley.png", "03-drop_C__Foley.png"]
    for picture in pictures:
        image = imread(picture)
        assert image.shape[0] >= 250 and image.shape[1] >= 900
        assert image[..., :3].std() > 0.05  # a spectrogram, not an empty canvas
        assert picture.stat().st_size > 10_000


def test_plot_lines_are_the_markers_over_each_foley_clip(tmp_path: Path) -> None:
    built = ClickTimeline(tmp_path, Fraction(24))
    output = built.with_foley(trim_frames=6)
    views, problems = foley_clip_views(read_timeline(output), output)
    assert problems == []
    assert [view.name for view in views] == ["walk (Foley)", "door (Foley)"]
    walk, door = views
    assert (walk.start * 24, walk.end * 24, walk.file_start) == (0, 60, 0)
    assert (door.start * 24, door.end * 24, door.file_start * 24) == (84, 150, 6)  # trimmed by 6 frames
    assert [(m.start * 24, m.label) for m in walk.markers] == [(12, "step"), (40, "step")]
    assert [(m.start * 24, m.label) for m in door.markers] == [(88, "knock"), (128, "slam"), (144, "latch")]
    assert all(m.end is None for view in views for m in view.markers)


@pytest.mark.parametrize("command", ["plot", "preview"])
def test_a_timeline_without_foley_is_refused(command: str, demo_material: demo.DemoMaterial, tmp_path: Path) -> None:
    output = tmp_path / "out"
    result = run_foley(command, demo_material.timeline, "-o", output, check=False)
    assert result.returncode == 1
    assert "has no Foley track" in result.stderr and "foley generate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_event_spans_are_shaded_over_the_clip(tmp_path: Path) -> None:
    built = ClickTimeline(tmp_path, Fraction(24))
    output = built.with_foley(trim_frames=0)
    timeline = read_timeline(output)
    video = timeline.tracks[0]
    video.markers.append(otio.schema.Marker(name="rain", marked_range=built.span(50, 40)))  # frames 50–90
    views, _ = foley_clip_views(timeline, output)
    spans = {view.name: [(m.start * 24, m.end * 24, m.label) for m in view.markers if m.end is not None] for view in views}
    assert spans == {"walk (Foley)": [(50, 60, "rain")], "door (Foley)": [(78, 90, "rain")]}
