import numpy as np
import pytest

from foley_engine.config import AUDIO
from foley_engine.windows import fade_curves, join_windows, plan_windows

W = AUDIO.window_samples
OVERLAP = AUDIO.sample_rate


@pytest.mark.parametrize(
    "n, starts",
    [(1, [0]), (W, [0]), (W + 1, [0, W - OVERLAP]), (3 * W, [0, W - OVERLAP, 2 * (W - OVERLAP), 3 * (W - OVERLAP)])],
)
def test_plan_covers_every_sample(n: int, starts: list[int]) -> None:
    assert plan_windows(n) == starts
    assert starts[-1] + W >= n


@pytest.mark.parametrize("n", [5000, W, W + 1, 160_000, 400_000])
def test_linear_join_keeps_a_constant_constant_and_the_length_exact(n: int) -> None:
    windows = [np.full(W, 0.5, np.float32) for _ in plan_windows(n)]
    joined = join_windows(windows, n, curve="linear")
    assert joined.shape == (n,) and joined.dtype == np.float32
    np.testing.assert_allclose(joined, 0.5, rtol=1e-6)


def test_equal_power_join_has_no_gap_or_dip() -> None:
    n = 300_000
    joined = join_windows([np.ones(W, np.float32) for _ in plan_windows(n)], n)
    assert len(joined) == n
    # Identical windows add in amplitude (up to √2 mid-fade); nothing ever drops out.
    assert joined.min() >= 1.0 - 1e-6
    assert joined.max() <= np.sqrt(2) + 1e-6


def test_equal_power_join_keeps_the_loudness_of_independent_windows() -> None:
    n = 300_000
    rng = np.random.default_rng(0)
    joined = join_windows([rng.standard_normal(W).astype(np.float32) for _ in plan_windows(n)], n)
    overlap = joined[W - OVERLAP : W]
    assert abs(np.sqrt(np.mean(overlap**2)) - 1.0) < 0.05


def test_fades_are_complementary() -> None:
    fade_in, fade_out = fade_curves(100)
    np.testing.assert_allclose(fade_in**2 + fade_out**2, 1.0)
    fade_in, fade_out = fade_curves(100, "linear")
    np.testing.assert_allclose(fade_in + fade_out, 1.0)


def test_join_rejects_the_wrong_number_of_windows() -> None:
    with pytest.raises(ValueError):
        join_windows([np.zeros(W)], W + 1)
