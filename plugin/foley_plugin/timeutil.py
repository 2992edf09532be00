"""Exact time arithmetic: OTIO's float rates and values as `fractions.Fraction` seconds."""

from __future__ import annotations

import math
from fractions import Fraction

import opentimelineio as otio

# Editors write NTSC rates as rounded floats (23.976, 29.97) or as the float of
# the exact ratio; either way the true rate is N*1000/1001.
_NTSC_RATES = tuple(Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120))
_NTSC_TOLERANCE = 0.005

# Frame values are floats; anything finer than a microframe is float noise.
_VALUE_DENOMINATOR = 1_000_000


def exact_rate(rate: float) -> Fraction:
    """Return the exact frame rate a float rate stands for.

    Rates within 0.005 of an NTSC rate become N*1000/1001 (23.976 → 24000/1001);
    others become the nearest fraction with a denominator of at most 1001
    (25.0 → 25, 12.5 → 25/2).
    """
    for ntsc in _NTSC_RATES:
        if abs(rate - float(ntsc)) < _NTSC_TOLERANCE:
            return ntsc
    return Fraction(rate).limit_denominator(1001)


def exact_value(value: float) -> Fraction:
    """Return a frame count as a Fraction; integral floats become exact integers."""
    if float(value).is_integer():
        return Fraction(int(value))
    return Fraction(value).limit_denominator(_VALUE_DENOMINATOR)


def to_seconds(rt: otio.opentime.RationalTime) -> Fraction:
    """Return `rt` as exact seconds.

    A zero value at a zero rate (Kdenlive writes empty ranges that way) is 0 s;
    any other non-positive rate is a ValueError.
    """
    value = exact_value(rt.value)
    if rt.rate <= 0:
        if value == 0:
            return Fraction(0)
        raise ValueError(f"time {rt.value} has no usable rate ({rt.rate})")
    return value / exact_rate(rt.rate)


def round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves upwards (Python's round() goes to even)."""
    return math.floor(value + Fraction(1, 2))


def to_frames(seconds: Fraction, rate: float) -> int:
    """Return the whole frame at `rate` nearest to `seconds`."""
    return round_half_up(seconds * exact_rate(rate))


def from_seconds(seconds: Fraction, rate: float) -> otio.opentime.RationalTime:
    """Return `seconds` as a RationalTime at `rate`, rounded to the nearest whole frame."""
    return otio.opentime.RationalTime(to_frames(seconds, rate), rate)
