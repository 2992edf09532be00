"""Exact time conversion: NTSC rates, integral values, rounding to frames."""

from fractions import Fraction

import opentimelineio as otio
import pytest

from foley_plugin.timeutil import exact_rate, from_seconds, to_seconds


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (23.976, Fraction(24000, 1001)),
        (24000 / 1001, Fraction(24000, 1001)),
        (23.98, Fraction(24000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (30000 / 1001, Fraction(30000, 1001)),
        (47.952, Fraction(48000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (24.0, Fraction(24)),
        (25.0, Fraction(25)),
        (30.0, Fraction(30)),
        (12.5, Fraction(25, 2)),
    ],
)
def test_exact_rate(rate, expected):
    assert exact_rate(rate) == expected


def test_integral_rates_are_integers():
    assert exact_rate(25.0).denominator == 1


def test_to_seconds_is_exact_at_ntsc_rates():
    assert to_seconds(otio.opentime.RationalTime(24, 23.976)) == Fraction(1001, 1000)
    assert to_seconds(otio.opentime.RationalTime(30, 30000 / 1001)) == Fraction(1001, 1000)
    assert to_seconds(otio.opentime.RationalTime(86400, 24)) == 3600


def test_to_seconds_of_a_fractional_value():
    assert to_seconds(otio.opentime.RationalTime(0.5, 24)) == Fraction(1, 48)
    assert to_seconds(otio.opentime.RationalTime(0.1, 1)) == Fraction(1, 10)


def test_to_seconds_of_an_empty_range_at_rate_zero():
    # Kdenlive writes empty available ranges as RationalTime(0, 0).
    assert to_seconds(otio.opentime.RationalTime(0, 0)) == 0
    with pytest.raises(ValueError):
        to_seconds(otio.opentime.RationalTime(5, 0))


def test_from_seconds_rounds_to_the_nearest_frame():
    ntsc = 24000 / 1001
    assert from_seconds(Fraction(1001, 1000), ntsc).value == 24
    assert from_seconds(Fraction(1001, 1000), ntsc).rate == ntsc
    assert from_seconds(Fraction(1, 48), 24).value == 1  # half a frame rounds up
    assert from_seconds(Fraction(1, 49), 24).value == 0
    assert from_seconds(Fraction(3, 2), 25).value == 38  # 37.5 → 38
