"""Train/validation/test assignment by recording, per class, deterministic from the seed.

Every one-shot cut from a recording lands in that recording's split, so no
test sound (nor a slice of one) is ever heard in a training clip.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping

SPLITS: tuple[str, ...] = ("train", "val", "test")


def split_counts(total: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """How many of `total` items go to train, val and test.

    Validation and test get their rounded share; train takes the rest, so the
    counts always add up to `total`.
    """
    val = round(total * fractions[1])
    test = round(total * fractions[2])
    return total - val - test, val, test


def assign_splits(labels: Mapping[str, str], seed: int, fractions: tuple[float, float, float]) -> dict[str, str]:
    """{recording id: split} from {recording id: class}.

    Within each class the recordings are shuffled (seeded by the seed and the
    class, so adding a class leaves the others' assignment alone) and cut by
    `fractions`. A class with fewer than three recordings cannot give every
    split one and goes to train whole.
    """
    by_class: dict[str, list[str]] = defaultdict(list)
    for recording, label in labels.items():
        by_class[label].append(recording)
    assignment: dict[str, str] = {}
    for label, recordings in by_class.items():
        ordered = sorted(recordings)
        random.Random(f"{seed}:{label}").shuffle(ordered)
        if len(ordered) < 3:
            counts = (len(ordered), 0, 0)
        else:
            _, val, test = split_counts(len(ordered), fractions)
            val, test = max(val, 1), max(test, 1)
            counts = (len(ordered) - val - test, val, test)
        position = 0
        for split, count in zip(SPLITS, counts):
            for recording in ordered[position : position + count]:
                assignment[recording] = split
            position += count
    return assignment
