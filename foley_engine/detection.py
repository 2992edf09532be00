"""Running the video event detector on a clip: frames at the video's own rate → onset cues and event spans.

The window's frames are read at output times k / fps, fps being the video's
own rate (so a window with a speed change still yields one picture per output
frame), in chunks with enough frames of context on both sides that every
frame's outputs are what a single pass over the whole window would give.
An onset lies exactly on its frame's time, at most one per frame: a peak of
the onset probability at or above the detector's `onset_threshold`, or a
frame right beside a higher one whose probability still reaches
`adjacent_threshold`. Contacts on consecutive frames are common (a shuffle of
steps, a rattle: one onset in nine of the dataset's follows another by one
frame) and the trained detector marks both frames of 90% of such pairs at
0.45, against a neighbour that high beside 2.5% of lone onsets, so a strict
one-peak rule would drop the second contact of nearly every pair. Events are
the runs of frames whose activity probability reaches `activity_threshold`,
split where an onset starts a new sound.

The detector learnt from square pictures, so it is shown square views at the
picture's own proportions: the frames are scaled until their shorter side is
the detector's size, and views of that size slide along the longer side (two
for 16:9). Squashing a 16:9 picture into a square instead makes every object
half as wide as it learnt them, and it then sees almost nothing: on the
demo's bouncing ball the impact frames' onset probabilities were 0.01-0.22
squashed (none found) and 0.03-0.66 in views (5 of the 11 found, each on its
frame).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .errors import Cancelled
from .event_detector import EventDetectorOutput, VideoEventDetector
from .request import Detection, EventSpan, OnsetCue, TimeMap
from .video import picture_size, probe_video, sample_frames

# Frames one pass of the detector sees (plus its context): 512 frames of 64×64 are 6 MB of
# pixels and a fraction of a second of CPU, and long clips never hold all their frames at once.
CHUNK_FRAMES = 512


@dataclass(frozen=True)
class Thresholds:
    """The probabilities at which frames count as onsets or as active (see the module docstring)."""

    onset: float
    activity: float
    adjacent: float

    @classmethod
    def of(cls, detector: VideoEventDetector) -> Thresholds:
        """The thresholds in `detector`'s configuration."""
        config = detector.config
        return cls(config.onset_threshold, config.activity_threshold, config.adjacent_threshold)


@dataclass(frozen=True)
class FrameProbabilities:
    """The detector's per-frame outputs as probabilities."""

    onset: np.ndarray  # (T,) a contact starts on this frame
    activity: np.ndarray  # (T,) a sound is going on
    classes: np.ndarray  # (T, C) softmax over the detector's class names

    def __len__(self) -> int:
        return len(self.onset)


def to_pixels(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 frames (..., H, W, 3) → the detector's input layout (..., 3, H, W) in [0, 1]."""
    return torch.as_tensor(frames).movedim(-1, -3).float().div(255.0)


def output_probabilities(output: EventDetectorOutput, row: int = 0) -> FrameProbabilities:
    """Batch row `row` of the detector's logits as probabilities."""
    return FrameProbabilities(
        onset=torch.sigmoid(output.onset_logits[row].detach().float()).cpu().numpy(),
        activity=torch.sigmoid(output.activity_logits[row].detach().float()).cpu().numpy(),
        classes=torch.softmax(output.class_logits[row].detach().float(), dim=-1).cpu().numpy(),
    )


@torch.no_grad()
def frame_probabilities(detector: VideoEventDetector, frames: np.ndarray | torch.Tensor) -> FrameProbabilities:
    """Run the detector on one clip's consecutive frames (T, H, W, 3) uint8 at its `image_size`."""
    return output_probabilities(detector(to_pixels(frames)[None].to(detector.device)))


def square_views(height: int, width: int, size: int) -> tuple[tuple[int, int], tuple[int, ...]]:
    """How the detector looks at a `height` × `width` picture: the (height, width) it is scaled to
    (shorter side `size`, proportions kept) and the offsets along the longer side of the
    `size` × `size` views that cover it, evenly spaced from one end to the other."""
    if width >= height:
        scaled = (size, max(size, round(size * width / height)))
    else:
        scaled = (max(size, round(size * height / width)), size)
    longer = max(scaled)
    count = math.ceil(longer / size)
    if count == 1:
        return scaled, (0,)
    return scaled, tuple(round(index * (longer - size) / (count - 1)) for index in range(count))


def strongest_view(views: list[FrameProbabilities]) -> FrameProbabilities:
    """Per frame, what the views together saw: the highest onset and activity probabilities, and
    the classes of the view in which the sound is most clearly going on."""
    onset = np.max([view.onset for view in views], axis=0)
    activity = np.stack([view.activity for view in views])
    classes = np.stack([view.classes for view in views])
    loudest = np.argmax(activity, axis=0)
    return FrameProbabilities(
        onset=onset, activity=activity.max(axis=0), classes=classes[loudest, np.arange(len(onset))]
    )


def window_probabilities(
    detector: VideoEventDetector,
    video_path: Path | str,
    window: TimeMap,
    fps: Fraction,
    chunk_frames: int = CHUNK_FRAMES,
    stopped: Callable[[], bool] | None = None,
) -> FrameProbabilities:
    """The detector's probabilities on every output frame k / fps of `window` (k < ceil(duration × fps)).

    Each chunk is read with `detector.context_frames` extra frames on both
    sides (before the window's start and past its end too: the picture there
    shows what leads into and out of the cut) and only its middle is kept.
    Each square view of the picture (`square_views`) goes through the
    detector on its own; `strongest_view` joins them. `stopped` is asked
    before each chunk: once it says True, Cancelled is raised.
    """
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be at least 1, got {chunk_frames}")
    if window.duration <= 0:
        raise ValueError(f"the window must last a while, got {window.duration} s")
    count = math.ceil(window.duration * fps)
    margin = detector.context_frames
    size = detector.config.image_size
    scaled, offsets = square_views(*picture_size(video_path), size)
    wide = scaled[1] >= scaled[0]
    parts = []
    for first in range(0, count, chunk_frames):
        if stopped is not None and stopped():
            raise Cancelled(f"the detection was stopped after {first} of its {count} frames")
        length = min(chunk_frames, count - first)
        start = Fraction(first - margin) / fps
        frames = sample_frames(video_path, window, fps=fps, size=scaled, start=start, count=length + 2 * margin)
        views = [frames[:, :, o : o + size] if wide else frames[:, o : o + size] for o in offsets]
        parts.append(strongest_view([frame_probabilities(detector, view) for view in views]))
    kept = slice(margin, -margin)
    return FrameProbabilities(
        onset=np.concatenate([part.onset[kept] for part in parts]),
        activity=np.concatenate([part.activity[kept] for part in parts]),
        classes=np.concatenate([part.classes[kept] for part in parts]),
    )


def onset_peaks(onset: np.ndarray, threshold: float, adjacent: float) -> np.ndarray:
    """Frames whose onset probability reaches `threshold` and that are a peak (above the frame
    before and at least the frame after: of two equal neighbours the first wins) or reach `adjacent`."""
    padded = np.pad(np.asarray(onset, dtype=np.float64), 1, constant_values=-np.inf)
    middle = padded[1:-1]
    peak = (middle > padded[:-2]) & (middle >= padded[2:])
    return np.flatnonzero((middle >= threshold) & (peak | (middle >= adjacent)))


def decode_detection(
    probabilities: FrameProbabilities,
    fps: Fraction,
    duration: Fraction,
    class_names: tuple[str, ...],
    thresholds: Thresholds,
) -> Detection:
    """Onset cues and event spans from per-frame probabilities of frames k / fps of a `duration`-long window.

    An onset's label is the most probable class on its frame, its confidence
    its onset probability. An event spans a run of active frames (an onset's
    frame counts as active), a new event starting at each onset inside a run;
    its label is the class of highest mean probability over its frames, its
    confidence the mean activity probability, and it ends at its last frame's
    end (clipped to the window).
    """
    peaks = onset_peaks(probabilities.onset, thresholds.onset, thresholds.adjacent)
    onsets = tuple(
        OnsetCue(
            time=Fraction(int(k)) / fps,
            label=class_names[int(np.argmax(probabilities.classes[k]))],
            confidence=float(probabilities.onset[k]),
        )
        for k in peaks
    )
    active = probabilities.activity >= thresholds.activity
    active[peaks] = True
    starts = np.zeros(len(active), dtype=bool)
    starts[peaks] = True
    events = []
    k = 0
    while k < len(active):
        if not active[k]:
            k += 1
            continue
        end = k + 1
        while end < len(active) and active[end] and not starts[end]:
            end += 1
        mean_classes = probabilities.classes[k:end].mean(axis=0)
        events.append(
            EventSpan(
                start=Fraction(k) / fps,
                end=min(Fraction(end) / fps, duration),
                label=class_names[int(np.argmax(mean_classes))],
                confidence=float(probabilities.activity[k:end].mean()),
            )
        )
        k = end
    return Detection(onsets=onsets, events=tuple(events), fps=fps)


def detect_events(
    detector: VideoEventDetector,
    video_path: Path | str,
    window: TimeMap,
    chunk_frames: int = CHUNK_FRAMES,
    stopped: Callable[[], bool] | None = None,
) -> Detection:
    """The contact onsets and sound events `detector` sees in `window` of the video, at the video's own rate.

    Raises MediaError for a missing or unreadable video, and Cancelled once
    `stopped` says True (it is asked between chunks of frames).
    """
    fps = probe_video(video_path).fps
    probabilities = window_probabilities(detector, video_path, window, fps, chunk_frames, stopped)
    return decode_detection(probabilities, fps, window.duration, detector.class_names, Thresholds.of(detector))


def merge_cues(cues: tuple[OnsetCue, ...], detected: tuple[OnsetCue, ...], fps: Fraction) -> tuple[OnsetCue, ...]:
    """`cues` followed by the `detected` onsets farther than one frame of `fps` from all of them:
    where an editor put a cue, that cue wins over what the detector saw next to it."""
    frame = 1 / Fraction(fps)
    return cues + tuple(onset for onset in detected if all(abs(onset.time - cue.time) > frame for cue in cues))
