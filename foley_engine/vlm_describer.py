"""Captions from a local vision-language model as the labels of a clip's sound events.

Only used when the editor points the engine at a folder holding a transformers
image-to-text model saved with `save_pretrained` (a captioner such as BLIP or
GIT, or a chat model such as LLaVA or SmolVLM with its processor's chat
template); nothing is ever downloaded. The default describer decides *when*
things happen; the model says *what* the picture shows at each of those
moments, from the frame nearest the event's middle. A clip without events is
captioned at evenly spaced keyframes instead.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .describer import ClipContext, Describer, Description, EventDescriber, time_order
from .errors import ModelError
from .request import EventSpan

# What a chat model is asked; a plain captioner gets only the picture.
INSTRUCTION = "In a few words, what in this picture makes a sound?"
# A caption says what the picture shows, not how sure anyone is that a sound happens then.
KEYFRAME_CONFIDENCE = 0.5

_WHAT_TO_DO = (
    "point the describer at a folder holding a transformers image-to-text model and its processor "
    "(config.json, the weights and the processor's files, as `save_pretrained` writes them)"
)


class VisionLanguageDescriber:
    """Captions each event of `events` (the default describer) with the model in `model_dir`.

    Events the editor named keep the editor's words: a caption replaces a detector's
    label or fills an empty one. Without frames there is nothing to caption and the
    description is `events`' own. The summary is always `events`' summary.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        events: Describer | None = None,
        keyframes: int = 4,
        max_new_tokens: int = 20,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if keyframes < 1:
            raise ValueError(f"keyframes must be at least 1, got {keyframes}")
        self.model_dir = Path(model_dir)
        self.events = events or EventDescriber()
        self.keyframes = keyframes
        self.max_new_tokens = max_new_tokens
        self.device = torch.device(device)
        self.processor, self.model = _load(self.model_dir, dtype)
        self.model.to(self.device)
        self.chat = bool(getattr(self.processor, "chat_template", None))
        # Fast tokenizers fail when two threads change their padding state at once.
        self._lock = threading.Lock()

    def describe(self, clip: ClipContext) -> Description:
        """`events`' description with captions as labels, in time order."""
        base = self.events.describe(clip)
        if clip.frames is None or not len(clip.frames):
            return base
        if base.events:
            # Editor-named events are those that the editor's markers alone already name.
            own = {event for event in self.events.describe(replace(clip, detected=())).events if event.label}
            targets = [event for event in base.events if event not in own]
        else:
            own = set()
            step = clip.duration / self.keyframes
            targets = [
                EventSpan(k * step, (k + 1) * step, confidence=KEYFRAME_CONFIDENCE) for k in range(self.keyframes)
            ]
        frames = [_nearest(clip.frame_times, (event.start + event.end) / 2) for event in targets]
        unique = sorted(set(frames))
        captions = dict(zip(unique, self.caption(clip.frames[unique]) if unique else []))
        named = [replace(event, label=captions[frame] or event.label) for event, frame in zip(targets, frames)]
        if not base.events:
            # A keyframe the model has nothing to say about marks no event.
            named = [event for event in named if event.label]
        return Description(time_order([*(e for e in base.events if e in own), *named]), base.summary)

    @torch.inference_mode()
    def caption(self, frames: np.ndarray) -> list[str]:
        """One short caption per RGB uint8 frame (N, H, W, 3); "" where the model says nothing."""
        images = list(frames)
        with self._lock:
            if self.chat:
                message = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": INSTRUCTION}]}]
                prompt = self.processor.apply_chat_template(message, add_generation_prompt=True)
                # One image per prompt, nested as multi-image processors (Idefics3, SmolVLM) need it.
                # The prompts are all the same length, so no padding side can shift the answers.
                inputs = self.processor(
                    images=[[image] for image in images], text=[prompt] * len(images), return_tensors="pt"
                )
            else:
                inputs = self.processor(images=images, return_tensors="pt")
        inputs = {
            key: value.to(self.device, self.model.dtype if value.is_floating_point() else value.dtype)
            for key, value in inputs.items()
        }
        out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        # A decoder-only model returns the prompt before its answer.
        if "input_ids" in inputs and not self.model.config.is_encoder_decoder:
            out = out[:, inputs["input_ids"].shape[1] :]
        with self._lock:
            texts = self.processor.batch_decode(out, skip_special_tokens=True)
        return [" ".join(text.split()).strip(" .,;") for text in texts]


def _nearest(times: tuple[Fraction, ...], t: Fraction) -> int:
    return min(range(len(times)), key=lambda i: abs(times[i] - t))


def _load(folder: Path, dtype: torch.dtype) -> tuple[Any, torch.nn.Module]:
    """Processor and model from `folder`; ModelError naming the folder if it is not an image-to-text model."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if not folder.is_dir():
        raise ModelError(f"{folder}: no such folder for the vision-language describer; {_WHAT_TO_DO}")
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder}: no config.json, so this is no transformers model; {_WHAT_TO_DO}")
    try:
        processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
        model = AutoModelForImageTextToText.from_pretrained(folder, local_files_only=True, dtype=dtype)
    # transformers raises ValueError for a model family that is not image-to-text, OSError for
    # missing files, and its dependencies their own types for damaged ones; all mean the same here.
    except Exception as error:
        # The first line says what is wrong; transformers goes on to list every model class it knows.
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ModelError(f"{folder}: not a usable vision-language model ({reason}); {_WHAT_TO_DO}") from error
    if getattr(processor, "image_processor", None) is None:
        raise ModelError(f"{folder}: the processor there reads no images; {_WHAT_TO_DO}")
    return processor, model.eval()
