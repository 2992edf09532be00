"""`FoleyEngine.generate_batch`: compatible windows of several requests denoised together."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from foley_engine.engine import BatchItem, FoleyEngine
from foley_engine.errors import Cancelled, InvalidRequest, MediaError
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_engine.request import GenerationRequest, OnsetCue, ProgressUpdate, TimeMap


def _request(video: Path, seconds: Fraction, seed: int, cues: tuple[OnsetCue, ...] = (), **options) -> GenerationRequest:
    return GenerationRequest(
        video_path=video, window=TimeMap(Fraction(0), seconds), cues=cues, seed=seed, steps=3, **options
    )


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch size of every pipeline call made during the test."""
    sizes: list[int] = []
    original = RhythmicFoleyPipeline.__call__

    def counting(self: RhythmicFoleyPipeline, video_features, *args, **kwargs):
        sizes.append(len(video_features))
        return original(self, video_features, *args, **kwargs)

    monkeypatch.setattr(RhythmicFoleyPipeline, "__call__", counting)
    return sizes


def test_batched_audio_equals_each_request_alone(engine: FoleyEngine, video_24fps: Path, batches: list[int]) -> None:
    cues = (OnsetCue(Fraction(1, 2)), OnsetCue(Fraction(2)))
    requests = [
        _request(video_24fps, Fraction(3), seed=1, cues=cues),
        _request(video_24fps, Fraction(10), seed=2, cues=(OnsetCue(Fraction(9)),)),
        _request(video_24fps, Fraction(5, 2), seed=3, cues=cues, snap=True),
    ]
    alone = [engine.generate(request) for request in requests]
    batches.clear()
    together = engine.generate_batch([BatchItem(request) for request in requests], max_batch=8)
    # Windows are independent given their seeds: the long clip's two join the others'.
    assert batches == [4]
    for single, batched in zip(alone, together):
        assert not isinstance(batched, Exception)
        assert batched.samples.shape == single.samples.shape
        np.testing.assert_allclose(batched.samples, single.samples, atol=2e-3)
        assert batched.stats["windows"] == single.stats["windows"]


def test_incompatible_requests_run_in_separate_batches(
    engine: FoleyEngine, video_24fps: Path, batches: list[int]
) -> None:
    cues = (OnsetCue(Fraction(1)),)
    requests = [
        _request(video_24fps, Fraction(2), seed=1, cues=cues),
        _request(video_24fps, Fraction(2), seed=2),  # no cues: the temporal adapter does not run
        _request(video_24fps, Fraction(2), seed=3, cues=cues, temporal_strength=0.5),
        _request(video_24fps, Fraction(2), seed=4, cues=cues),
    ]
    keys = [engine.batch_key(request) for request in requests]
    assert keys[0] == keys[3] and len({keys[0], keys[1], keys[2]}) == 3
    outcomes = engine.generate_batch([BatchItem(request) for request in requests], max_batch=8)
    assert sorted(batches) == [1, 1, 2]
    assert all(not isinstance(outcome, Exception) for outcome in outcomes)


def test_max_batch_splits_the_windows(engine: FoleyEngine, video_24fps: Path, batches: list[int]) -> None:
    requests = [_request(video_24fps, Fraction(1), seed=seed) for seed in range(5)]
    engine.generate_batch([BatchItem(request) for request in requests], max_batch=2)
    assert batches == [2, 2, 1]
    with pytest.raises(ValueError, match="max_batch"):
        engine.generate_batch([BatchItem(requests[0])], max_batch=0)


def test_one_failure_leaves_the_others_alone(engine: FoleyEngine, video_24fps: Path, tmp_path: Path) -> None:
    good = _request(video_24fps, Fraction(2), seed=1)
    missing = _request(tmp_path / "gone.mp4", Fraction(2), seed=2)
    invalid = _request(video_24fps, Fraction(2), seed=3, guidance_scale=-1.0)
    outcomes = engine.generate_batch([BatchItem(good), BatchItem(missing), BatchItem(invalid)])
    assert isinstance(outcomes[1], MediaError) and "gone.mp4" in str(outcomes[1])
    assert isinstance(outcomes[2], InvalidRequest) and outcomes[2].field == "guidance_scale"
    np.testing.assert_allclose(outcomes[0].samples, engine.generate(good).samples, atol=2e-3)


def test_cancelling_one_job_keeps_the_batch_going(engine: FoleyEngine, video_24fps: Path) -> None:
    heard: list[ProgressUpdate] = []
    first = _request(video_24fps, Fraction(2), seed=1)
    second = _request(video_24fps, Fraction(2), seed=2)
    cancel = BatchItem(second, should_cancel=lambda: bool(heard))
    keep = BatchItem(first, on_progress=lambda update: heard.append(update) if update.stage == "diffusion" else None)
    outcomes = engine.generate_batch([keep, cancel])
    assert isinstance(outcomes[1], Cancelled)
    assert not isinstance(outcomes[0], Exception)
    assert [update.step for update in heard] == [0, 1, 2, 3]


def test_cancelling_every_job_interrupts_the_diffusion(engine: FoleyEngine, video_24fps: Path) -> None:
    steps: list[int] = []

    def cancel_after_the_first_step() -> bool:
        return len(steps) >= 2

    items = [
        BatchItem(
            _request(video_24fps, Fraction(2), seed=seed),
            on_progress=lambda update: steps.append(update.step) if update.stage == "diffusion" else None,
            should_cancel=cancel_after_the_first_step,
        )
        for seed in (1, 2)
    ]
    outcomes = engine.generate_batch(items)
    assert all(isinstance(outcome, Cancelled) for outcome in outcomes)
    # Both jobs heard step 0 and step 1; the run stopped there instead of reaching step 3.
    assert max(steps) == 1
