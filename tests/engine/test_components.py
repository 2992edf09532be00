from pathlib import Path

import torch

from foley_engine.projector import FeatureProjector
from foley_engine.video_encoder import VideoEncoder


def test_video_encoder_gives_unit_features_per_frame() -> None:
    torch.manual_seed(0)
    encoder = VideoEncoder(image_size=32, conv_channels=(8, 16))
    features = encoder(torch.rand(2, 32, 3, 32, 32))
    assert features.shape == (2, 32, 512)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(2, 32))


def test_projector_adds_position_embeddings() -> None:
    torch.manual_seed(0)
    projector = FeatureProjector(context_dim=64)
    features = torch.randn(1, 32, 512)
    context = projector(features)
    assert context.shape == (1, 32, 64)
    expected = features @ projector.proj.weight.T + projector.proj.bias + projector.position_embedding
    torch.testing.assert_close(context, expected)


def test_null_condition_is_the_projection_of_zero_features() -> None:
    torch.manual_seed(0)
    projector = FeatureProjector(context_dim=64)
    null = projector.null_condition(3)
    assert null.shape == (3, 32, 64)
    torch.testing.assert_close(null[1], projector.proj.bias + projector.position_embedding)


def test_components_round_trip_through_save_pretrained(tmp_path: Path) -> None:
    torch.manual_seed(0)
    for component in (VideoEncoder(image_size=32, conv_channels=(8,)), FeatureProjector(context_dim=16)):
        folder = tmp_path / type(component).__name__
        component.save_pretrained(folder)
        loaded = type(component).from_pretrained(folder, low_cpu_mem_usage=False)
        expected, actual = component.state_dict(), loaded.state_dict()
        assert actual.keys() == expected.keys()
        for name in expected:
            torch.testing.assert_close(actual[name], expected[name], msg=name)
