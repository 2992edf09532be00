"""The manifest of a run: where each generated WAV goes on the timeline, as plain JSON.

`foley generate --manifest FILE` writes it beside the output timeline for
callers that cannot read OpenTimelineIO, such as the DaVinci Resolve script,
which runs on Resolve's own Python. It describes the Foley tracks of the
written timeline:

    {"version": 1, "timeline": "/abs/out.foley.otio", "rate": 24.0,
     "clips": [{"name": "shot 1", "wav": "/abs/out.foley-media/01-shot_1.wav",
                "record_frame": 36, "duration_frames": 48, "lane": 1}, …]}

`record_frame` counts frames of the timeline's rate from the timeline's first
frame (its start timecode is not added); `lane` is 1 for the track "Foley",
2 for "Foley 2" (clips that overlap on stacked video tracks), and so on.
"""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio

from .clips import timeline_rate
from .files import write_atomically
from .foley_track import is_foley_track
from .media import url_to_path

MANIFEST_VERSION = 1


def foley_manifest(timeline: otio.schema.Timeline, output_path: Path) -> dict:
    """The manifest of `timeline`'s Foley tracks, as written to `output_path`."""
    output_path = Path(output_path)
    clips = []
    lanes = [track for track in timeline.tracks if is_foley_track(track)]
    for lane, track in enumerate(lanes, start=1):
        for clip in track.find_clips(shallow_search=True):
            placed = clip.range_in_parent()
            clips.append(
                {
                    "name": clip.name,
                    "wav": str(_wav_path(clip, output_path.parent)),
                    "record_frame": round(placed.start_time.value),
                    "duration_frames": round(placed.duration.value),
                    "lane": lane,
                }
            )
    clips.sort(key=lambda entry: (entry["record_frame"], entry["lane"]))
    return {
        "version": MANIFEST_VERSION,
        "timeline": str(output_path.resolve()),
        "rate": timeline_rate(timeline),
        "clips": clips,
    }


def write_manifest(path: Path, timeline: otio.schema.Timeline, output_path: Path) -> None:
    """Write the manifest of `timeline` (written to `output_path`) to `path`, atomically."""
    text = json.dumps(foley_manifest(timeline, output_path), indent=2, ensure_ascii=False)
    write_atomically(Path(path), (text + "\n").encode("utf-8"))


def _wav_path(clip: otio.schema.Clip, folder: Path) -> Path:
    """The WAV a Foley clip plays: its URL is relative to the timeline's folder, or a file:// URL."""
    return url_to_path(clip.media_reference.target_url, folder).resolve()
