"""The CAVP converter and our two towers against the original layouts."""

import pytest
import torch

from foley_engine.cavp import Cnn14AudioEncoder, SlowOnlyEncoder
from foley_engine.conversion.cavp import ConvertedCavp, convert_cavp
from foley_engine.diff_foley import DIFF_FOLEY, TINY_DIFF_FOLEY, DiffFoleyConfig
from foley_engine.errors import ModelError

from . import reference
from .original_layout import AUDIO_HEAD, AUDIO_TOWER, VIDEO_HEAD, VIDEO_TOWER, cavp_shapes, ldm_shapes, meta_state_dict

CONFIG = TINY_DIFF_FOLEY


def assert_same_layout(converted: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    expected = module.state_dict()
    assert converted.keys() == expected.keys()
    assert all(converted[name].shape == t.shape for name, t in expected.items())


@pytest.mark.parametrize("config", [DIFF_FOLEY, TINY_DIFF_FOLEY], ids=["diff-foley", "tiny"])
def test_every_original_tensor_lands_in_a_tower(config: DiffFoleyConfig) -> None:
    shapes = cavp_shapes(config)
    converted = convert_cavp(meta_state_dict(shapes), config)
    with torch.device("meta"):
        video, audio = SlowOnlyEncoder(**config.video_tower), Cnn14AudioEncoder(**converted.audio_config)
    assert_same_layout(converted.video, video)
    assert_same_layout(converted.audio, audio)
    # Everything but Cnn14's AudioSet classifier and the temperature is used, once.
    assert len(converted.video) + len(converted.audio) == len(shapes) - 3


def test_the_full_size_towers_are_slowonly_50_and_cnn14() -> None:
    with torch.device("meta"):
        video, audio = SlowOnlyEncoder(), Cnn14AudioEncoder()
    assert video.config.image_size == 224 and video.backbone.out_channels == 2048
    assert [len(getattr(video.backbone, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert video.backbone.layer3[0].conv1.conv.kernel_size == (3, 1, 1)
    assert video.backbone.layer2[0].conv1.conv.kernel_size == (1, 1, 1)
    assert audio.backbone.out_channels == 2048 and audio.time_reduction == 16


@pytest.fixture(scope="module")
def video_tower(converted_cavp: ConvertedCavp) -> SlowOnlyEncoder:
    tower = SlowOnlyEncoder(**CONFIG.video_tower).eval()
    tower.load_state_dict(converted_cavp.video)
    return tower


@pytest.fixture(scope="module")
def audio_tower(converted_cavp: ConvertedCavp) -> Cnn14AudioEncoder:
    tower = Cnn14AudioEncoder(**converted_cavp.audio_config).eval()
    tower.load_state_dict(converted_cavp.audio)
    return tower


def tower_weights(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


@torch.no_grad()
@pytest.mark.parametrize(
    "stage, stride", [(1, 1), (2, 2), (3, 2)], ids=["first-stage", "strided", "inflated-strided"]
)
def test_slowonly_bottleneck(video_tower, cavp_state, stage: int, stride: int) -> None:
    block = getattr(video_tower.backbone, f"layer{stage}")[0]
    x = torch.randn(2, block.conv1.conv.in_channels, 5, 8, 8, generator=torch.Generator().manual_seed(0))
    weights = tower_weights(cavp_state, VIDEO_TOWER)
    torch.testing.assert_close(block(x), reference.bottleneck3d(weights, f"layer{stage}.0", x, stride))


@torch.no_grad()
def test_whole_video_tower(video_tower, cavp_state) -> None:
    frames = torch.rand(2, 6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    expected = reference.slowonly_features(cavp_state, VIDEO_TOWER, VIDEO_HEAD, frames)
    features = video_tower(frames)
    torch.testing.assert_close(features, expected)
    assert features.shape == (2, 6, 512)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(2, 6))


@torch.no_grad()
@pytest.mark.parametrize("index, pool", [(1, (2, 2)), (5, (1, 2))])
def test_cnn14_conv_block(audio_tower, cavp_state, index: int, pool: tuple[int, int]) -> None:
    block = getattr(audio_tower.backbone, f"conv_block{index}")
    x = torch.randn(2, block.conv1.in_channels, 16, 8, generator=torch.Generator().manual_seed(0))
    weights = tower_weights(cavp_state, AUDIO_TOWER)
    torch.testing.assert_close(block(x, pool), reference.cnn14_conv_block(weights, f"conv_block{index}", x, pool))


@torch.no_grad()
def test_whole_audio_tower_gives_one_feature_per_video_frame(audio_tower, cavp_state) -> None:
    mel = torch.rand(2, 128, 512, generator=torch.Generator().manual_seed(0))
    features = audio_tower(mel)
    assert features.shape == (2, 32, 512)
    pools = audio_tower.backbone.pool_sizes
    torch.testing.assert_close(features, reference.cnn14_features(cavp_state, AUDIO_TOWER, AUDIO_HEAD, mel, pools))


def test_towers_refuse_misshapen_input(video_tower, audio_tower) -> None:
    with pytest.raises(ValueError, match="expected"):
        video_tower(torch.rand(1, 4, 32, 32, 3))
    with pytest.raises(ValueError, match="not a multiple of 16"):
        audio_tower(torch.rand(1, 128, 100))


def cavp_error(state: dict[str, torch.Tensor]) -> str:
    with pytest.raises(ModelError) as error:
        convert_cavp(state, CONFIG)
    assert "expected Diff-Foley's CAVP checkpoint" in str(error.value)
    return str(error.value)


def test_the_ldm_checkpoint_is_recognised_as_such() -> None:
    assert "it looks like the LDM checkpoint" in cavp_error(meta_state_dict(ldm_shapes(CONFIG)))


def test_a_checkpoint_without_an_audio_tower() -> None:
    state = {k: v for k, v in meta_state_dict(cavp_shapes(CONFIG)).items() if not k.startswith(AUDIO_TOWER)}
    assert "expected one Cnn14 audio tower" in cavp_error(state)


def test_a_left_over_tensor_is_named() -> None:
    state = meta_state_dict(cavp_shapes(CONFIG)) | {"video_temporal_head.weight": torch.empty(4, device="meta")}
    assert "1 tensors unexpected (video_temporal_head.weight)" in cavp_error(state)


def test_a_wrong_shape_is_named() -> None:
    state = meta_state_dict(cavp_shapes(CONFIG))
    state[VIDEO_TOWER + "layer1.0.conv2.conv.weight"] = torch.empty(8, 8, 3, 3, 3, device="meta")
    assert "layer1.0.conv2.conv.weight is (8, 8, 3, 3, 3), expected (8, 8, 1, 3, 3)" in cavp_error(state)


def test_heads_of_equal_shape_are_told_apart_by_name() -> None:
    state = meta_state_dict(cavp_shapes(DIFF_FOLEY))
    renamed = {
        k.replace("video_project_head", "head_a").replace("spec_project_head", "head_b"): v for k, v in state.items()
    }
    with pytest.raises(ModelError, match="cannot tell the video tower's projection head"):
        convert_cavp(renamed, DIFF_FOLEY)
