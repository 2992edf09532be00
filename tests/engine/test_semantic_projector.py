import pytest
import torch

from foley_engine.onsets import span_mask
from foley_engine.semantic_projector import TEXT_DIM, SemanticProjector

FRAMES = 100


def events() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two events (centres 0.25 and 0.75, each inside its own span), an empty slot and a summary."""
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.nn.functional.normalize(torch.randn(1, 4, TEXT_DIM, generator=generator), dim=-1)
    embeddings[0, 2] = 0.0
    centres = torch.tensor([[0.25, 0.75, 0.0, -1.0]])
    spans = torch.tensor(span_mask([(0.1, 0.4), (0.6, 0.9)], FRAMES, frame_rate=FRAMES))[None]
    return embeddings, centres, spans


def test_each_span_frame_carries_the_text_of_the_nearest_event_and_nothing_else_is_painted() -> None:
    projector = SemanticProjector(context_dim=16, paint_channels=3)
    embeddings, centres, spans = events()
    with torch.no_grad():
        painted = projector.paint(embeddings, centres, spans)[0]
        colours = projector.painter(embeddings[0])
    assert painted.shape == (3, FRAMES)
    inside = spans[0] > 0
    assert 25 <= int(inside.sum()) <= 65
    for frame in range(FRAMES):
        if not inside[frame]:
            assert not painted[:, frame].any()
        else:
            # The empty slot (centre 0) and the summary never paint.
            expected = colours[0] if frame < FRAMES // 2 else colours[1]
            torch.testing.assert_close(painted[:, frame], expected)


def test_without_event_text_the_map_is_empty() -> None:
    projector = SemanticProjector(context_dim=16, paint_channels=3)
    embeddings, centres, spans = events()
    assert not projector.paint(torch.zeros_like(embeddings), centres, spans).any()
    only_summary = torch.zeros_like(embeddings)
    only_summary[0, -1] = embeddings[0, -1]
    assert not projector.paint(only_summary, centres, spans).any()


def test_a_projector_without_paint_channels_refuses_to_paint() -> None:
    projector = SemanticProjector(context_dim=16)
    with pytest.raises(ValueError, match="paint_channels"):
        projector.paint(*events())
