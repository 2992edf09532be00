"""Each stage, trained on a handful of clips with the tiny config: its loss falls, its
validation figures are logged, and what it exports loads back with `from_pretrained`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from diffusers import AutoencoderKL, ControlNetModel, DPMSolverMultistepScheduler, UNet2DConditionModel

from foley_engine.audio_encoder import AudioEncoder
from foley_engine.projector import FeatureProjector
from foley_engine.semantic_projector import SemanticProjector
from foley_engine.training.config import load_config
from foley_engine.training.loop import read_loss_log
from foley_engine.video_encoder import VideoEncoder

WINDOW = 8  # steps averaged at each end of the run


def train_losses(out: Path) -> list[float]:
    return [record["loss"] for record in read_loss_log(out) if record["phase"] == "train"]


def validation(out: Path) -> dict:
    return [record for record in read_loss_log(out) if record["phase"] == "val"][-1]


def assert_loss_falls(out: Path) -> None:
    losses = train_losses(out)
    first, last = sum(losses[:WINDOW]) / WINDOW, sum(losses[-WINDOW:]) / WINDOW
    assert last < first, f"loss did not fall: first {losses[:WINDOW]}, last {losses[-WINDOW:]}"


def assert_finished(out: Path, stage: str) -> None:
    summary = json.loads((out / "stage.json").read_text())
    assert summary["stage"] == stage
    assert summary["steps"] == getattr(load_config("tiny"), stage).steps
    assert summary["seconds_per_step"] > 0
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == summary["steps"]


def test_cavp_learns_and_its_towers_load(trained: Path) -> None:
    out = trained / "cavp"
    assert_loss_falls(out)
    assert_finished(out, "cavp")
    assert {"retrieval_top1", "temporal_top1", "loss"} <= set(validation(out))
    video = VideoEncoder.from_pretrained(out / "video_encoder")
    audio = AudioEncoder.from_pretrained(out / "audio_encoder")
    with torch.no_grad():
        features = audio(torch.rand(1, 128, 512))
        frames = video(torch.rand(1, 32, 3, video.config.image_size, video.config.image_size))
    assert features.shape == frames.shape == (1, 32, 512)


def test_vae_learns_and_exports_its_latent_scale(trained: Path) -> None:
    out = trained / "vae"
    assert_loss_falls(out)
    assert_finished(out, "vae")
    figures = validation(out)
    assert 0 <= figures["mel_mae"] < 0.5
    assert 0 <= figures["onsets_decoded_recall"] <= 1
    vae = AutoencoderKL.from_pretrained(out / "vae")
    # The scaling factor is measured (1 / latent std), not Stable Diffusion's constant.
    assert vae.config.scaling_factor != 0.18215
    assert abs(vae.config.scaling_factor * figures["latent_std"] - 1) < 0.5


def test_base_learns_and_exports_unet_projector_and_scheduler(trained: Path) -> None:
    out = trained / "base"
    assert_loss_falls(out)
    assert_finished(out, "base")
    assert (out / "cache.pt").is_file()
    figures = validation(out)
    assert figures["sample_false_per_min"] >= 0
    UNet2DConditionModel.from_pretrained(out / "unet")
    FeatureProjector.from_pretrained(out / "feature_projector")
    scheduler = DPMSolverMultistepScheduler.from_pretrained(out / "scheduler")
    assert scheduler.config.prediction_type == load_config("tiny").diffusion.prediction_type


def test_temporal_learns_and_logs_detected_against_labelled_onsets(trained: Path) -> None:
    out = trained / "temporal"
    assert_loss_falls(out)
    assert_finished(out, "temporal")
    setup = read_loss_log(out)[0]
    assert setup["phase"] == "setup"
    assert 0 <= setup["detected_vs_labels_recall"] <= 1
    figures = validation(out)
    assert {"adapter_false_per_min", "adapter_recall", "base_false_per_min"} <= set(figures)
    adapter = ControlNetModel.from_pretrained(out / "temporal_adapter")
    assert adapter.config.conditioning_channels == 1
    expected = load_config("tiny").model.adapter_embedding_channels
    assert tuple(adapter.config.conditioning_embedding_out_channels) == expected


def test_semantic_learns_to_use_text_and_spans_and_exports_adapter_and_projector(trained: Path) -> None:
    out = trained / "semantic"
    assert_loss_falls(out)
    assert_finished(out, "semantic")
    assert 0 < read_loss_log(out)[0]["span_coverage"] < 1
    figures = validation(out)
    # How much the val loss rises without each condition (too few steps here for a sign to mean anything).
    assert all(math.isfinite(figures[key]) for key in ("loss", "text_gain", "span_gain"))
    adapter = ControlNetModel.from_pretrained(out / "semantic_adapter")
    assert adapter.config.conditioning_channels == 1
    projector = SemanticProjector.from_pretrained(out / "semantic_projector")
    assert projector.config.context_dim == load_config("tiny").model.cross_attention_dim
