"""Resumable training state: weights, optimiser, EMA, batch order, step and every RNG.

One file, `checkpoint.pt` in the stage's output folder, replaced atomically
so a run killed while saving keeps the previous checkpoint.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_FILE = "checkpoint.pt"


def rng_state() -> dict[str, Any]:
    """The state of every random generator training draws from."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's `random`."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def save_checkpoint(out: Path, state: dict[str, Any]) -> Path:
    """Write `state` to `out/checkpoint.pt` through a temporary file."""
    path = out / CHECKPOINT_FILE
    partial = path.with_suffix(".pt.partial")
    torch.save(state, partial)
    os.replace(partial, path)
    return path


def load_checkpoint(out: Path) -> dict[str, Any] | None:
    """The state saved in `out`, or None if it holds no checkpoint."""
    path = out / CHECKPOINT_FILE
    if not path.is_file():
        return None
    # Our own file: it holds numpy and Python RNG states, which the weights-only loader refuses.
    return torch.load(path, map_location="cpu", weights_only=False)
