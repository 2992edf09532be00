"""Stage `cavp`: the video and audio towers, trained contrastively on paired clips (as Diff-Foley's CAVP).

Two InfoNCE terms: a semantic one between clip-level (time-averaged) video and
audio embeddings across the batch, and a temporal one within each clip between
video step t and audio step t against the clip's other steps, so features
carry both what sounds and when.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .clips import frames_to_pixels, load_frames, load_mels, load_records
from .components import build_audio_encoder, build_video_encoder
from .config import TrainingConfig
from .figures import class_retrieval_accuracy, retrieval_accuracy, temporal_accuracy
from .loop import Stage

MAX_LOGIT_SCALE = 100.0


class ContrastiveHead(nn.Module):
    """The learned temperature of both InfoNCE terms (CLIP's logit scale, capped at 100)."""

    def __init__(self, temperature: float) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    def scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=MAX_LOGIT_SCALE)


def contrastive_losses(
    video: torch.Tensor, audio: torch.Tensor, scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(semantic, temporal) symmetric InfoNCE losses of (B, T, D) unit video and audio step embeddings."""
    batch, steps = video.shape[:2]
    clip_video = F.normalize(video.mean(dim=1), dim=-1)
    clip_audio = F.normalize(audio.mean(dim=1), dim=-1)
    logits = scale * clip_video @ clip_audio.T
    clips = torch.arange(batch, device=video.device)
    semantic = (F.cross_entropy(logits, clips) + F.cross_entropy(logits.T, clips)) / 2
    step_logits = scale * video @ audio.transpose(1, 2)
    targets = torch.arange(steps, device=video.device).repeat(batch)
    temporal = (
        F.cross_entropy(step_logits.flatten(0, 1), targets)
        + F.cross_entropy(step_logits.transpose(1, 2).flatten(0, 1), targets)
    ) / 2
    return semantic, temporal


class CavpStage(Stage):
    """Trains `video_encoder` and `audio_encoder`; exports both under those names."""

    name = "cavp"

    def __init__(self, config: TrainingConfig, data: Path, device: torch.device) -> None:
        super().__init__(config.cavp)
        self.config = config.cavp
        self.device = device
        self.image_size = config.model.image_size
        train = load_records(data, "train", self.config.train_clips, kinds=("paired",))
        val = load_records(data, "val", self.config.val_clips, kinds=("paired",))
        self.val_labels = [record.labels for record in val]
        self.train_mels, self.train_frames = load_mels(train), load_frames(train)
        self.val_mels, self.val_frames = load_mels(val), load_frames(val)
        self.video_encoder = build_video_encoder(config.model).to(device)
        self.audio_encoder = build_audio_encoder(config.model).to(device)
        self.head = ContrastiveHead(self.config.temperature).to(device)

    @property
    def train_size(self) -> int:
        return len(self.train_mels)

    def trainable(self) -> dict[str, nn.Module]:
        return {"video_encoder": self.video_encoder, "audio_encoder": self.audio_encoder, "head": self.head}

    def describe(self) -> dict[str, Any]:
        return {
            "train_clips": len(self.train_mels),
            "val_clips": len(self.val_mels),
            "video_params": sum(p.numel() for p in self.video_encoder.parameters()),
            "audio_params": sum(p.numel() for p in self.audio_encoder.parameters()),
        }

    def _embed(self, frames: torch.Tensor, mels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = frames_to_pixels(frames.to(self.device), self.image_size)
        return self.video_encoder(pixels), self.audio_encoder(mels.to(self.device))

    def loss(self, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        video, audio = self._embed(self.train_frames[indices], self.train_mels[indices])
        semantic, temporal = contrastive_losses(video, audio, self.head.scale())
        loss = semantic + self.config.temporal_weight * temporal
        return loss, {"semantic": semantic.item(), "temporal": temporal.item(), "logit_scale": self.head.scale().item()}

    def validate(self) -> dict[str, float]:
        """Val loss over all val clips as one batch; top-1 video→audio retrieval of the clip itself
        and of a clip of the same class; the step accuracy within clips; chance levels beside them."""
        videos, audios = [], []
        for start in range(0, len(self.val_mels), self.config.batch_size):
            window = slice(start, start + self.config.batch_size)
            video, audio = self._embed(self.val_frames[window], self.val_mels[window])
            videos.append(video)
            audios.append(audio)
        video, audio = torch.cat(videos), torch.cat(audios)
        semantic, temporal = contrastive_losses(video, audio, self.head.scale())
        return {
            "loss": (semantic + self.config.temporal_weight * temporal).item(),
            "retrieval_top1": retrieval_accuracy(video.mean(dim=1), audio.mean(dim=1)),
            "retrieval_chance": 1.0 / len(video),
            "class_retrieval_top1": class_retrieval_accuracy(video.mean(dim=1), audio.mean(dim=1), self.val_labels),
            "temporal_top1": temporal_accuracy(video, audio),
            "temporal_chance": 1.0 / video.shape[1],
        }

    def export(self, out: Path) -> None:
        self.video_encoder.save_pretrained(out / "video_encoder")
        self.audio_encoder.save_pretrained(out / "audio_encoder")
