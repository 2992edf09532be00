"""Procedural scenes in which a visible contact happens exactly on each event's frame.

Every class has an actor: a box that drops onto the floor (impact), a foot
that plants (footstep), a door that slams into its frame, a pane that
shatters, a bomb that flashes, a bar that swings past a post (whoosh), a
shovel that bites the ground (dig), a hammer on an anvil (metal), a drop into
a pool (water), a stick on a drum head, a finger on a button (click) and a
muzzle flash (gunshot). An actor approaches at a constant speed, so the frame
before contact always shows a gap of several pixels, and its contact cue
(squash, dust, sparks, shards, flash, ripples) starts on the contact frame
itself, never earlier.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .drawing import Canvas, Colour, mix

APPROACH_S = 0.3
AFTER_S = 0.35
SPEED_PX_S = 260.0  # at 128 px; one frame before contact the gap is 8-11 px
FLOOR = 0.8  # floor line, as a fraction of the height

CLASS_COLOURS: dict[str, Colour] = {
    "footstep": (205, 140, 90),
    "impact": (230, 90, 60),
    "door": (160, 100, 50),
    "glass": (170, 230, 250),
    "explosion": (255, 190, 60),
    "whoosh": (215, 215, 235),
    "dig": (150, 150, 160),
    "metal": (110, 115, 130),
    "water": (70, 140, 235),
    "drum": (210, 60, 150),
    "click": (90, 220, 120),
    "gunshot": (165, 165, 180),
}
_WHITE: Colour = (255, 255, 255)
_WOOD: Colour = (140, 95, 55)
_DUST: Colour = (190, 180, 160)
_SPARK: Colour = (255, 230, 120)


@dataclass(frozen=True)
class VisualEvent:
    """One contact: on video frame `frame`, an actor of class `label` at horizontal position `x` (pixels)."""

    frame: int
    label: str
    x: float
    scale: float = 1.0
    facing: int = 1  # +1 or -1: the side the actor comes from or points to
    variant: int = 0  # picks the scatter of shards, sparks and particles


@dataclass(frozen=True)
class Scene:
    """A clip's picture: fixed backdrop and the contacts to show."""

    fps: Fraction
    n_frames: int
    size: int
    background: Colour
    floor: Colour
    events: tuple[VisualEvent, ...]


@dataclass(frozen=True)
class _Frame:
    """What an actor needs to draw itself at time `u` (seconds from its contact; 0 = contact frame)."""

    canvas: Canvas
    u: float
    event: VisualEvent
    floor: float
    unit: float  # pixels per 128th of the picture

    @property
    def gap(self) -> float:
        """Distance still to travel before contact (0 from the contact frame on)."""
        return max(0.0, -self.u) * SPEED_PX_S * self.unit

    def fade(self, duration: float = AFTER_S) -> float:
        """1 at contact falling to 0 after `duration`; 0 before contact."""
        return 0.0 if self.u < 0 else max(0.0, 1.0 - self.u / duration)

    def scatter(self, index: int) -> float:
        """A fixed pseudo-random number in [0, 1) for particle `index` of this event."""
        return math.modf(math.sin((self.event.variant + 1) * 12.9898 + index * 78.233) * 43758.5453)[0] % 1.0


def _impact(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    w = 16 * g * e.scale
    width, height = (w * 1.3, w * 0.7) if 0 <= f.u < 0.07 else (w, w)
    bottom = f.floor - f.gap
    c.rect(e.x - width / 2, bottom - height, e.x + width / 2, bottom, CLASS_COLOURS["impact"])
    if f.u >= 0:
        for side in (-1, 1):
            radius = 3 * g * (1 + 6 * f.u)
            c.circle(e.x + side * (width / 2 + 40 * g * f.u), f.floor - radius * 0.6, radius, _DUST, 0.8 * f.fade())
        if f.u < 0.05:
            c.rect(e.x - w, f.floor, e.x + w, f.floor + 2 * g, _WHITE)


def _footstep(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    lift = f.gap if f.u < 0 else max(0.0, f.u - 0.18) * SPEED_PX_S * g
    rx, ry = 12 * g * e.scale, 5 * g * e.scale
    cy = f.floor - ry - lift
    ankle = e.x - e.facing * 5 * g
    colour = CLASS_COLOURS["footstep"]
    c.rect(ankle - 4 * g, cy - 60 * g, ankle + 4 * g, cy, mix(colour, (40, 40, 60), 0.5))
    c.ellipse(e.x, cy, rx, ry, colour)
    c.circle(e.x + e.facing * rx * 0.8, cy + ry * 0.2, ry * 0.9, colour)
    if f.u >= 0:
        for side in (-1, 1):
            radius = 2 * g * (1 + 5 * f.u)
            c.circle(e.x + side * (rx + 25 * g * f.u), f.floor - radius * 0.5, radius, _DUST, 0.7 * f.fade(0.2))


def _door(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    shake = 1.5 * g * math.sin(f.u * 90) * math.exp(-f.u * 15) if f.u >= 0 else 0.0
    half = 16 * g * e.scale
    left, right = e.x - half + shake, e.x + half + shake
    top = f.floor - 56 * g * e.scale
    jamb = _WHITE if 0 <= f.u < 0.06 else (50, 40, 35)
    c.rect(left - 3 * g, top - 3 * g, right + 3 * g, f.floor, jamb)
    c.rect(left, top, right, f.floor, (15, 15, 20))
    edge = max(left + 2 * g, right - f.gap)
    opened = 1.0 - (edge - left) / (right - left)
    colour = mix(CLASS_COLOURS["door"], (20, 15, 10), 0.5 * opened)
    c.polygon([(left, top), (edge, top - 8 * g * opened), (edge, f.floor + 3 * g * opened), (left, f.floor)], colour)
    c.circle(edge - 4 * g, (top + f.floor) / 2, 1.8 * g, (230, 200, 80))


def _glass(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    colour = CLASS_COLOURS["glass"]
    if f.u < 0:
        w, h = 12 * g * e.scale, 20 * g * e.scale
        bottom = f.floor - f.gap
        c.rect(e.x - w / 2, bottom - h, e.x + w / 2, bottom, colour, 0.85)
        c.line(e.x - w / 4, bottom - h * 0.8, e.x + w / 4, bottom - h * 0.3, 1.5 * g, _WHITE)
        return
    if f.u < 0.05:
        c.circle(e.x, f.floor - 3 * g, 7 * g, _WHITE)
    for index in range(7):
        angle = math.pi * (index + 0.2 + 0.6 * f.scatter(index)) / 7
        speed = 70 * g * (0.6 + 0.6 * f.scatter(index + 10))
        cx = e.x + math.cos(angle) * speed * f.u
        cy = min(f.floor - 4 * g - math.sin(angle) * speed * f.u + 300 * g * f.u**2, f.floor - 2 * g)
        spin = f.u * 12 + index
        size = 4 * g * e.scale
        points = [(cx + size * math.cos(spin + k * 2.1), cy + size * math.sin(spin + k * 2.1)) for k in range(3)]
        c.polygon(points, colour, f.fade())


def _explosion(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    r = 7 * g * e.scale
    if f.u < 0:
        c.circle(e.x, f.floor - r, r, (40, 40, 45))
        fuse = 2 * g + 14 * g * (-f.u / APPROACH_S)
        tip = (e.x + e.facing * fuse * 0.6, f.floor - 2 * r - fuse * 0.8)
        c.line(e.x, f.floor - 2 * r, tip[0], tip[1], 1.5 * g, (200, 190, 170))
        c.circle(tip[0], tip[1], 2 * g * (1.2 + 0.4 * math.sin(f.u * 70)), _SPARK)
        return
    if f.u < 0.045:
        c.fill((255, 240, 200), 0.6 * (1 - f.u / 0.045))
    radius = min(6 * g + 110 * g * f.u, 45 * g * e.scale)
    centre = f.floor - radius * 0.5
    c.circle(e.x, centre, radius, CLASS_COLOURS["explosion"], f.fade())
    c.circle(e.x, centre, radius * 0.6, (255, 235, 130), f.fade())
    c.circle(e.x, centre, radius * 0.3, _WHITE, f.fade())


def _whoosh(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    length = 70 * g * e.scale
    pivot_y = max(6 * g, f.floor - length - 10 * g)
    post_top = pivot_y + length + 2 * g
    lit = 0 <= f.u < 0.1
    c.rect(e.x - 2 * g, post_top, e.x + 2 * g, f.floor, _WHITE if lit else (120, 110, 100))
    for ghost in (3, 2, 1, 0):
        angle = e.facing * 7.0 * (f.u - 0.015 * ghost)
        alpha = 1.0 if ghost == 0 else 0.3 / ghost
        tip = (e.x + length * math.sin(angle), pivot_y + length * math.cos(angle))
        c.line(e.x, pivot_y, tip[0], tip[1], 4 * g, CLASS_COLOURS["whoosh"], alpha)
    c.circle(e.x, pivot_y, 3 * g, (90, 90, 100))


def _dig(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    travel = f.gap if f.u < 0 else max(0.0, f.u - 0.15) * SPEED_PX_S * g
    tip_x = e.x + e.facing * travel * 0.57
    tip_y = f.floor + 4 * g - travel * 0.82
    handle = (tip_x + e.facing * 18 * g, tip_y - 48 * g)
    c.line(tip_x, tip_y - 8 * g, handle[0], handle[1], 2.5 * g, _WOOD)
    blade = [
        (tip_x - 5 * g, tip_y - 10 * g),
        (tip_x + 5 * g, tip_y - 10 * g),
        (tip_x + 3 * g, tip_y),
        (tip_x - 3 * g, tip_y),
    ]
    c.polygon(blade, CLASS_COLOURS["dig"])
    if f.u >= 0:
        for index in range(6):
            vx = e.facing * (20 + 60 * f.scatter(index)) * g * (1 if index % 2 else -0.5)
            vy = (60 + 60 * f.scatter(index + 6)) * g
            y = f.floor - vy * f.u + 300 * g * f.u**2
            if y <= f.floor:
                c.circle(e.x + vx * f.u, y, 2 * g, (110, 75, 40), f.fade())


def _metal(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    top = f.floor - 16 * g
    c.rect(e.x - 10 * g, f.floor - 10 * g, e.x + 10 * g, f.floor, (70, 72, 80))
    c.rect(e.x - 16 * g, top, e.x + 16 * g, f.floor - 10 * g, (95, 98, 108))
    lift = f.gap if f.u < 0 else max(0.0, f.u - 0.12) * SPEED_PX_S * g
    head_x, head_bottom = e.x - e.facing * 4 * g, top - lift
    c.line(head_x, head_bottom - 4 * g, head_x + e.facing * 28 * g, head_bottom - 20 * g, 3 * g, _WOOD)
    c.rect(head_x - 6 * g, head_bottom - 8 * g, head_x + 6 * g, head_bottom, CLASS_COLOURS["metal"])
    if 0 <= f.u < 0.15:
        for index in range(8):
            angle = math.pi * (1.05 + 0.9 * (index + f.scatter(index)) / 8)
            reach = 4 * g + 60 * g * f.u
            start = (head_x + math.cos(angle) * reach * 0.4, top + math.sin(angle) * reach * 0.4)
            end = (head_x + math.cos(angle) * reach, top + math.sin(angle) * reach)
            c.line(start[0], start[1], end[0], end[1], 1.2 * g, _SPARK, f.fade(0.15))


def _water(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    colour = CLASS_COLOURS["water"]
    c.rect(e.x - 30 * g, f.floor, e.x + 30 * g, f.floor + 12 * g, mix(colour, (10, 20, 40), 0.4))
    r = 3.5 * g * e.scale
    if f.u < 0:
        c.circle(e.x, f.floor - r - f.gap, r, mix(colour, _WHITE, 0.5))
        return
    for ring in range(2):
        rx = 4 * g + 90 * g * max(0.0, f.u - 0.06 * ring)
        c.ellipse(e.x, f.floor + 2 * g, rx, rx * 0.3, mix(colour, _WHITE, 0.6), f.fade(), ring=1.5 * g)
    for index in range(4):
        vx = (index - 1.5) * 25 * g
        y = f.floor - 70 * g * f.u + 400 * g * f.u**2
        if y <= f.floor:
            c.circle(e.x + vx * f.u, y, 1.5 * g, mix(colour, _WHITE, 0.5))


def _drum(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    colour = CLASS_COLOURS["drum"]
    head_y = f.floor - 20 * g
    c.rect(e.x - 15 * g, head_y, e.x + 15 * g, f.floor, mix(colour, (30, 10, 30), 0.4))
    flash = f.fade(0.1)
    c.ellipse(e.x, head_y, 15 * g, 4 * g, mix((235, 225, 210), _WHITE, flash))
    lift = f.gap if f.u < 0 else max(0.0, f.u - 0.08) * SPEED_PX_S * g
    tip = (e.x + e.facing * 3 * g, head_y - 2.5 * g - lift)
    c.line(tip[0], tip[1], tip[0] + e.facing * 26 * g, tip[1] - 18 * g, 2.5 * g, _WOOD)
    c.circle(tip[0], tip[1], 2.5 * g, (240, 230, 200))
    if f.u >= 0:
        c.ellipse(e.x, head_y, 15 * g + 20 * g * f.u, 4 * g + 6 * g * f.u, colour, f.fade(0.2), ring=1.2 * g)


def _click(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    pressed = 0 <= f.u < 0.15
    press = 2.5 * g if pressed else 0.0
    button_top = f.floor - 14 * g + press
    c.rect(e.x - 14 * g, f.floor - 8 * g, e.x + 14 * g, f.floor, (60, 62, 70))
    c.rect(e.x - 6 * g, button_top, e.x + 6 * g, f.floor - 8 * g, CLASS_COLOURS["click"])
    lift = f.gap if f.u < 0 else max(0.0, f.u - 0.15) * SPEED_PX_S * g
    finger_tip = button_top - 3 * g - lift
    c.line(e.x, finger_tip - 30 * g, e.x, finger_tip, 6 * g, (230, 180, 150))
    c.circle(e.x + 10 * g, f.floor - 4 * g, 2 * g, (120, 255, 140) if 0 <= f.u < 0.25 else (30, 60, 35))


def _gunshot(f: _Frame) -> None:
    c, e, g = f.canvas, f.event, f.unit
    recoil = 3 * g * f.fade(0.1)
    side = e.facing
    base = e.x - side * recoil
    muzzle = base + side * 10 * g
    c.rect(base - side * 14 * g, f.floor - 32 * g, muzzle, f.floor - 27 * g, CLASS_COLOURS["gunshot"])
    c.rect(base - side * 12 * g, f.floor - 27 * g, base - side * 6 * g, f.floor - 16 * g, CLASS_COLOURS["gunshot"])
    if 0 <= f.u < 0.06:
        if f.u < 0.04:
            c.fill((255, 240, 200), 0.25)
        cx, cy = muzzle + side * 7 * g, f.floor - 29.5 * g
        points = [
            (cx + radius * math.cos(k * math.pi / 5), cy + radius * math.sin(k * math.pi / 5))
            for k, radius in enumerate([9 * g, 3.5 * g] * 5)
        ]
        c.polygon(points, _SPARK)


ACTORS: dict[str, Callable[[_Frame], None]] = {
    "footstep": _footstep,
    "impact": _impact,
    "door": _door,
    "glass": _glass,
    "explosion": _explosion,
    "whoosh": _whoosh,
    "dig": _dig,
    "metal": _metal,
    "water": _water,
    "drum": _drum,
    "click": _click,
    "gunshot": _gunshot,
}


@functools.lru_cache(maxsize=4)
def _backdrop(size: int, background: Colour, floor: Colour) -> np.ndarray:
    # Drawn once per clip and copied for each frame.
    canvas = Canvas(size, background)
    canvas.rect(0, FLOOR * size, size, size, floor)
    return canvas.pixels


def render_frame(scene: Scene, index: int) -> np.ndarray:
    """Video frame `index` of the scene as (size, size, 3) uint8 RGB."""
    canvas = Canvas(scene.size, _backdrop(scene.size, scene.background, scene.floor))
    unit = scene.size / 128
    floor = FLOOR * scene.size
    seconds_per_frame = 1 / float(scene.fps)
    for event in scene.events:
        # Exactly 0.0 on the contact frame, whatever the rate.
        u = (index - event.frame) * seconds_per_frame
        if -APPROACH_S <= u <= AFTER_S:
            ACTORS[event.label](_Frame(canvas, u, event, floor, unit))
    return canvas.image()
