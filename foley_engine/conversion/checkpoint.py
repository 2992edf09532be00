"""Reading a PyTorch checkpoint's state dict without running the code a pickle may name.

Lightning checkpoints pickle more than tensors (callbacks, loop state,
hyper-parameters), and a pickle can name any function to call on load.
`read_state_dict` lets through only what torch's own `weights_only` loader
trusts (tensors, storages, dtypes, plain containers) and replaces every other
object with an inert placeholder, so foreign checkpoints load without
executing anything and without the classes that wrote them.
"""

from __future__ import annotations

import pickle
import types
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch._weights_only_unpickler import _get_allowed_globals

from ..errors import ModelError

STATE_DICT_KEY = "state_dict"
DATA_PARALLEL_PREFIX = "module."


class _Inert:
    """Stands in for any object the checkpoint names that is not a tensor or a plain container.

    Built, called, filled and updated like the original would be, but holds and
    runs nothing (a pickle may also call what a named function returned).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "_Inert":
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> "_Inert":
        return _Inert()

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass


class _TensorUnpickler(pickle.Unpickler):
    _allowed = _get_allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        return self._allowed.get(f"{module}.{name}", _Inert)


def _load(file: BinaryIO, **kwargs: Any) -> Any:
    return _TensorUnpickler(file, **kwargs).load()


# What torch.load calls `pickle_module`: it subclasses `Unpickler` and, for the
# legacy format, calls `load` for the header records.
_TENSOR_PICKLE = types.SimpleNamespace(Unpickler=_TensorUnpickler, load=_load, __name__="foley_tensor_pickle")

# A text file, a truncated zip or a foreign pickle fail with many unrelated types.
_NOT_A_CHECKPOINT = (
    pickle.UnpicklingError,
    zipfile.BadZipFile,
    RuntimeError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
)


def load_checkpoint(path: Path, expected: str) -> Any:
    """The object `torch.save` wrote to `path`, with non-tensor objects made inert.

    Raises ModelError naming `expected` (what the file should have been) when
    the file is missing or is not a PyTorch checkpoint.
    """
    if not path.is_file():
        raise ModelError(f"{path}: no such file; expected {expected}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_TENSOR_PICKLE)
    except _NOT_A_CHECKPOINT as error:
        raise ModelError(f"{path}: not a PyTorch checkpoint ({error}); expected {expected}") from None


def read_state_dict(path: Path | str, expected: str) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: its `state_dict` entry, or the file itself if it is one.

    A DataParallel `module.` prefix is removed from every key. Raises
    ModelError naming `expected` if the file holds no such dictionary of tensors.
    """
    path = Path(path)
    loaded = load_checkpoint(path, expected)
    if isinstance(loaded, dict) and STATE_DICT_KEY in loaded:
        loaded = loaded[STATE_DICT_KEY]
    if not isinstance(loaded, dict) or not loaded:
        raise ModelError(f"{path}: holds no '{STATE_DICT_KEY}' dictionary of tensors; expected {expected}")
    strays = [key for key, value in loaded.items() if not (isinstance(key, str) and isinstance(value, torch.Tensor))]
    if strays:
        shown = ", ".join(repr(key) for key in strays[:5])
        raise ModelError(
            f"{path}: {len(strays)} entries are not named tensors ({shown}), so this is not a state dict; "
            f"expected {expected}"
        )
    return {key.removeprefix(DATA_PARALLEL_PREFIX): value for key, value in loaded.items()}
