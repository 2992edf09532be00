from fractions import Fraction

import numpy as np
import pytest

from foley_engine.data.drawing import downscale
from foley_engine.data.scenes import ACTORS, APPROACH_S, Scene, VisualEvent, render_frame
from foley_engine.data.taxonomy import CLASSES


def test_every_class_has_an_actor() -> None:
    assert set(ACTORS) == set(CLASSES)


@pytest.mark.parametrize("label", CLASSES)
@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30000, 1001)])
def test_the_contact_shows_on_its_frame_and_not_before(label: str, fps: Fraction) -> None:
    contact = 20
    scene = Scene(fps, 40, 128, (30, 30, 40), (90, 90, 90), (VisualEvent(contact, label, 64.0, variant=3),))
    empty = Scene(fps, 40, 128, (30, 30, 40), (90, 90, 90), ())
    frames = [render_frame(scene, index).astype(np.int16) for index in range(40)]
    backdrop = render_frame(empty, 0).astype(np.int16)
    first_drawn = contact - int(APPROACH_S * fps)
    assert all(np.array_equal(frames[index], backdrop) for index in range(first_drawn - 1))
    # Contact cues (flash, squash, sparks, shards, ripples...) start on the contact frame.
    change_at_contact = np.abs(frames[contact] - frames[contact - 1]).sum()
    change_before = np.abs(frames[contact - 1] - frames[contact - 2]).sum()
    assert change_at_contact > 0 and change_at_contact >= 0.5 * change_before


def test_downscale_averages_blocks() -> None:
    image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    small = downscale(image, 2)
    assert small.shape == (2, 2, 3)
    assert small[0, 0, 0] == round(np.mean([image[0, 0, 0], image[0, 1, 0], image[1, 0, 0], image[1, 1, 0]]))
