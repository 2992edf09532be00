"""With a trained semantic adapter the engine describes each clip (markers, prompt, clip name,
detected events) and steers every window with the events' spans and text."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from foley_engine.engine import DEFAULT_SEMANTIC_STRENGTH, FoleyEngine
from foley_engine.request import EventSpan, GenerationRequest, OnsetCue, TimeMap

from .engine_testing import fresh_pipeline, write_video


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "door_slam.mp4", 72, 24)


def semantic_engine(trained: bool = True) -> FoleyEngine:
    pipe = fresh_pipeline()
    pipe.register_to_config(semantic_adapter_trained=trained)
    return FoleyEngine(pipe)


def request(video: Path, **changes: object) -> GenerationRequest:
    values: dict = {
        "video_path": video,
        "window": TimeMap(Fraction(0), Fraction(3)),
        "cues": (OnsetCue(Fraction(1), "door slam"),),
        "prompt": "a heavy wooden door",
        "steps": 2,
        "seed": 4,
    }
    values.update(changes)
    return GenerationRequest(**values)


def samples(engine: FoleyEngine, req: GenerationRequest) -> np.ndarray:
    return engine.generate(req).samples


def test_a_trained_semantic_adapter_runs_on_every_request_and_reads_the_text(video: Path) -> None:
    engine = semantic_engine()
    plain = request(video)
    assert engine.batch_key(plain).semantic_strength == DEFAULT_SEMANTIC_STRENGTH
    base = samples(engine, plain)
    # The same seed with other words: only the text tokens differ, and they reach the audio.
    assert not np.allclose(base, samples(engine, request(video, prompt="rain on a tin roof")))
    assert not np.allclose(base, samples(engine, request(video, cues=(OnsetCue(Fraction(1), "glass shatters"),))))
    # Strength 0 turns the adapter off.
    off = request(video, semantic_strength=0.0)
    assert engine.batch_key(off).semantic_strength is None
    assert not np.allclose(base, samples(engine, off))


def test_an_untrained_semantic_adapter_only_follows_span_markers_as_before(video: Path) -> None:
    engine = semantic_engine(trained=False)
    assert engine.batch_key(request(video)).semantic_strength is None
    spans = (EventSpan(Fraction(1), Fraction(2), "door"),)
    assert engine.batch_key(request(video, spans=spans)).semantic_strength == DEFAULT_SEMANTIC_STRENGTH
    # Without a trained text path the words change nothing.
    a = samples(engine, request(video, spans=spans))
    b = samples(engine, request(video, spans=spans, prompt="rain on a tin roof"))
    np.testing.assert_array_equal(a, b)


def test_the_description_holds_the_markers_detected_events_and_summary(video: Path) -> None:
    engine = semantic_engine()
    seen = []
    pipe = engine.pipeline
    original = pipe.__class__.__call__

    class Recording(pipe.__class__):
        def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003
            seen.append(kwargs)
            return original(self, *args, **kwargs)

    pipe.__class__ = Recording
    engine.generate(request(video))
    embeddings, centres, spans = seen[0]["event_embeddings"], seen[0]["event_centres"], seen[0]["span_mask"]
    slots = pipe.semantic_projector.config.max_events
    assert tuple(embeddings.shape) == (1, slots, 384) and tuple(centres.shape) == (1, slots)
    # The cue "door slam" became a short event at 1 s, the summary the prompt and the clip name.
    assert embeddings[0, 0].abs().sum() > 0 and centres[0, -1] == -1
    assert embeddings[0, -1].abs().sum() > 0
    assert spans[0, 63:78].all()
