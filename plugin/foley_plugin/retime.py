"""Playback speed from OTIO time effects, which `transformed_time` ignores."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio

# Speeds come from decimal or fps-ratio floats (1.9833… = 119/60); a denominator
# of up to a million recovers the ratio and drops the float noise.
_SPEED_DENOMINATOR = 1_000_000


def item_speed(item: otio.core.Item) -> Fraction:
    """Return how many seconds of its own time `item` plays per second on its parent.

    Every `LinearTimeWarp` on the item multiplies in its `time_scalar` (negative
    plays backwards); a `FreezeFrame` makes it 0. Other effects, including plain
    `TimeEffect`s, whose mapping OTIO does not define, leave the speed alone.
    """
    speed = Fraction(1)
    for effect in item.effects:
        if isinstance(effect, otio.schema.FreezeFrame):
            speed = Fraction(0)
        elif isinstance(effect, otio.schema.LinearTimeWarp):
            speed *= Fraction(effect.time_scalar).limit_denominator(_SPEED_DENOMINATOR)
    return speed

