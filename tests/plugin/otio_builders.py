"""Small hand-built OTIO timelines for the plugin tests."""

from __future__ import annotations

from collections.abc import Iterable

import opentimelineio as otio

RATE = 24.0


def rt(value: float, rate: float = RATE) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(value, rate)


def span(start: float, duration: float, rate: float = RATE) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start, rate), rt(duration, rate))


def marker(
    start: float,
    duration: float = 0,
    rate: float = RATE,
    name: str = "",
    **kwargs,
) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=span(start, duration, rate), **kwargs)


def clip(
    name: str,
    start: float,
    duration: float,
    rate: float = RATE,
    *,
    markers: Iterable[otio.schema.Marker] = (),
    effects: Iterable[otio.schema.Effect] = (),
    url: str | None = None,
    enabled: bool = True,
) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=url) if url else None
    item = otio.schema.Clip(
        name=name, media_reference=reference, source_range=span(start, duration, rate)
    )
    item.markers.extend(markers)
    item.effects.extend(effects)
    item.enabled = enabled
    return item


def gap(
    duration: float, rate: float = RATE, *, markers: Iterable[otio.schema.Marker] = ()
) -> otio.schema.Gap:
    item = otio.schema.Gap(source_range=span(0, duration, rate))
    item.markers.extend(markers)
    return item


def track(
    *items: otio.core.Composable,
    name: str = "V1",
    kind: str = otio.schema.TrackKind.Video,
    source_range: otio.opentime.TimeRange | None = None,
    markers: Iterable[otio.schema.Marker] = (),
    enabled: bool = True,
) -> otio.schema.Track:
    result = otio.schema.Track(name=name, kind=kind, source_range=source_range)
    result.extend(items)
    result.markers.extend(markers)
    result.enabled = enabled
    return result


def stack(
    *children: otio.core.Composable,
    name: str = "nested",
    source_range: otio.opentime.TimeRange | None = None,
    markers: Iterable[otio.schema.Marker] = (),
) -> otio.schema.Stack:
    result = otio.schema.Stack(name=name, source_range=source_range)
    result.extend(children)
    result.markers.extend(markers)
    return result


def timeline(
    *tracks: otio.schema.Track,
    markers: Iterable[otio.schema.Marker] = (),
    global_start: otio.opentime.RationalTime | None = None,
) -> otio.schema.Timeline:
    result = otio.schema.Timeline(name="test", global_start_time=global_start)
    result.tracks.extend(tracks)
    result.tracks.markers.extend(markers)
    return result
