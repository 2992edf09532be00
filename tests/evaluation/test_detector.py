"""The frame-accurate onset detector's own error on clean hits at known samples."""

from __future__ import annotations

import numpy as np
import pytest

from foley_engine.metrics import precise_onset_samples, precise_onsets, summarise_errors, timing_errors
from foley_engine.metrics.synthetic import HIT_KINDS, synthetic_hits
from foley_engine.onsets import detect_onsets


@pytest.mark.parametrize("kind", HIT_KINDS)
def test_precise_onsets_find_every_clean_hit_within_5_ms(kind: str) -> None:
    errors, count = [], 0
    for seed in range(4):
        hits = synthetic_hits(seed, kinds=(kind,))
        truth = hits.onsets / hits.sample_rate
        detected = precise_onsets(hits.samples, hits.sample_rate)
        errors.append(timing_errors(detected, truth))
        count += len(truth)
        assert len(detected) == len(truth)
    summary = summarise_errors(np.concatenate(errors), count)
    assert summary.missed == 0
    assert summary.p95_ms < 5.0 and summary.median_ms < 1.0


def test_librosa_alone_reads_late() -> None:
    hits = synthetic_hits(0)
    truth = hits.onsets / hits.sample_rate
    summary = summarise_errors(timing_errors(detect_onsets(hits.samples, hits.sample_rate), truth), len(truth))
    assert summary.bias_ms > 5.0


def test_a_quiet_scuff_before_the_strike_belongs_to_the_attack() -> None:
    sr = 16_000
    rng = np.random.default_rng(3)
    audio = rng.standard_normal(sr) * 1e-4
    t = np.arange(4000) / sr
    # A scuff at 0.5 s at a third of the strike's level, the strike 25 ms later.
    audio[8000:12000] += 0.3 * rng.standard_normal(4000) * np.exp(-t / 0.05)
    audio[8400:12400] += 0.9 * rng.standard_normal(4000) * np.exp(-t / 0.03)
    onsets = precise_onset_samples(audio.astype(np.float32), sr)
    assert len(onsets) >= 1 and abs(int(onsets[0]) - 8000) <= 16


def test_silence_has_no_onsets() -> None:
    assert precise_onsets(np.zeros(16_000, dtype=np.float32), 16_000).size == 0
    assert precise_onsets(np.zeros(10, dtype=np.float32), 16_000).size == 0


def test_timing_errors_pair_each_detection_once() -> None:
    errors = timing_errors(np.array([1.001, 5.0]), [1.0, 1.01, 3.0], reach=0.05)
    assert errors.tolist() == pytest.approx([0.001])
