"""Transient snapping: hits move onto their cues, without clicks, gaps or changes elsewhere."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from foley_engine.metrics import precise_onset_samples, precise_onsets, score_markers
from foley_engine.metrics.synthetic import hit, synthetic_hits
from foley_engine.snapping import ATTACK_MS, snap_transients

SR = 16_000
MS = SR // 1000
FRAME = Fraction(1, 24)


def _material(starts: list[int], seconds: float = 4.0, seed: int = 0, kind: str = "click") -> np.ndarray:
    """Hits of `kind` at `starts` (samples) over a quiet noise floor."""
    rng = np.random.default_rng(seed)
    out = rng.standard_normal(round(seconds * SR)) * 1e-3
    for start in starts:
        out[start : start + 4000] += 0.7 * hit(kind, rng, SR, 4000)
    return out.astype(np.float32)


def _start_near(samples: np.ndarray, around: int, level: float = 0.1) -> int:
    """First sample within ±60 ms of `around` whose magnitude reaches `level` (a click's first sample)."""
    low = around - 60 * MS
    return low + int(np.argmax(np.abs(samples[low : around + 60 * MS]) >= level))


@pytest.mark.parametrize("kind", ["click", "noise_decay", "tone_decay"])
def test_hits_40_ms_off_land_within_1_ms_of_their_cues(kind: str) -> None:
    starts = [4000, 16000, 30000, 45000, 56000]
    offsets = [40, -40, 40, -40, 40]
    cues = [start + offset * MS for start, offset in zip(starts, offsets)]
    audio = _material(starts, kind=kind)
    result = snap_transients(audio, SR, [Fraction(cue, SR) for cue in cues])
    assert len(result.moves) == len(cues)
    for cue in cues:
        assert abs(_start_near(result.samples, cue, level=0.02) - cue) <= MS


def test_length_and_dtype_are_unchanged() -> None:
    audio = _material([4000, 20000, 40000])
    result = snap_transients(audio, SR, [Fraction(4640, SR), Fraction(19200, SR)])
    assert result.samples.shape == audio.shape and result.samples.dtype == audio.dtype


def _quiet_max_jump(samples: np.ndarray, onsets: list[int]) -> float:
    """The largest sample-to-sample step of the material outside the first 20 ms of each hit."""
    steps = np.abs(np.diff(samples.astype(np.float64)))
    for onset in onsets:
        steps[max(onset - MS, 0) : onset + int(ATTACK_MS) * MS] = 0.0
    return float(steps.max())


@pytest.mark.parametrize("seed", range(4))
def test_splices_do_not_click(seed: int) -> None:
    material = synthetic_hits(seed, seconds=4.0)
    rng = np.random.default_rng(seed)
    cues = [Fraction(int(onset) + int(rng.integers(-80, 81)) * MS, SR) for onset in material.onsets]
    result = snap_transients(material.samples, SR, cues)
    assert result.splices
    out = result.samples.astype(np.float64)
    seam_steps = [np.abs(np.diff(out[centre - 3 * MS : centre + 3 * MS])).max() for centre in result.splices]
    # Neither larger than the material's own largest step, nor than its quiet parts' (where seams sit).
    assert max(seam_steps) <= np.abs(np.diff(material.samples.astype(np.float64))).max()
    assert max(seam_steps) <= _quiet_max_jump(material.samples, [int(o) for o in material.onsets])


def test_a_hit_without_a_cue_in_reach_stays_bit_identical() -> None:
    starts = [4000, 24000, 44000]
    audio = _material(starts, kind="tone_decay")
    # Cues 40 ms after the first and last hits; the middle one is 1.25 s from either.
    result = snap_transients(audio, SR, [Fraction(4640, SR), Fraction(44640, SR)])
    assert {move.source for move in result.moves} == {4000, 44000}
    before = max(centre for centre in result.splices if centre < 24000)
    after = min(centre for centre in result.splices if centre > 24000)
    # Untouched from the end of the splice before it to the start of the splice after it.
    untouched = slice(before + 2 * MS, after - 2 * MS)
    np.testing.assert_array_equal(result.samples[untouched], audio[untouched])
    assert before < 24000 - 5 * MS and after > 24000 + 100 * MS


def test_cues_out_of_reach_change_nothing() -> None:
    audio = _material([4000, 24000])
    result = snap_transients(audio, SR, [Fraction(4000 + 150 * MS, SR), Fraction(1, 2)], reach_ms=100)
    assert result.moves == () and result.fills == () and result.splices == ()
    np.testing.assert_array_equal(result.samples, audio)


def test_a_cue_takes_one_transient_and_a_transient_one_cue() -> None:
    audio = _material([8000, 9600])  # two hits 100 ms apart
    # One cue between them, 40 ms after the first (60 ms before the second): the nearer hit moves.
    result = snap_transients(audio, SR, [Fraction(8640, SR)])
    assert [(move.source, move.target) for move in result.moves] == [(8000, 8640)]
    assert precise_onset_samples(result.samples, SR).tolist() == [8640, 9600]


def test_close_hits_rendered_early_move_together() -> None:
    # Two hits 49 ms apart, 22 and 40 ms before their cues: neither can move alone (its splice
    # would have to read its neighbour's attack twice), both can move together.
    starts = [8000, 8000 + 49 * MS]
    cues = [starts[0] + 22 * MS, starts[1] + 40 * MS]
    audio = _material(starts, kind="click")
    result = snap_transients(audio, SR, [Fraction(cue, SR) for cue in cues])
    assert [(move.source, move.target) for move in result.moves] == list(zip(starts, cues))
    assert result.fills == ()
    assert np.abs(precise_onset_samples(result.samples, SR) - np.array(cues)).max() <= MS


def test_a_hit_merged_into_its_neighbour_is_filled_in_on_its_cue() -> None:
    # One hit where two cues 60 ms apart asked for two: the second cue gets a copy of the hit.
    audio = _material([8000], kind="tone_decay", seed=1)
    cues = [8000, 8000 + 60 * MS]
    result = snap_transients(audio, SR, [Fraction(cue, SR) for cue in cues])
    assert result.moves == ()
    assert [(fill.source, fill.target) for fill in result.fills] == [(8000, cues[1])]
    found = precise_onset_samples(result.samples, SR)
    assert all(np.abs(found - cue).min() <= MS for cue in cues), found
    # The copy replaced the first hit's tail from just before the cue: before that, nothing changed.
    before = max(centre for centre in result.splices if centre < cues[1])
    np.testing.assert_array_equal(result.samples[: before - 2 * MS], audio[: before - 2 * MS])


def test_a_cue_inside_a_hits_attack_gets_no_copy() -> None:
    # A copy would cut into the first 20 ms of the hit before it, which are never touched.
    audio = _material([8000], kind="tone_decay", seed=1)
    cues = [8000, 8000 + 15 * MS]
    result = snap_transients(audio, SR, [Fraction(cue, SR) for cue in cues])
    assert result.fills == () and result.moves == ()
    np.testing.assert_array_equal(result.samples, audio)


def test_snapping_never_lowers_the_hit_rate() -> None:
    # Random cases with a fixed seed: some cues near hits (up to 90 ms off), some far from any.
    # Cues are at least five frames apart, so no onset lies within two frames of two cues: one
    # transient between two close cues "hits" both, and moving it onto one can only lose the other.
    rng = np.random.default_rng(2024)
    improved = 0
    for case in range(12):
        material = synthetic_hits(100 + case, seconds=3.0)
        onsets = material.onsets / SR
        near = [t + rng.uniform(-0.09, 0.09) for t in onsets if rng.random() < 0.7]
        far = list(rng.uniform(0.1, 2.9, size=3))
        cues: list[Fraction] = []
        for time in sorted(near + far):
            cue = Fraction(round(time * 24), 24)
            if all(abs(cue - other) >= 5 * FRAME for other in cues):
                cues.append(cue)
        snapped = snap_transients(material.samples, SR, cues).samples
        before = score_markers(precise_onsets(material.samples, SR), cues, FRAME, 3.0)
        after = score_markers(precise_onsets(snapped, SR), cues, FRAME, 3.0)
        assert after.hits_1 >= before.hits_1 and after.hits_2 >= before.hits_2, case
        improved += after.hits_1 > before.hits_1
    assert improved >= 6


def test_bad_settings_are_refused() -> None:
    audio = _material([4000])
    with pytest.raises(ValueError):
        snap_transients(audio, SR, [Fraction(1, 4)], reach_ms=0)
    with pytest.raises(ValueError):
        snap_transients(audio[None], SR, [Fraction(1, 4)])
