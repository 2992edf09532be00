import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from foley_engine.errors import MediaError
from foley_engine.request import TimeMap
from foley_engine.video import probe_video, sample_frames

from .engine_testing import picture_index, write_video


def indices(frames: np.ndarray) -> list[int]:
    return [picture_index(frame) for frame in frames]


def test_probe_reports_duration_rate_size_and_count(video_24fps: Path) -> None:
    info = probe_video(video_24fps)
    assert (info.duration, info.fps, info.frame_count) == (Fraction(10), Fraction(24), 240)
    assert (info.width, info.height) == (64, 64)


def test_normal_play_samples_every_sixth_frame_at_4_fps(video_24fps: Path) -> None:
    frames = sample_frames(video_24fps, TimeMap(Fraction(1), Fraction(8)), size=(32, 48))
    assert frames.shape == (32, 32, 48, 3) and frames.dtype == np.uint8
    assert indices(frames) == [24 + 6 * k for k in range(32)]


def test_start_and_count_pick_a_later_window(video_24fps: Path) -> None:
    frames = sample_frames(video_24fps, TimeMap(Fraction(0), Fraction(10)), start=Fraction(5, 2), count=4)
    assert indices(frames) == [60, 66, 72, 78]


def test_double_speed(video_24fps: Path) -> None:
    frames = sample_frames(video_24fps, TimeMap(Fraction(1), Fraction(2), speed=Fraction(2)))
    assert indices(frames) == [24 + 12 * k for k in range(8)]


def test_freeze_frame(video_24fps: Path) -> None:
    frames = sample_frames(video_24fps, TimeMap(Fraction(3), Fraction(2), speed=Fraction(0)))
    assert indices(frames) == [72] * 8


def test_reverse(video_24fps: Path) -> None:
    frames = sample_frames(video_24fps, TimeMap(Fraction(9), Fraction(2), speed=Fraction(-1)))
    assert indices(frames) == [216 - 6 * k for k in range(8)]


def test_times_past_either_end_clamp_to_the_first_and_last_frame(video_24fps: Path) -> None:
    forward = sample_frames(video_24fps, TimeMap(Fraction(9), Fraction(2)))
    assert indices(forward) == [216, 222, 228, 234] + [239] * 4
    backward = sample_frames(video_24fps, TimeMap(Fraction(1, 2), Fraction(1), speed=Fraction(-1)))
    assert indices(backward) == [12, 6, 0, 0]


def test_ntsc_rate_hits_every_frame_exactly(tmp_path: Path) -> None:
    rate = Fraction(24000, 1001)
    path = write_video(tmp_path / "ntsc.mp4", 100, rate)
    assert probe_video(path).fps == rate
    start = 10 / rate
    native = sample_frames(path, TimeMap(start, Fraction(3)), fps=rate, count=40)
    assert indices(native) == list(range(10, 50))
    four_fps = sample_frames(path, TimeMap(Fraction(0), Fraction(4)))
    assert indices(four_fps) == [math.floor(Fraction(k, 4) * rate) for k in range(16)]


def test_other_codecs(tmp_path: Path) -> None:
    for codec, name in (("mpeg4", "a.mp4"), ("libvpx-vp9", "a.webm")):
        path = write_video(tmp_path / name, 50, 25, codec=codec)
        frames = sample_frames(path, TimeMap(Fraction(1, 2), Fraction(1)), fps=25, count=5)
        assert indices(frames) == [12, 13, 14, 15, 16]


def test_zero_frames_requested_gives_an_empty_array(video_24fps: Path) -> None:
    assert sample_frames(video_24fps, TimeMap(Fraction(0), Fraction(1)), size=(8, 8), count=0).shape == (0, 8, 8, 3)


def expect_media_error(path: Path, words: str) -> None:
    for call in (lambda: probe_video(path), lambda: sample_frames(path, TimeMap(Fraction(0), Fraction(1)))):
        with pytest.raises(MediaError, match=words) as caught:
            call()
        assert caught.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    expect_media_error(tmp_path / "missing.mp4", "no such file")


def test_directory(tmp_path: Path) -> None:
    expect_media_error(tmp_path, "not a regular file")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n")
    expect_media_error(path, "cannot be read")


def test_truncated_file(tmp_path: Path, video_24fps: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(video_24fps.read_bytes()[:2000])
    expect_media_error(path, "cannot be read")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    expect_media_error(path, "empty")


def add_silence(container: av.container.OutputContainer) -> None:
    stream = container.add_stream("aac", rate=16000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    frame.sample_rate = 16000
    for packet in [*stream.encode(frame), *stream.encode()]:
        container.mux(packet)


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as container:
        add_silence(container)
    expect_media_error(path, "no video stream")


def test_video_stream_without_frames(tmp_path: Path) -> None:
    path = tmp_path / "blank.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=24)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        add_silence(container)
    expect_media_error(path, "no video frames")
