"""Where every item of a timeline plays, in exact timeline seconds.

Timeline time starts at 0 at the top-level stack's first visible frame. The
timeline's `global_start_time` (its start timecode, e.g. 01:00:00:00) is NOT
added: cues, windows and the Foley track all count from the start of the
timeline, which is what an OTIO track's own coordinates do too.

Each item's own time (a clip's media time, a track's or stack's internal time)
maps to timeline time affinely: own = u_ref + speed * (t - t_ref). Walking down
from the top-level stack composes each level's offset (its position in its
parent and the start of its trimmed range) and its time effects, so retimed or
frozen nested stacks place their contents correctly, which OTIO's own
`transformed_time` does not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import opentimelineio as otio

from foley_plugin.retime import item_speed
from foley_plugin.timeutil import to_seconds

Interval = tuple[Fraction, Fraction]


@dataclass(frozen=True, eq=False)
class Placement:
    """One item of the timeline (stack, track, clip or gap) and where it plays.

    `range_start` is the item's start in its parent's time, `trim_start` the
    start of its trimmed range in its own time; `window` is the part of the
    timeline where it is visible (clipped by every ancestor's range), or None.
    `enabled` is False when the item or any ancestor is disabled.
    """

    item: otio.core.Item
    parent: Placement | None
    range_start: Fraction
    trim_start: Fraction
    u_ref: Fraction
    t_ref: Fraction
    speed: Fraction
    window: Interval | None
    enabled: bool

    def own_time(self, t: Fraction) -> Fraction:
        """Return the item's own time shown at timeline time `t`."""
        return self.u_ref + self.speed * (t - self.t_ref)

    def to_timeline(self, u: Fraction) -> Fraction:
        """Return the timeline time at which the item's own time `u` plays.

        A frozen item (speed 0) plays one instant for its whole length; there,
        `u` is placed by its offset from the trimmed start, as if unretimed.
        """
        if self.speed != 0:
            return self.t_ref + (u - self.u_ref) / self.speed
        return self.offset_to_timeline(u)

    def offset_to_timeline(self, u: Fraction) -> Fraction:
        """Return where `u` plays when measured from the trimmed start at speed 1.

        This is how OTIO's `transformed_time` (and adapters that use it, such as
        AAF's marker placement) moves times into an item: ignoring time effects.
        """
        offset = u - self.trim_start
        if self.parent is None:
            return offset
        return self.parent.to_timeline(self.range_start + offset)

    def ancestors(self) -> list[Placement]:
        """Return this placement and its parents, innermost first."""
        chain: list[Placement] = []
        node: Placement | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


def place_items(timeline: otio.schema.Timeline) -> list[Placement]:
    """Return a Placement for the top-level stack and every item below it, depth first.

    Transitions get no placement of their own. OTIO gives the items on either
    side their cut-point ranges; a clip's window reaches into an adjacent
    transition as well, since the picture of both clips shows there: the
    outgoing clip until the cut plus the transition's out_offset, the incoming
    one from the cut minus its in_offset.
    """
    stack = timeline.tracks
    trim_start = _composition_start(stack)
    duration = to_seconds(stack.trimmed_range().duration)
    speed = item_speed(stack)
    top = Placement(
        item=stack,
        parent=None,
        range_start=Fraction(0),
        trim_start=trim_start,
        u_ref=trim_start,
        t_ref=Fraction(0),
        speed=speed,
        window=(Fraction(0), duration) if duration > 0 else None,
        enabled=stack.enabled,
    )
    placements = [top]
    _place_children(top, placements)
    return placements


def top_level_track(placement: Placement) -> Placement | None:
    """Return the placement of the top-level track `placement` sits in (itself if it is one)."""
    chain = placement.ancestors()
    return chain[-2] if len(chain) >= 2 else None


def record_start(track: otio.core.Composition) -> Fraction:
    """Return the record timecode (seconds) of a top-level track's first frame, 0 if unknown.

    OTIO's cmx_3600 (EDL) reader starts a track's source_range at minus the
    first event's record timecode (-86400 for 01:00:00:00) and leaves it unset
    when that is 0.
    """
    if track.source_range is None:
        return Fraction(0)
    return max(Fraction(0), -to_seconds(track.source_range.start_time))


def intersect(a: Interval | None, b: Interval | None) -> Interval | None:
    """Return the overlap of two half-open intervals, or None when they do not overlap."""
    if a is None or b is None:
        return None
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def _place_children(parent: Placement, out: list[Placement]) -> None:
    composition = parent.item
    ranges = composition.range_of_all_children()
    children = list(composition)
    for index, child in enumerate(children):
        if not isinstance(child, otio.core.Item):
            continue
        child_range = ranges[child]
        placement = _place_child(parent, child, child_range, _transition_overlap(children, index))
        out.append(placement)
        if isinstance(child, otio.core.Composition):
            _place_children(placement, out)


def _transition_overlap(children: list[otio.core.Composable], index: int) -> Interval:
    """How far the clip at `index` shows before its cut-point start and after its end.

    A transition before the clip shows it from `in_offset` ahead of the cut;
    one after it shows it until `out_offset` past the cut.
    """
    if not isinstance(children[index], otio.schema.Clip):
        return Fraction(0), Fraction(0)
    before = children[index - 1] if index > 0 else None
    after = children[index + 1] if index + 1 < len(children) else None
    return (
        to_seconds(before.in_offset) if isinstance(before, otio.schema.Transition) else Fraction(0),
        to_seconds(after.out_offset) if isinstance(after, otio.schema.Transition) else Fraction(0),
    )


def _place_child(
    parent: Placement,
    child: otio.core.Item,
    child_range: otio.opentime.TimeRange,
    overlap: Interval,
) -> Placement:
    start = to_seconds(child_range.start_time)
    end = start + to_seconds(child_range.duration)
    if isinstance(child, otio.core.Composition):
        trim_start = _composition_start(child)
    else:
        trim_start = to_seconds(child.trimmed_range().start_time)
    speed = item_speed(child)
    return Placement(
        item=child,
        parent=parent,
        range_start=start,
        trim_start=trim_start,
        # own = trim_start + speed * (parent_time - start), parent_time from parent's map
        u_ref=trim_start + speed * (parent.u_ref - start),
        t_ref=parent.t_ref,
        speed=speed * parent.speed,
        window=intersect(_extent(parent, start - overlap[0], end + overlap[1]), parent.window),
        enabled=parent.enabled and child.enabled,
    )


def _extent(parent: Placement, start: Fraction, end: Fraction) -> Interval | None:
    """Return the timeline interval where the parent's time runs through [start, end)."""
    if parent.speed == 0:
        # A frozen parent shows one instant; the child covering it fills the parent.
        return parent.window if start <= parent.u_ref < end else None
    a, b = parent.to_timeline(start), parent.to_timeline(end)
    return (min(a, b), max(a, b))


def _composition_start(composition: otio.core.Composition) -> Fraction:
    """Return where a track's or stack's trimmed range starts in its own time.

    OTIO's cmx_3600 (EDL) reader stores minus the first record timecode as a
    track's source_range start (-86400 for 01:00:00:00). Taken literally that
    trims every clip away, since a composition's content starts at 0; a negative
    start is therefore read as 0.
    """
    if composition.source_range is None:
        return Fraction(0)
    return max(Fraction(0), to_seconds(composition.source_range.start_time))
