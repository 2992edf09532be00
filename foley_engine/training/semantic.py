"""Stage `semantic`: the semantic alignment adapter and its text projector, trained with the base frozen.

The adapter is `ControlNetModel.from_unet(base)` like the temporal one; its
conditioning map is the event-span mask and its cross-attention context is the
video context followed by one token per sound event (`SemanticProjector`:
the event's text embedding plus where it sits in the window). The events are
the clip's labelled onsets, each lasting until its sound decays
(`sound_spans` on the clip's audio), labelled with its class name in one of a
few phrasings, so free text from markers and prompts lands near them. Paired
clips take their features from the video tower, audio-only clips from the
aligned audio tower, as in the other diffusion stages.

Half the examples train without video features (`[semantic]`
feature_dropout), so the class must come from the text; some train without
text and some without spans (text_dropout, span_dropout), so the adapter
works with either alone and the ablation compares like with like. Validation reports the loss with both, and
how much higher it is without the text and without the spans: the adapter's
own measure of how much it uses each.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import AUDIO
from ..data import ClipRecord
from ..data.taxonomy import CLASSES
from ..onsets import sound_spans, span_mask
from ..semantic_projector import SemanticProjector
from ..text import embed_texts
from .clips import label_onsets, read_samples
from .config import TrainingConfig
from .diffusion import WINDOW_S, DiffusionStage, LatentSet, drop_features
from .frozen_parts import ClipEncoders, FrozenBase

# Several phrasings of each class, so marker names and prompts in the editor's own words land near them.
PHRASINGS = ("{}", "{} sound", "the sound of a {}", "{} sound effect")


@dataclass
class EventTable:
    """The sound events of a set of clips, padded to the projector's slots."""

    span_masks: torch.Tensor  # (N, window_frames)
    classes: torch.Tensor  # (N, E) class index, -1 for an empty slot
    centres: torch.Tensor  # (N, E) event centre as a fraction of the window


def event_table(records: list[ClipRecord], slots: int) -> EventTable:
    """Spans (onset → decay) and classes of every clip's labelled onsets; the first `slots` of each clip."""
    index = {name: i for i, name in enumerate(CLASSES)}
    masks = np.zeros((len(records), AUDIO.window_frames), dtype=np.float32)
    classes = torch.full((len(records), slots), -1, dtype=torch.long)
    centres = torch.zeros(len(records), slots)
    for row, record in enumerate(records):
        onsets = label_onsets(record)
        spans = sound_spans(read_samples(record), AUDIO.sample_rate, onsets)
        masks[row] = span_mask(spans, AUDIO.window_frames)
        for slot, ((start, end), onset) in enumerate(zip(spans[:slots], record.onsets)):
            classes[row, slot] = index[onset.label]
            centres[row, slot] = (start + end) / 2 / WINDOW_S
    return EventTable(torch.from_numpy(masks), classes, centres)


class SemanticStage(DiffusionStage):
    """Trains `semantic_adapter` and `semantic_projector`; exports both under those names."""

    name = "semantic"

    def __init__(
        self,
        config: TrainingConfig,
        data: Path,
        out: Path,
        encoders: ClipEncoders,
        base: FrozenBase,
        device: torch.device,
    ) -> None:
        super().__init__(config.semantic, config, data, out, encoders, device, with_onsets=False)
        self.semantic = config.semantic
        self.adapter = self.setup_adapter(base, config)
        self.text_projector = SemanticProjector(context_dim=base.unet.config.cross_attention_dim).to(device)
        slots = self.text_projector.config.max_events - 1  # the last slot holds the whole-window text
        self.events = {
            "train": event_table(self.train_set.records, slots),
            "val": event_table(self.val_set.records, slots),
        }
        phrases = [phrase.format(name) for name in CLASSES for phrase in PHRASINGS]
        # (classes, phrasings, text_dim): every event's text is one of these, embedded once.
        self.phrase_embeddings = embed_texts(phrases).reshape(len(CLASSES), len(PHRASINGS), -1).to(device)
        self._random = random.Random(config.seed)

    def trainable(self) -> dict[str, nn.Module]:
        return {"semantic_adapter": self.adapter, "semantic_projector": self.text_projector}

    def describe(self) -> dict[str, Any]:
        """Adds how much of the training windows the event spans cover."""
        return {**super().describe(), "span_coverage": self.events["train"].span_masks.mean().item()}

    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor, masks: torch.Tensor | None
    ) -> torch.Tensor:
        """`context` is the video context followed by the text tokens: the adapter sees both, the UNet the video's."""
        video = context[:, : self.projector.config.n_positions]
        image = self.codec.conditioning_image(self.adapter, masks, noisy)
        down, mid = self.adapter(noisy, timesteps, encoder_hidden_states=context, controlnet_cond=image, return_dict=False)
        return self.unet(
            noisy,
            timesteps,
            encoder_hidden_states=video,
            down_block_additional_residuals=down,
            mid_block_additional_residual=mid,
        ).sample

    def loss(self, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return self._batch_loss(self.train_set, indices, self.semantic.feature_dropout), {}

    def _tokens(self, table: EventTable, indices: torch.Tensor, training: bool, with_text: bool) -> torch.Tensor:
        """(B, max_events, context_dim) text tokens: each event's phrase, then the whole-window text."""
        classes, centres = table.classes[indices], table.centres[indices]
        batch, slots = classes.shape
        phrasing = torch.randint(len(PHRASINGS), classes.shape) if training else torch.zeros_like(classes)
        embeddings = self.phrase_embeddings[classes.clamp(min=0), phrasing.to(classes.device)].cpu()
        embeddings[classes < 0] = 0.0
        summaries = [
            ", ".join(dict.fromkeys(CLASSES[c] for c in row.tolist() if c >= 0))
            if training and self._random.random() < self.semantic.summary_rate
            else ""
            for row in classes
        ]
        summary = torch.zeros(batch, 1, embeddings.shape[-1])
        named = [i for i, text in enumerate(summaries) if text]
        if named:
            summary[named, 0] = embed_texts([summaries[i] for i in named])
        embeddings = torch.cat([embeddings, summary], dim=1)
        centres = torch.cat([centres, torch.full((batch, 1), -1.0)], dim=1)
        if training:
            keep = torch.rand(batch) >= self.semantic.text_dropout
            embeddings = embeddings * keep[:, None, None]
        if not with_text:
            embeddings = torch.zeros_like(embeddings)
        return self.text_projector(embeddings.to(self.device), centres.to(self.device))

    def _batch_loss(
        self,
        latent_set: LatentSet,
        indices: torch.Tensor,
        dropout: float,
        generator: torch.Generator | None = None,
        with_text: bool = True,
        with_spans: bool = True,
    ) -> torch.Tensor:
        training = latent_set is self.train_set and dropout > 0
        table = self.events["train" if latent_set is self.train_set else "val"]
        latents = latent_set.latents[indices].to(self.device)
        context = self.projector(drop_features(latent_set.features[indices].to(self.device), dropout))
        tokens = self._tokens(table, indices, training, with_text)
        spans = table.span_masks[indices]
        if training:
            spans = spans * (torch.rand(len(spans)) >= self.semantic.span_dropout)[:, None]
        if not with_spans:
            spans = torch.zeros_like(spans)
        context = torch.cat([context, tokens], dim=1)
        spans = spans.to(self.device)
        return self.loss_fn(lambda noisy, t: self.predict(noisy, t, context, spans), latents, generator)

    def validate(self) -> dict[str, float]:
        """Val loss with text and spans, and how much it rises without each (same noise throughout)."""
        loss = self.validation_loss()
        return {
            "loss": loss,
            "text_gain": self.validation_loss(with_text=False) - loss,
            "span_gain": self.validation_loss(with_spans=False) - loss,
        }

    def export(self, out: Path) -> None:
        self.adapter.save_pretrained(out / "semantic_adapter")
        self.text_projector.save_pretrained(out / "semantic_projector")
