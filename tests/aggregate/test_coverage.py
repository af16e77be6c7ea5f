"""Coverage of the intervals of the mean, by simulation from known distributions.

Each case draws ``SAMPLES`` samples of ``n`` seeds and counts how often each 95% interval
contains the true mean. The Monte Carlo standard error of a coverage near 0.95 is about
0.002 here; bounds below leave at least 4 of them. ``N_BOOT`` is small to keep the file
fast; a larger one widens the expanded bootstrap a little.
"""

import numpy as np
import pytest

from biorepro.aggregate.stats import MIN_RELIABLE_N, mean_intervals, summarize

SAMPLES, N_BOOT, CI = 10000, 1000, 0.95
TOLERANCE = 0.03  # intervals not flagged approximate cover at least CI - TOLERANCE
NORMAL = (lambda rng, size: rng.normal(0.0, 1.0, size), 0.0, None)
SKEWED_RATE = (lambda rng, size: rng.beta(2.0, 20.0, size), 2.0 / 22.0, (0.0, 1.0))  # skew 1.2


def coverage(dist, n: int) -> dict[str, float]:
    """Coverage of the t, expanded bootstrap and plain percentile bootstrap intervals."""
    draw, mean, bounds = dist
    x = draw(np.random.default_rng(n), (SAMPLES, n))
    ci = mean_intervals(x, n_boot=N_BOOT, ci=CI, seed=0, bounds=bounds)
    counts = np.random.default_rng(0).multinomial(n, np.full(n, 1 / n), size=N_BOOT)
    low, high = np.quantile(x @ (counts.T / n), [(1 - CI) / 2, (1 + CI) / 2], axis=1)
    covered = {"t": (ci["ci_t_low"] <= mean) & (mean <= ci["ci_t_high"]),
               "boot": (ci["ci_boot_low"] <= mean) & (mean <= ci["ci_boot_high"]),
               "percentile": (low <= mean) & (mean <= high)}
    return {kind: float(c.mean()) for kind, c in covered.items()}


NORMAL_COVERAGE = {n: coverage(NORMAL, n) for n in (3, 5, 10, 30)}


@pytest.mark.parametrize("n", [3, 5, 10, 30])
def test_t_interval_is_exact_under_normality(n):
    se = np.sqrt(CI * (1 - CI) / SAMPLES)
    assert abs(NORMAL_COVERAGE[n]["t"] - CI) < 4 * se


@pytest.mark.parametrize("n, floor", [(5, 0.90), (10, 0.93), (30, 0.935)])
def test_expanded_bootstrap_covers_where_the_percentile_one_does_not(n, floor):
    cov = NORMAL_COVERAGE[n]
    assert cov["boot"] >= floor
    assert cov["percentile"] < cov["boot"]
    if n == 5:  # the plain percentile bootstrap fails the bar: about 0.85 at 5 seeds
        assert cov["percentile"] < floor - 0.03


def test_no_bootstrap_reaches_95_percent_below_5_seeds():
    # it never leaves the seeds' range, which misses the mean with probability 2^(1 - n)
    assert NORMAL_COVERAGE[3]["boot"] <= 1 - 2.0 ** (1 - 3) + 0.01


@pytest.mark.parametrize("dist", [NORMAL, SKEWED_RATE], ids=["normal", "beta(2,20)"])
@pytest.mark.parametrize("n", [MIN_RELIABLE_N, 30])
def test_intervals_not_flagged_approximate_meet_their_level(dist, n):
    assert not summarize(dist[0](np.random.default_rng(0), n), n_boot=10)["approximate"]
    cov = coverage(dist, n)
    assert cov["t"] >= CI - TOLERANCE and cov["boot"] >= CI - TOLERANCE, cov


def test_fewer_seeds_are_flagged_because_skewed_rates_miss_the_level():
    n = MIN_RELIABLE_N // 2
    assert summarize(SKEWED_RATE[0](np.random.default_rng(0), n), n_boot=10)["approximate"]
    assert coverage(SKEWED_RATE, n)["boot"] < CI - TOLERANCE


def test_clipping_keeps_coverage():
    # the true mean lies in the range, so clipping an end to it never drops the mean; with
    # 2 seeds the t interval of a rate near 0 reaches below 0 most of the time
    draw, mean, _ = SKEWED_RATE
    x = draw(np.random.default_rng(1), (2000, 2))
    clipped = mean_intervals(x, n_boot=10, bounds=(0.0, 1.0))
    free = mean_intervals(x, n_boot=10)
    assert clipped["clipped"].mean() > 0.5
    for ci in (clipped, free):
        assert np.mean((ci["ci_t_low"] <= mean) & (mean <= ci["ci_t_high"])) == pytest.approx(
            np.mean((free["ci_t_low"] <= mean) & (mean <= free["ci_t_high"])))
