"""Pictures like the paper's Fig. 3: reference and generated mel spectrograms stacked,
the cue times drawn through every panel and each panel's detected onsets marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ..config import AUDIO
from ..mel import log_mel


@dataclass(frozen=True)
class Panel:
    """One spectrogram of a figure: its title, its audio and the onsets detected in it (seconds)."""

    title: str
    samples: np.ndarray
    onsets: tuple[float, ...]


def mel_image(samples: np.ndarray) -> np.ndarray:
    """The normalised log-mel spectrogram (n_mels, frames) the model works on, of 16 kHz samples."""
    waveform = torch.as_tensor(np.asarray(samples, dtype=np.float32))[None]
    return log_mel(waveform)[0].numpy()


def sync_figure(
    path: Path,
    title: str,
    panels: Sequence[Panel],
    cues: Sequence[Fraction],
    video_cues: Sequence[Fraction] = (),
) -> Path:
    """Write a PNG: one mel panel per entry of `panels`, top to bottom, sharing the time axis.

    Cues (the true onsets) are dashed white lines through every panel, cues the
    event detector found in the video dotted cyan ones; onsets detected in each
    panel's audio are red triangles along its top edge.
    """
    figure = Figure(figsize=(12, 2.0 * len(panels) + 0.6), dpi=100, layout="constrained")
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels):
        mel = mel_image(panel.samples)
        seconds = mel.shape[1] / float(AUDIO.frame_rate)
        extent = (0, seconds, 0, mel.shape[0])
        ax.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1, extent=extent)
        for cue in cues:
            ax.axvline(float(cue), color="white", linestyle="--", linewidth=0.8, alpha=0.8)
        for cue in video_cues:
            ax.axvline(float(cue), color="cyan", linestyle=":", linewidth=1.2, alpha=0.9)
        if panel.onsets:
            ax.plot(panel.onsets, [mel.shape[0] - 6] * len(panel.onsets), "v", color="red", markersize=6, clip_on=False)
        ax.set_title(panel.title, fontsize=9, loc="left")
        ax.set_ylabel("mel bin")
    legend = "dashed: cues   dotted cyan: cues found in the video   red: onsets in the audio" if video_cues else (
        "dashed: cues   red: detected onsets"
    )
    axes[-1].set_xlabel(f"time (s)   {legend}")
    figure.suptitle(title, fontsize=10)
    figure.savefig(path, format="png")
    return path
