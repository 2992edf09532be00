"""A tiny RGB raster for the procedural scenes: filled shapes with hard edges.

Coordinates are pixels as floats (x right, y down); a pixel is covered when
its centre lies inside the shape. Every shape only touches the pixels of its
bounding box, so a frame of a dozen shapes costs well under a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Colour = tuple[float, float, float]


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """The colour a fraction `t` (0..1) of the way from `a` to `b`."""
    t = min(max(t, 0.0), 1.0)
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


class Canvas:
    """A square float RGB picture that shapes are painted onto, then read out as uint8."""

    def __init__(self, size: int, background: Colour | np.ndarray) -> None:
        """A plain `background` colour, or a copy of a (size, size, 3) float32 picture to paint over."""
        self.size = size
        if isinstance(background, np.ndarray):
            self.pixels = background.copy()
        else:
            self.pixels = np.empty((size, size, 3), dtype=np.float32)
            self.pixels[:] = background

    def image(self) -> np.ndarray:
        """The picture as (size, size, 3) uint8."""
        return np.clip(np.rint(self.pixels), 0, 255).astype(np.uint8)

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
        """Pixel rows/columns whose centres may lie in [x0, x1] x [y0, y1], with their centre coordinates."""
        c0, c1 = max(0, math.floor(x0)), min(self.size, math.ceil(x1) + 1)
        r0, r1 = max(0, math.floor(y0)), min(self.size, math.ceil(y1) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        xs = np.arange(c0, c1, dtype=np.float32)[None, :] + 0.5
        ys = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
        return slice(r0, r1), slice(c0, c1), xs, ys

    def _paint(self, rows: slice, cols: slice, mask: np.ndarray, colour: Colour, alpha: float) -> None:
        region = self.pixels[rows, cols]
        if alpha >= 1.0:
            region[mask] = colour
        else:
            region[mask] = region[mask] * (1.0 - alpha) + np.asarray(colour, dtype=np.float32) * alpha

    def fill(self, colour: Colour, alpha: float = 1.0) -> None:
        """Cover the whole picture (alpha < 1 tints it)."""
        self.pixels[:] = self.pixels * (1.0 - alpha) + np.asarray(colour, dtype=np.float32) * alpha

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: Colour, alpha: float = 1.0) -> None:
        """An axis-aligned rectangle between corners (x0, y0) and (x1, y1)."""
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        box = self._box(x0, y0, x1, y1)
        if box is None:
            return
        rows, cols, xs, ys = box
        mask = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        self._paint(rows, cols, mask, colour, alpha)

    def ellipse(
        self, cx: float, cy: float, rx: float, ry: float, colour: Colour, alpha: float = 1.0, ring: float = 0.0
    ) -> None:
        """A filled ellipse, or with `ring` > 0 only a band that wide (in pixels) inside its edge."""
        if rx <= 0 or ry <= 0:
            return
        box = self._box(cx - rx, cy - ry, cx + rx, cy + ry)
        if box is None:
            return
        rows, cols, xs, ys = box
        distance = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2
        mask = distance <= 1.0
        if ring > 0:
            inner_x, inner_y = max(rx - ring, 1e-3), max(ry - ring, 1e-3)
            mask &= ((xs - cx) / inner_x) ** 2 + ((ys - cy) / inner_y) ** 2 > 1.0
        self._paint(rows, cols, mask, colour, alpha)

    def circle(self, cx: float, cy: float, r: float, colour: Colour, alpha: float = 1.0, ring: float = 0.0) -> None:
        """A filled circle (or a ring, see `ellipse`)."""
        self.ellipse(cx, cy, r, r, colour, alpha, ring)

    def line(
        self, x0: float, y0: float, x1: float, y1: float, width: float, colour: Colour, alpha: float = 1.0
    ) -> None:
        """A thick segment with round ends."""
        half = width / 2
        box = self._box(min(x0, x1) - half, min(y0, y1) - half, max(x0, x1) + half, max(y0, y1) + half)
        if box is None:
            return
        rows, cols, xs, ys = box
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.zeros_like(xs * ys) if length2 == 0 else np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0, 1)
        mask = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2 <= half * half
        self._paint(rows, cols, mask, colour, alpha)

    def polygon(self, points: Sequence[tuple[float, float]], colour: Colour, alpha: float = 1.0) -> None:
        """A filled polygon (even-odd rule), e.g. a shard or a spark."""
        px = [p[0] for p in points]
        py = [p[1] for p in points]
        box = self._box(min(px), min(py), max(px), max(py))
        if box is None:
            return
        rows, cols, xs, ys = box
        inside = np.zeros(np.broadcast_shapes(xs.shape, ys.shape), dtype=bool)
        for (xa, ya), (xb, yb) in zip(points, [*points[1:], points[0]]):
            if ya == yb:
                continue
            crosses = (ys >= min(ya, yb)) & (ys < max(ya, yb))
            x_cross = xa + (ys - ya) * (xb - xa) / (yb - ya)
            inside ^= crosses & (xs < x_cross)
        self._paint(rows, cols, inside, colour, alpha)


def downscale(image: np.ndarray, size: int) -> np.ndarray:
    """Area-average an (S, S, 3) uint8 picture down to (size, size, 3); S must be a multiple of size.

    This is what an area-interpolating decoder (PyAV's AREA) computes for an
    integer factor, so the stored 4 fps frames match a decode of the video.
    """
    factor = image.shape[0] // size
    if factor * size != image.shape[0] or image.shape[0] != image.shape[1]:
        raise ValueError(f"cannot area-scale a {image.shape[:2]} picture to {size}x{size}")
    if factor == 1:
        return image.copy()
    area = factor * factor
    sums = image.reshape(size, factor, size, factor, 3).sum(axis=(1, 3), dtype=np.uint32)
    return ((sums + area // 2) // area).astype(np.uint8)
