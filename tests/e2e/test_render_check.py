"""A real renderer hears it: output timelines rendered by melt (MLT) sound on the markers.

The timeline goes through the plugin's Foley-track writer and a timeline file,
becomes an MLT project (`foley_plugin.mlt`), and melt renders its audio; the
transients found in that render must fall within one frame of the markers.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile

from foley_plugin.foley_track import is_foley_track
from foley_plugin.mlt import mlt_project
from foley_plugin.timeline_io import read_timeline
from foley_plugin.wav import read_wav

from .click_timeline import SAMPLE_RATE, TONE_LEVEL, ClickTimeline, onsets
from .plugin_runs import run_foley

MELT = shutil.which("melt")
needs_melt = pytest.mark.skipif(
    MELT is None,
    reason="melt (MLT's renderer) is not installed: run `apt-get install melt` (`make test` does, as root)",
)


def melt_render(project: Path, folder: Path) -> np.ndarray:
    """melt's render of an MLT project's audio: mono float samples at 48 kHz."""
    out = folder / f"{project.stem}.render.wav"
    subprocess.run(
        [MELT, str(project), "-silent", "-consumer", f"avformat:{out}",
         "vn=1", "acodec=pcm_s16le", f"ar={SAMPLE_RATE}", "ac=1", "real_time=0"],
        # melt reads playback keys from its standard input; a render needs none.
        stdin=subprocess.DEVNULL, check=True, capture_output=True, timeout=120,
    )
    samples, rate = soundfile.read(out, dtype="float32")
    assert rate == SAMPLE_RATE
    return samples


@needs_melt
@pytest.mark.parametrize("rate", [Fraction(24), Fraction(30000, 1001)], ids=["24fps", "29.97fps"])
def test_melt_plays_the_foley_clicks_on_the_markers(rate: Fraction, tmp_path: Path) -> None:
    built = ClickTimeline(tmp_path, rate)
    output = built.with_foley(trim_frames=6)
    project_path = tmp_path / "clicks.mlt"
    project = mlt_project(read_timeline(output), output, project_path)
    assert project.left_out == ()
    project_path.write_text(project.xml)
    assert f'frame_rate_num="{rate.numerator}" frame_rate_den="{rate.denominator}"' in project.xml

    samples = melt_render(project_path, tmp_path)
    frame = SAMPLE_RATE / rate
    assert abs(len(samples) - built.LENGTH * frame) <= frame
    heard = [index / frame for index in onsets(samples)]
    assert len(heard) == len(built.MARKER_FRAMES), heard
    for marker, onset in zip(built.MARKER_FRAMES, heard):
        assert abs(onset - marker) <= 1, f"a click meant for frame {marker} sounds at frame {float(onset):.2f}"

    # Every audio track is heard, summed: the movie's sound plays under "walk" (track A1) and
    # nowhere else; the movie on V1 gives picture only, or its tone would play under "door" too.
    def tone_level(first: int, last: int) -> float:
        part = samples[round(first * frame) : round(last * frame)]
        return float(np.sqrt(np.mean(part**2)))

    assert tone_level(15, 38) == pytest.approx(TONE_LEVEL / np.sqrt(2), rel=0.1)
    assert tone_level(92, 126) < 0.01


@needs_melt
@pytest.mark.slow
def test_melt_plays_each_generated_wav_where_the_timeline_puts_it(demo_foley: Path, tmp_path: Path) -> None:
    """The engine's audio (here from an untrained model, so it has no clicks to find) is compared
    whole: each Foley WAV must line up with melt's render where its clip plays."""
    project = tmp_path / "demo.mlt"
    run_foley("mlt", demo_foley, "-o", project)
    samples = melt_render(project, tmp_path)
    timeline = read_timeline(demo_foley)
    (foley,) = [track for track in timeline.tracks if is_foley_track(track)]
    clips = list(foley.find_clips())
    assert len(clips) == 3
    frame = SAMPLE_RATE / 24
    for clip in clips:
        wav, _ = read_wav(demo_foley.parent / clip.media_reference.target_url)
        start = round(clip.range_in_parent().start_time.value * frame)
        lag = best_lag(samples, wav, start, search=round(4 * frame))
        assert abs(lag) <= frame, f"{clip.name} plays {lag / frame:+.2f} frames off its place"
        placed = samples[start : start + len(wav)]
        assert np.corrcoef(placed, wav[: len(placed)])[0, 1] > 0.99


def best_lag(mix: np.ndarray, part: np.ndarray, start: int, search: int) -> int:
    """The shift (samples) of `part` against its expected `start` in `mix` that matches best."""
    lags = range(-search, search + 1)
    scores = []
    for lag in lags:
        at = start + lag
        if at < 0 or at + len(part) > len(mix):
            scores.append(-np.inf)
            continue
        scores.append(float(np.dot(mix[at : at + len(part)], part)))
    return lags[int(np.argmax(scores))]


def test_the_project_plays_blanks_for_clips_it_cannot_play_and_names_them(tmp_path: Path) -> None:
    built = ClickTimeline(tmp_path, Fraction(24))
    output = built.with_foley(trim_frames=0)
    (tmp_path / "moved").mkdir()
    built.movie.rename(tmp_path / "moved" / built.movie.name)
    project = tmp_path / "clicks.mlt"
    result = run_foley("mlt", output, "-o", project, check=False)
    assert result.returncode == 3, result.stderr
    for name in ("walk", "door", "walk sound"):
        assert f"clip {name!r}: media not found" in result.stderr
    text = project.read_text()
    assert "movie.mp4" not in text and text.count("<producer ") == 3  # the background and the two Foley WAVs
    # With the movie found again below a media root, nothing is left out.
    result = run_foley("mlt", output, "-o", project, "--media-root", tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert "<property name=\"resource\">moved/movie.mp4</property>" in project.read_text()
