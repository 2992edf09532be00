from fractions import Fraction

from foley_engine.config import AUDIO


def test_window_is_512_mel_frames_of_8_192_seconds() -> None:
    assert AUDIO.window_frames == 512
    assert AUDIO.window_seconds == Fraction(8192, 1000)
    assert AUDIO.frame_rate == Fraction(125, 2)
    assert AUDIO.video_frames_per_window == 32
