"""An exponential moving average of a model's weights."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


class EMA:
    """Shadow copies of `parameters` that follow them as `shadow ← shadow + (1 − d)(param − shadow)`.

    The decay warms up as d = min(decay, (1 + n) / (10 + n)) after n updates,
    so a short run's average is not dominated by the random initialisation.
    """

    def __init__(self, parameters: Iterable[nn.Parameter], decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.parameters = list(parameters)
        self.shadow = [p.detach().clone() for p in self.parameters]
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Move the shadow weights one step towards the current ones."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.parameters], 1.0 - decay)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Swap the shadow weights into the model for the duration of the block."""
        with torch.no_grad():
            saved = [p.detach().clone() for p in self.parameters]
            for param, shadow in zip(self.parameters, self.shadow):
                param.copy_(shadow)
        try:
            yield
        finally:
            with torch.no_grad():
                for param, value in zip(self.parameters, saved):
                    param.copy_(value)

    def state_dict(self) -> dict[str, Any]:
        """The shadow weights and update count, for a training checkpoint."""
        return {"shadow": [s.clone() for s in self.shadow], "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError(f"EMA state holds {len(state['shadow'])} tensors, the model {len(self.shadow)}")
        with torch.no_grad():
            for shadow, saved in zip(self.shadow, state["shadow"]):
                shadow.copy_(saved)
        self.updates = int(state["updates"])
