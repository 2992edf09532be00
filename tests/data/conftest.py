"""A fake unpacked Debian package of synthetic recordings, and tiny datasets built from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foley_engine.data import DataConfig, build_dataset

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Fake Foley
Source: https://example.invalid/fake-foley

Files: *
Copyright: 2024 Test Author
License: CC0-1.0

Files: sounds/nc_*
Copyright: 2024 Someone Else
License: CC-BY-NC-4.0
 Non-commercial text.
"""

# name -> (hit times in seconds, decay time constant, tone Hz or 0)
RECORDINGS: dict[str, tuple[tuple[float, ...], float, float]] = {
    "default_wood_footstep.1.ogg": ((0.08,), 0.015, 0),
    "default_wood_footstep.2.ogg": ((0.12,), 0.012, 0),
    "default_gravel_footstep.1.ogg": ((0.05,), 0.02, 0),
    "default_gravel_footstep.2.ogg": ((0.10,), 0.018, 0),
    "perc_door.flac": ((0.06,), 0.03, 180),
    "doors_door_close.ogg": ((0.2,), 0.025, 150),
    "doors_door_open.ogg": ((0.15,), 0.02, 220),
    "default_break_glass.1.ogg": ((0.07,), 0.01, 3100),
    "default_break_glass.2.ogg": ((0.09,), 0.012, 2700),
    "default_break_glass.3.ogg": ((0.05,), 0.009, 3500),
    "perc_impact1.flac": ((0.04,), 0.02, 90),
    "perc_impact2.flac": ((0.06,), 0.016, 110),
    # A longer take with four hits: the builder must cut it into one-shots.
    "knife-impact.wav": ((0.3, 0.9, 1.6, 2.4), 0.015, 0),
    "nc_explosion.ogg": ((0.1,), 0.05, 60),
    "weird_thing.ogg": ((0.1,), 0.02, 0),
}
SOURCE_RATE = 44_100


def synthetic_hits(times: tuple[float, ...], tau: float, tone: float, seed: int, rate: int = SOURCE_RATE) -> np.ndarray:
    """Decaying noise bursts (plus a decaying tone) starting sharply at `times`, 0.4 s after the last."""
    rng = np.random.default_rng(seed)
    length = int(times[-1] * rate) + int(0.4 * rate)
    out = np.zeros(length, dtype=np.float64)
    t = np.arange(int(0.4 * rate)) / rate
    for time in times:
        burst = rng.standard_normal(len(t)) * np.exp(-t / tau)
        if tone:
            burst += 2 * np.sin(2 * np.pi * tone * t) * np.exp(-t / (2 * tau))
        start = int(time * rate)
        out[start : start + len(t)] += burst
    return (0.8 * out / np.abs(out).max()).astype(np.float32)


def write_fake_package(root: Path) -> Path:
    """Lay out `root` like `dpkg -x fakepkg_*.deb root`: a copyright file and the sounds."""
    doc = root / "usr" / "share" / "doc" / "fakepkg"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT)
    sounds = root / "usr" / "share" / "fakepkg" / "sounds"
    sounds.mkdir(parents=True)
    for seed, (name, (times, tau, tone)) in enumerate(RECORDINGS.items()):
        samples = synthetic_hits(times, tau, tone, seed)
        if name.endswith(".ogg"):
            sf.write(sounds / name, samples, SOURCE_RATE, format="OGG", subtype="VORBIS")
        else:
            sf.write(sounds / name, samples, SOURCE_RATE)
    return root


@pytest.fixture(scope="session")
def recordings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake package, unpacked."""
    return write_fake_package(tmp_path_factory.mktemp("fakepkg"))


def tiny_config(recordings: Path, workers: int) -> DataConfig:
    return DataConfig(seed=7, paired=6, audio_only=6, recordings_dir=recordings, workers=workers)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory, recordings_dir: Path) -> Path:
    """A tiny dataset (6 paired + 6 audio-only clips) built in one process."""
    out = tmp_path_factory.mktemp("dataset")
    build_dataset(tiny_config(recordings_dir, workers=1), out)
    return out


@pytest.fixture(scope="session")
def dataset_again(tmp_path_factory: pytest.TempPathFactory, recordings_dir: Path) -> Path:
    """The same dataset built again, with two worker processes."""
    out = tmp_path_factory.mktemp("dataset_again")
    build_dataset(tiny_config(recordings_dir, workers=2), out)
    return out
