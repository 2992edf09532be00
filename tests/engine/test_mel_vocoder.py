from pathlib import Path

import numpy as np
import torch

from foley_engine.config import AUDIO
from foley_engine.mel import denormalize_mel, log_mel, mel_magnitude, normalize_mel
from foley_engine.vocoder import GriffinLimVocoder


def tone_and_clicks(n: int = AUDIO.window_samples) -> torch.Tensor:
    t = np.arange(n) / AUDIO.sample_rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    rng = np.random.default_rng(0)
    for start in range(4000, n - 400, 8000):
        x[start : start + 400] += 0.5 * rng.standard_normal(400) * np.exp(-np.arange(400) / 60)
    return torch.tensor(x, dtype=torch.float32)[None]


def test_one_window_is_512_frames_in_unit_range() -> None:
    mel = log_mel(tone_and_clicks())
    assert mel.shape == (1, AUDIO.n_mels, 512)
    assert 0 <= mel.min() and mel.max() <= 1


def test_normalisation_follows_the_formula() -> None:
    linear = torch.tensor([[1e-7, 1e-5, 1e-3, 0.1, 10.0, 1e4]])
    expected = np.clip((20 * np.log10(np.maximum(linear.numpy(), 1e-5)) - 20 + 100) / 100, 0, 1)
    np.testing.assert_allclose(normalize_mel(linear).numpy(), expected, rtol=1e-6)


def test_denormalize_inverts_normalize_above_the_floor() -> None:
    mel = mel_magnitude(tone_and_clicks())
    mel = mel.clamp_min(1e-3)
    torch.testing.assert_close(denormalize_mel(normalize_mel(mel)), mel, rtol=1e-4, atol=1e-7)


def test_griffin_lim_resynthesis_has_the_original_mel() -> None:
    mel = log_mel(tone_and_clicks())
    audio = GriffinLimVocoder()(mel)
    assert audio.shape == (1, AUDIO.window_samples)
    assert (log_mel(audio) - mel).abs().mean() < 0.05


def test_vocoder_round_trips_through_save_pretrained(tmp_path: Path) -> None:
    vocoder = GriffinLimVocoder(n_iter=4)
    vocoder.save_pretrained(tmp_path)
    loaded = GriffinLimVocoder.from_pretrained(tmp_path, low_cpu_mem_usage=False)
    assert loaded.config.n_iter == 4
    torch.testing.assert_close(loaded.mel_basis, vocoder.mel_basis)
    mel = torch.rand(1, AUDIO.n_mels, 64)
    torch.testing.assert_close(loaded(mel), vocoder(mel))


def test_griffin_lim_leaves_no_blip_at_the_window_edges() -> None:
    # Steady noise in, steady noise out: no 10 ms block at either end may stand out from the
    # middle's loudest (an onset detector would read a blip there as a sound starting).
    noise = np.random.default_rng(3).normal(0, 0.01, AUDIO.window_samples).astype(np.float32)
    mel = log_mel(torch.from_numpy(noise)[None])
    steady = mel[..., 8:9].expand_as(mel)  # one column repeated: no change over time
    audio = GriffinLimVocoder()(steady)[0].numpy()
    block = AUDIO.sample_rate // 100
    peaks = np.abs(audio[: len(audio) // block * block]).reshape(-1, block).max(axis=1)
    middle = peaks[5:-5].max()
    assert peaks[0] <= middle and peaks[-1] <= middle, (peaks[:3], peaks[-3:], middle)
