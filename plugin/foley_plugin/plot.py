"""Pictures of the Foley: one PNG per Foley clip, its log-mel spectrogram with the markers drawn in.

The picture shows the part of the WAV that plays on the timeline, against
timeline time, so the marker lines and the sounds can be compared by eye.
Markers are the cues and event spans of the video clips under the Foley clip,
as `foley generate` collects them (`clips.select_clips`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
from matplotlib.figure import Figure
from tqdm import tqdm

from .clips import ClipWindow, select_clips, timeline_rate
from .decoding import DecodingError, read_sound
from .files import make_folder, write_atomically
from .foley_track import is_foley_track
from .playback import PlayedClip, played_clips
from .timeutil import exact_rate, to_seconds

SAMPLE_RATE = 48_000
N_FFT = 2048
N_MELS = 96
HOP_S = 0.005  # 5 ms columns: a frame at 60 fps is 3 of them


@dataclass(frozen=True)
class Marker:
    """A cue (`end` is None) or an event span on the timeline, in timeline seconds."""

    start: Fraction
    end: Fraction | None
    label: str


@dataclass(frozen=True)
class FoleyClipView:
    """What one Foley clip's picture shows: the WAV from `file_start`, played over [start, end)."""

    name: str
    wav: Path
    start: Fraction
    end: Fraction
    file_start: Fraction
    markers: tuple[Marker, ...]
    timecode: str


def default_plot_folder(timeline_path: Path) -> Path:
    """Where the pictures of `timeline_path` go by default: `<stem>-plots/` beside it."""
    timeline_path = Path(timeline_path)
    return timeline_path.with_name(f"{timeline_path.stem}-plots")


def foley_clip_views(
    timeline: otio.schema.Timeline,
    timeline_path: Path | None,
    media_roots: Sequence[Path] = (),
) -> tuple[list[FoleyClipView], list[str]]:
    """A view per playable clip of the Foley tracks, in timeline order, and why others have none."""
    rate = exact_rate(timeline_rate(timeline))
    foley = [
        clip
        for clip in played_clips(timeline, timeline_path, media_roots)
        if is_foley_track(timeline.tracks[clip.track_index])
    ]
    windows = select_clips(timeline, media_roots=media_roots, timeline_path=timeline_path)
    views = [
        FoleyClipView(
            name=clip.name,
            wav=clip.path,
            start=clip.start / rate,
            end=clip.end / rate,
            file_start=clip.file_start,
            markers=_markers_over(windows, clip.start / rate, clip.end / rate),
            timecode=_timecode_range(timeline, clip),
        )
        for clip in foley
        if clip.path is not None
    ]
    views.sort(key=lambda v: (v.start, v.name))
    return views, [clip.problem for clip in foley if clip.problem is not None]


def write_plots(views: Sequence[FoleyClipView], folder: Path, warn: Callable[[str], None] = print) -> list[Path]:
    """One PNG per view in `folder` (created if missing, its parent must exist); the paths written.

    A WAV that cannot be decoded gets no picture, and `warn` says so.
    """
    make_folder(Path(folder))
    written = []
    for number, view in enumerate(tqdm(views, desc="plots", unit="clip"), start=1):
        try:
            picture = plot_png(view)
        except DecodingError as error:
            warn(f"clip {view.name!r}: {error}; it gets no picture")
            continue
        path = Path(folder) / f"{number:02d}-{_safe_name(view.name)}.png"
        write_atomically(path, picture)
        written.append(path)
    return written


def plot_png(view: FoleyClipView) -> bytes:
    """The PNG of one Foley clip: log-mel spectrogram, dashed lines at cues, shaded event spans.

    Raises DecodingError when its WAV cannot be decoded.
    """
    samples = read_sound(view.wav, SAMPLE_RATE, view.file_start + view.end - view.start)
    first = round(view.file_start * SAMPLE_RATE)
    mono = np.zeros(round((view.end - view.start) * SAMPLE_RATE), np.float32)
    part = samples[first : first + len(mono)]
    mono[: len(part)] = part
    image = _log_mel(mono, SAMPLE_RATE)

    figure = Figure(figsize=(10, 3.2), dpi=100, layout="constrained")
    ax = figure.subplots()
    extent = (float(view.start), float(view.end), 0, N_MELS)
    ax.imshow(image, origin="lower", aspect="auto", cmap="magma", extent=extent, vmin=image.max() - 80, vmax=image.max())
    for marker in view.markers:
        if marker.end is None:
            ax.axvline(float(marker.start), color="cyan", linestyle="--", linewidth=1.0)
        else:
            ax.axvspan(float(marker.start), float(marker.end), color="deepskyblue", alpha=0.2)
        ax.text(float(marker.start), N_MELS - 2, f" {marker.label}", color="white", fontsize=7, va="top")
    ax.set_xlim(extent[0], extent[1])
    ax.set_title(
        f"{view.name}   {view.timecode}   ({float(view.start):.3f}–{float(view.end):.3f} s)", fontsize=9, loc="left"
    )
    ax.set_ylabel("mel band")
    ax.set_xlabel("timeline time (s)   dashed: cue markers   shaded: event spans")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _log_mel(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Log-mel power (dB) of `samples`, one column per HOP_S."""
    hop = max(1, round(HOP_S * sample_rate))
    padded = np.pad(samples, (N_FFT // 2, N_FFT // 2))  # centred columns, as librosa draws them
    starts = np.arange(0, len(padded) - N_FFT + 1, hop)
    window = np.hanning(N_FFT).astype(np.float32)
    frames = np.stack([padded[s : s + N_FFT] * window for s in starts])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = _mel_filters(sample_rate) @ power.T
    return 10 * np.log10(np.maximum(mel, 1e-10))


def _mel_filters(sample_rate: int) -> np.ndarray:
    """Triangular filters on the HTK mel scale, (N_MELS, N_FFT // 2 + 1), from 0 Hz to Nyquist.

    Written out rather than taken from librosa, whose import costs the command seconds.
    """
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + hz / 700)

    edges_mel = np.linspace(0, to_mel(np.array(sample_rate / 2)), N_MELS + 2)
    edges = 700 * (10 ** (edges_mel / 2595) - 1)
    bins = np.fft.rfftfreq(N_FFT, 1 / sample_rate)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return np.maximum(0, np.minimum(rising, falling))


def _markers_over(windows: list[ClipWindow], start: Fraction, end: Fraction) -> tuple[Marker, ...]:
    """The cues and spans of the video clips under [start, end), in timeline seconds, once each."""
    found: set[Marker] = set()
    for window in windows:
        origin = to_seconds(window.timeline_start)
        for cue in window.cues:
            if start <= origin + cue.time < end:
                found.add(Marker(origin + cue.time, None, cue.label))
        for span in window.spans:
            first, last = max(start, origin + span.start), min(end, origin + span.end)
            if first < last:
                found.add(Marker(first, last, span.label))
    return tuple(sorted(found, key=lambda m: (m.start, m.label)))


def _timecode_range(timeline: otio.schema.Timeline, clip: PlayedClip) -> str:
    """The clip's record in and out as the editor shows them, from the timeline's start timecode."""
    rate = timeline_rate(timeline)
    origin = timeline.global_start_time
    offset = round(origin.rescaled_to(rate).value) if origin is not None else 0
    first, last = (otio.opentime.to_timecode(otio.opentime.RationalTime(offset + f, rate), rate) for f in (clip.start, clip.end))
    return f"{first}–{last}"


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")
    return cleaned[:60] or "clip"
