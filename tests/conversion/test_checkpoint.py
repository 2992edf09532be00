import pickle
from pathlib import Path

import pytest
import torch

from foley_engine.conversion.checkpoint import read_state_dict
from foley_engine.errors import ModelError

EXPECTED = "a test checkpoint"


class WritesAFile:
    """Unpickling this with the standard pickle creates `path` (what a hostile checkpoint could do)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_reads_a_lightning_checkpoint_without_running_its_objects(tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    state = {"module.a.weight": torch.ones(2, 3), "module.a.bias": torch.zeros(2)}
    torch.save({"state_dict": state, "callbacks": {"cb": WritesAFile(marker)}, "epoch": 3}, tmp_path / "x.ckpt")
    with pytest.raises(Exception):
        # Sanity check of the test itself: the stock loader refuses this file.
        torch.load(tmp_path / "x.ckpt", weights_only=True)
    loaded = read_state_dict(tmp_path / "x.ckpt", EXPECTED)
    assert not marker.exists()
    assert set(loaded) == {"a.weight", "a.bias"}
    torch.testing.assert_close(loaded["a.weight"], torch.ones(2, 3))


def test_a_bare_state_dict_is_accepted(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(3)}, tmp_path / "bare.pt")
    assert read_state_dict(tmp_path / "bare.pt", EXPECTED)["w"].tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is a text file\n", "not a PyTorch checkpoint"),
        (b"PK\x03\x04 truncated zip", "not a PyTorch checkpoint"),
        (pickle.dumps({"answer": 42}), "not a PyTorch checkpoint"),
    ],
)
def test_files_that_are_no_checkpoint(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "file.ckpt"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as error:
        read_state_dict(path, EXPECTED)
    assert f"expected {EXPECTED}" in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize(
    "saved, message",
    [
        ({"answer": 42, "names": ["a"]}, "not named tensors"),
        ({"state_dict": {"w": torch.ones(1), "step": 3}}, "1 entries are not named tensors"),
        ({"state_dict": {}}, "holds no 'state_dict'"),
        ([torch.ones(1)], "holds no 'state_dict'"),
    ],
)
def test_checkpoints_without_a_state_dict(tmp_path: Path, saved: object, message: str) -> None:
    torch.save(saved, tmp_path / "x.ckpt")
    with pytest.raises(ModelError, match=message) as error:
        read_state_dict(tmp_path / "x.ckpt", EXPECTED)
    assert f"expected {EXPECTED}" in str(error.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"no such file; expected {EXPECTED}"):
        read_state_dict(tmp_path / "nope.ckpt", EXPECTED)
