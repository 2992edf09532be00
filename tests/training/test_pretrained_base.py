"""`foley train temporal|assemble --pretrained`: the temporal adapter trained on converted Diff-Foley weights.

The base is what the real converter writes from fake original checkpoints at
the tiny Diff-Foley shapes: a SlowOnly video tower, a Cnn14 audio tower beside
the pipeline, a 3-channel VAE on the "repeat" mel layout.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import ControlNetModel
from safetensors.torch import load_file

from foley_engine.cavp import Cnn14AudioEncoder, SlowOnlyEncoder
from foley_engine.conversion.diff_foley import AUDIO_ENCODER_FOLDER, convert_diff_foley
from foley_engine.diff_foley import TINY_DIFF_FOLEY
from foley_engine.engine import FoleyEngine
from foley_engine.training import frozen_parts
from foley_engine.training.__main__ import main as train_main
from foley_engine.training.components import build_adapter, build_unet
from foley_engine.training.config import load_config
from foley_engine.training.frozen_parts import ClipEncoders, FrozenBase, pipeline_base, pipeline_encoders
from foley_engine.training.loop import read_loss_log
from foley_engine.training.temporal import TemporalStage

from ..conversion.original_layout import cavp_shapes, ldm_shapes, random_state_dict, save_checkpoint

WEIGHTS = "diffusion_pytorch_model.safetensors"
STEPS = 2


@dataclass
class PretrainedRun:
    """One `foley train temporal --pretrained` run and the frozen parts it loaded."""

    out: Path
    status: int
    encoders: ClipEncoders
    base: FrozenBase


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`foley convert diff-foley` of fake checkpoints at the tiny Diff-Foley shapes."""
    folder = tmp_path_factory.mktemp("diff_foley")
    ldm_state = random_state_dict(ldm_shapes(TINY_DIFF_FOLEY), seed=1, config=TINY_DIFF_FOLEY)
    ldm = save_checkpoint(folder / "ldm_epoch240.ckpt", ldm_state)
    cavp = save_checkpoint(folder / "cavp_epoch66.ckpt", random_state_dict(cavp_shapes(TINY_DIFF_FOLEY), seed=2))
    return convert_diff_foley(ldm, cavp, folder / "diff-foley", config=TINY_DIFF_FOLEY)


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny config, its temporal stage cut to a few clips and steps (the Diff-Foley UNet is the cost)."""
    config = load_config("tiny")
    temporal = dataclasses.replace(
        config.temporal, steps=STEPS, batch_size=2, train_clips=4, val_clips=1, val_every=STEPS, checkpoint_every=STEPS
    )
    diffusion = dataclasses.replace(config.diffusion, sample_steps=2)
    config = dataclasses.replace(config, temporal=temporal, diffusion=diffusion)
    path = tmp_path_factory.mktemp("config") / "quick.json"
    path.write_text(json.dumps(config.to_dict()))
    return path


def recording(built: dict[str, Any], loader: Callable[..., Any]) -> Callable[..., Any]:
    """`loader`, keeping what it returns in `built` under its name."""

    def load(*args: Any, **kwargs: Any) -> Any:
        built[loader.__name__] = loader(*args, **kwargs)
        return built[loader.__name__]

    return load


@pytest.fixture(scope="module")
def run(
    converted: Path, training_data: Path, quick_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> PretrainedRun:
    out = tmp_path_factory.mktemp("runs") / "temporal"
    args = ["temporal", "--pretrained", str(converted), "--config", str(quick_config)]
    built: dict[str, Any] = {}
    with pytest.MonkeyPatch.context() as patch:
        # The command's own loaders, recorded, so the tests can look at the very modules it trained around.
        for name in ("pipeline_encoders", "pipeline_base"):
            patch.setattr(frozen_parts, name, recording(built, getattr(frozen_parts, name)))
        status = train_main(args + ["--data", str(training_data), "--out", str(out)])
    return PretrainedRun(out, status, built["pipeline_encoders"], built["pipeline_base"])


def test_the_adapter_trains_on_the_converted_base(run: PretrainedRun, converted: Path) -> None:
    assert run.status == 0
    records = read_loss_log(run.out)
    losses = [r["loss"] for r in records if r["phase"] == "train"]
    assert len(losses) == STEPS and np.isfinite(losses).all()
    assert records[0]["audio_only"] > 0, "the converted base's Cnn14 should encode the audio-only clips"
    assert {"adapter_false_per_min", "base_false_per_min"} <= set(records[-1])
    assert json.loads((run.out / "stage.json").read_text())["inputs"] == {"pretrained": str(converted.resolve())}

    # The latents follow the pipeline's own layout and scale: the repeated mel under Diff-Foley's 8x VAE.
    codec = run.encoders.codec.config
    assert (codec.mel_layout, codec.latent_scale) == ("repeat", pytest.approx(0.18215))
    cache = torch.load(run.out / "cache.pt", weights_only=False)
    assert cache["sets"]["train"]["latents"].shape[1:] == (4, 16, 64)
    assert set(json.loads(cache["key"])["components"]) == {"pipeline", "vae", "video_encoder", "audio_encoder"}

    adapter = ControlNetModel.from_pretrained(run.out / "temporal_adapter")
    original = ControlNetModel.load_config(converted / "temporal_adapter")
    channels = adapter.config.conditioning_embedding_out_channels
    assert list(channels) == list(original["conditioning_embedding_out_channels"])
    # from_unet zeroes the output convolutions: non-zero ones were trained.
    assert any(block.weight.any() for block in adapter.controlnet_down_blocks)


def test_no_weight_of_the_converted_base_changes(run: PretrainedRun, converted: Path) -> None:
    assert isinstance(run.encoders.video_tower, SlowOnlyEncoder)
    assert isinstance(run.encoders.audio_tower, Cnn14AudioEncoder)
    modules = {
        "unet": run.base.unet,
        "feature_projector": run.base.projector,
        "vae": run.encoders.vae,
        "video_encoder": run.encoders.video_tower,
        AUDIO_ENCODER_FOLDER: run.encoders.audio_tower,
    }
    for name, module in modules.items():
        assert not any(p.requires_grad for p in module.parameters()), name
        saved, state = load_file(converted / name / WEIGHTS), module.state_dict()
        assert saved.keys() == state.keys(), name
        changed = [key for key, value in saved.items() if not torch.equal(state[key], value)]
        assert not changed, f"{name}: {changed[:3]} changed"


def test_assembled_pipeline_has_the_trained_adapter(run: PretrainedRun, converted: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    assert train_main(["assemble", "--pretrained", str(converted), "--temporal", str(run.out), "-o", str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["model"], "nothing half-written may be left beside it"
    assert (out / AUDIO_ENCODER_FOLDER / WEIGHTS).is_file()

    engine = FoleyEngine.load(out)
    info = engine.info()
    assert info.name == "diff-foley" and info.trained
    assert {adapter.name: adapter.trained for adapter in info.adapters} == {"temporal": True, "semantic": False}
    pipe = engine.pipeline
    assert pipe.config.mel_layout == "repeat"
    trained = load_file(run.out / "temporal_adapter" / WEIGHTS)
    assert all(torch.equal(pipe.temporal_adapter.state_dict()[k], v) for k, v in trained.items())
    unet = load_file(converted / "unet" / WEIGHTS)
    assert all(torch.equal(pipe.unet.state_dict()[k], v) for k, v in unet.items())

    mask = np.zeros((1, 512), dtype=np.float32)
    mask[0, [100, 300]] = 1.0
    mels = pipe(torch.zeros(1, 32, 512), onset_mask=mask, num_inference_steps=2, output_type="mel").mels
    assert mels.shape == (1, 128, 512) and torch.isfinite(mels).all()


def test_assemble_refuses_an_adapter_trained_on_another_base(
    converted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = load_config("tiny").model
    build_adapter(build_unet(model), model.adapter_embedding_channels).save_pretrained(
        tmp_path / "temporal" / "temporal_adapter"
    )
    args = ["assemble", "--pretrained", str(converted), "--temporal", str(tmp_path / "temporal")]
    assert train_main(args + ["-o", str(tmp_path / "model")]) == 1
    assert "trained on another base" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_a_base_without_audio_tower_trains_on_paired_clips(
    converted: Path, training_data: Path, quick_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "no-audio-tower"
    shutil.copytree(converted, base, ignore=shutil.ignore_patterns(AUDIO_ENCODER_FOLDER))
    device = torch.device("cpu")
    encoders = pipeline_encoders(base, device)
    assert encoders.audio_tower is None and AUDIO_ENCODER_FOLDER not in encoders.sources
    stage = TemporalStage(
        load_config(quick_config), training_data, tmp_path / "out", encoders, pipeline_base(base, device), device
    )
    assert {r.kind for r in stage.train_set.records + stage.val_set.records} == {"paired"}
    said = [line for line in capsys.readouterr().out.splitlines() if "audio tower" in line]
    assert said == ["temporal: the base has no audio tower; training on the 4 paired clips only"]


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["temporal", "--pretrained", "p", "--base", "b", "--data", "d", "--out", "o"], ["--pretrained", "--base"]),
        (["temporal", "--data", "d", "--out", "o"], ["--pretrained", "--cavp", "--vae", "--base"]),
        (["assemble", "--pretrained", "p", "--cavp", "c", "--temporal", "t", "-o", "o"], ["--pretrained", "--cavp"]),
        (["assemble", "--vae", "v", "--temporal", "t", "-o", "o"], ["--pretrained", "--cavp", "--base"]),
    ],
)
def test_the_base_is_given_one_way_only(
    command: list[str], named: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_main(command)
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert all(option in message for option in named), message


def test_a_folder_without_pipeline_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["temporal", "--pretrained", str(tmp_path), "--config", "tiny", "--data", str(tmp_path)]
    assert train_main(args + ["--out", str(tmp_path / "out")]) == 1
    assert "not a saved pipeline (no model_index.json)" in capsys.readouterr().err
