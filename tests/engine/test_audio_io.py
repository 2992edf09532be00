from pathlib import Path

import numpy as np
import pytest

from foley_engine.audio_io import read_wav, resample, write_wav
from foley_engine.errors import MediaError


def test_write_then_read_round_trips_float_samples(tmp_path: Path) -> None:
    samples = np.linspace(-1, 1, 1000, dtype=np.float32)
    path = write_wav(tmp_path / "a.wav", samples, 16000)
    back, rate = read_wav(path)
    assert rate == 16000
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, samples)


def test_write_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", np.zeros(10, np.float32), 16000)
    with pytest.raises(FileExistsError):
        write_wav(path, np.ones(10, np.float32), 16000)
    assert not read_wav(path)[0].any()
    write_wav(path, np.ones(10, np.float32), 16000, overwrite=True)
    assert read_wav(path)[0].all()


def test_read_missing_file_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        read_wav(tmp_path / "missing.wav")


@pytest.mark.parametrize("n, rate, expected", [(16000, 48000, 48000), (12345, 48000, 37035), (7, 44100, 19)])
def test_resample_gives_the_exact_length(n: int, rate: int, expected: int) -> None:
    assert len(resample(np.zeros(n, np.float32), 16000, rate)) == expected


def test_resample_keeps_a_tone() -> None:
    t = np.arange(16000) / 16000
    out = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), 16000, 48000)
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 440
