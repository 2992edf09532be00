"""Taking a foreign state dict apart by name and shape, and saying exactly what did not fit."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..errors import ModelError

SHOWN = 5


def _shape(shape: Iterable[int]) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ")"


class StateDictMatcher:
    """Hands out a source state dict's tensors one expected (name, shape) at a time.

    Every tensor handed out or skipped is removed from the source, so what is
    left at `finish` is what nothing expected. `finish` raises one ModelError
    listing the missing names, the wrong shapes and the left-over names.
    """

    def __init__(self, state: dict[str, torch.Tensor], source: str, expected: str) -> None:
        self.remaining = dict(state)
        self.source = source
        self.expected = expected
        self.missing: list[str] = []
        self.mismatched: list[str] = []

    def take(self, name: str, shape: tuple[int, ...]) -> torch.Tensor | None:
        """The tensor `name` if it exists with `shape` (floating point made float32), else None (recorded)."""
        tensor = self.remaining.pop(name, None)
        if tensor is None:
            self.missing.append(name)
            return None
        if tuple(tensor.shape) != tuple(shape):
            self.mismatched.append(f"{name} is {_shape(tensor.shape)}, expected {_shape(shape)}")
            return None
        tensor = tensor.to(torch.float32) if tensor.is_floating_point() else tensor
        # A view into a larger storage (shared with other tensors) becomes a copy of its
        # own, which safetensors can save; whole tensors are kept, not copied, to spare memory.
        whole = tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()
        return tensor.contiguous() if whole else tensor.clone(memory_format=torch.contiguous_format)

    def skip(self, names: Iterable[str]) -> None:
        """Mark `names` as recognised but not needed."""
        for name in names:
            self.remaining.pop(name, None)

    def names_under(self, prefix: str) -> list[str]:
        """The remaining names that start with `prefix`."""
        return [name for name in self.remaining if name.startswith(prefix)]

    def fail(self, problem: str) -> ModelError:
        """A ModelError about this source that names what was expected."""
        return ModelError(f"{self.source}: {problem}; expected {self.expected}")

    def finish(self) -> None:
        """Raise a ModelError if any expected tensor was missing or misshapen, or any tensor was left over."""
        problems = []
        for label, names in (
            ("missing", self.missing),
            ("with the wrong shape", self.mismatched),
            ("unexpected", sorted(self.remaining)),
        ):
            if names:
                shown = "; ".join(names[:SHOWN]) + ("; …" if len(names) > SHOWN else "")
                problems.append(f"{len(names)} tensors {label} ({shown})")
        if problems:
            raise self.fail(", ".join(problems))


def take_module(
    matcher: StateDictMatcher,
    target: nn.Module,
    original_name: dict[str, str],
    reshaped: frozenset[str] = frozenset(),
) -> dict[str, torch.Tensor]:
    """`target`'s state dict filled from the source: parameter `p` comes from `original_name[p]`.

    Parameters listed in `reshaped` are stored by the original as 1×1 convolution
    weights (C_out, C_in, 1, 1) and become `target`'s Linear weights.
    """
    converted = {}
    for name, expected in target.state_dict().items():
        shape = tuple(expected.shape) + ((1, 1) if name in reshaped else ())
        tensor = matcher.take(original_name[name], shape)
        if tensor is not None:
            converted[name] = tensor.reshape(expected.shape)
    return converted
