"""Diff-Foley's CAVP checkpoint (`cavp_epoch66.ckpt`) → our video and audio tower state dicts.

The towers are found by their structure rather than by their attribute names
in the CAVP training code: the video tower is the prefix under which an
mmaction2 ResNet3D stem (`conv1.conv.weight`, 5-D) sits, the audio tower the
prefix of a PANNs Cnn14 (`conv_block1.conv1.weight`). Each tower has a linear
projection head onto the 512-d CAVP space outside it; when both heads have
the same shape, the one whose name mentions "video" is the video tower's.
Inside a tower the names are mmaction2's / PANNs' own, which our towers keep.
Known unused tensors: the contrastive temperature (`logit_scale`) and Cnn14's
AudioSet classifier (`fc_audioset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..cavp import Cnn14AudioEncoder, SlowOnlyEncoder
from ..diff_foley import DIFF_FOLEY, DiffFoleyConfig
from .matching import StateDictMatcher, take_module

VIDEO_STEM = "conv1.conv.weight"
AUDIO_STEM = "conv_block1.conv1.weight"
AUDIO_FC1 = "fc1.weight"
AUDIO_CLASSIFIER = "fc_audioset."
TEMPERATURE = "logit_scale"
BACKBONE = "backbone."
HEAD = "projection."

EXPECTED = (
    "Diff-Foley's CAVP checkpoint (cavp_epoch66.ckpt): a ResNet3D SlowOnly-50 video tower and a Cnn14 "
    "audio tower, each with a linear head onto 512 features"
)


@dataclass
class ConvertedCavp:
    """The CAVP towers in our layout, with the audio tower's config (whether Cnn14's fc1 is used)."""

    video: dict[str, torch.Tensor]
    audio: dict[str, torch.Tensor]
    audio_config: dict[str, Any]


def _tower_prefix(matcher: StateDictMatcher, stem: str, ndim: int, in_channels: int, what: str) -> str:
    # The input channels tell a stem from the same-named convolutions deeper inside
    # (mmaction2's bottlenecks also have a `conv1.conv.weight`).
    prefixes = [
        name.removesuffix(stem)
        for name, tensor in matcher.remaining.items()
        if (name == stem or name.endswith("." + stem)) and tensor.ndim == ndim and tensor.shape[1] == in_channels
    ]
    if len(prefixes) != 1:
        found = "none" if not prefixes else ", ".join(prefixes)
        raise matcher.fail(
            f"expected one {what} (a {ndim}-D '…{stem}' over {in_channels} input channels), found {found}"
        )
    return prefixes[0]


def _head_prefix(matcher: StateDictMatcher, shape: tuple[int, int], words: tuple[str, ...], what: str) -> str:
    candidates = [
        name.removesuffix("weight")
        for name, tensor in matcher.remaining.items()
        if name.endswith("weight")
        and tuple(tensor.shape) == shape
        and name.removesuffix("weight") + "bias" in matcher.remaining
    ]
    named = [c for c in candidates if any(word in c.lower() for word in words)]
    chosen = named if len(candidates) > 1 else candidates
    if len(chosen) != 1:
        raise matcher.fail(
            f"cannot tell the {what}'s projection head (Linear {shape[1]}→{shape[0]}) among "
            f"{', '.join(candidates) or 'no candidates'}"
        )
    return chosen[0]


def _source_names(model: torch.nn.Module, tower: str, head: str) -> dict[str, str]:
    names = {}
    for name in model.state_dict():
        if name.startswith(BACKBONE):
            names[name] = tower + name.removeprefix(BACKBONE)
        else:
            names[name] = head + name.removeprefix(HEAD)
    return names


def convert_cavp(
    state: dict[str, torch.Tensor], config: DiffFoleyConfig = DIFF_FOLEY, source: str = "the CAVP checkpoint"
) -> ConvertedCavp:
    """Split a CAVP state dict into our two towers' state dicts, checking every name and shape.

    Works on meta tensors too (names and shapes only). Raises ModelError naming
    every missing, misshapen or unexpected tensor.
    """
    matcher = StateDictMatcher(state, source, EXPECTED)
    if any(name.startswith("model.diffusion_model.") for name in state):
        raise matcher.fail("it holds model.diffusion_model.* tensors (it looks like the LDM checkpoint)")
    video_prefix = _tower_prefix(matcher, VIDEO_STEM, 5, 3, "ResNet3D video tower")
    audio_prefix = _tower_prefix(matcher, AUDIO_STEM, 4, 1, "Cnn14 audio tower")
    audio_config = {**config.audio_tower, "use_fc1": audio_prefix + AUDIO_FC1 in matcher.remaining}
    with torch.device("meta"):
        video = SlowOnlyEncoder(**config.video_tower)
        audio = Cnn14AudioEncoder(**audio_config)
    video_shape = (video.config.feature_dim, video.backbone.out_channels)
    audio_shape = (audio.config.feature_dim, audio.backbone.out_channels)
    video_head = _head_prefix(matcher, video_shape, ("video",), "video tower")
    audio_head = _head_prefix(matcher, audio_shape, ("audio", "spec"), "audio tower")
    converted_video = take_module(matcher, video, _source_names(video, video_prefix, video_head))
    converted_audio = take_module(matcher, audio, _source_names(audio, audio_prefix, audio_head))
    matcher.skip([*matcher.names_under(audio_prefix + AUDIO_CLASSIFIER), TEMPERATURE])
    matcher.finish()
    return ConvertedCavp(video=converted_video, audio=converted_audio, audio_config=audio_config)
