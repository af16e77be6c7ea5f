"""Paired comparisons: verdicts on constructed cases, pairing, reproducibility."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from biorepro.aggregate.compare import (
    NO_DIFFERENCE,
    compare,
    compare_table,
    min_pairs,
    paired,
    pairs_for_power,
    power,
    verdict,
)

SEEDS = range(30)


def series(values, seeds=SEEDS):
    return pd.Series(list(values), index=list(seeds), dtype=float)


@pytest.mark.parametrize("low, high, expected", [
    (0.51, 0.76, "A better"),
    (0.5, 0.9, NO_DIFFERENCE),     # lower bound must exceed 0.5
    (0.55, 0.75, NO_DIFFERENCE),   # upper bound must exceed 0.75
    (0.24, 0.49, "B better"),
    (0.25, 0.4, NO_DIFFERENCE),
    (0.3, 0.8, NO_DIFFERENCE),
])
def test_verdict_rule(low, high, expected):
    assert verdict(low, high) == expected


def test_a_always_lower_error_is_better():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.1, 0.2, 30)
    r = compare(series(b - 0.05), series(b), lower_is_better=True)
    assert r["n_paired"] == 30
    assert (r["p_a_better"], r["ci_low"], r["ci_high"]) == (1.0, 1.0, 1.0)
    assert r["verdict"] == "A better"
    assert r["mean_diff"] == pytest.approx(-0.05)
    assert r["wilcoxon_p"] < 1e-6
    # the same numbers where higher is better (e.g. AUC): B wins
    r = compare(series(b - 0.05), series(b), lower_is_better=False, name_b="base")
    assert r["p_a_better"] == 0.0 and r["verdict"] == "base better"


def test_identical_and_balanced_runs_are_not_different():
    values = np.linspace(0.1, 0.3, 30)
    r = compare(series(values), series(values), lower_is_better=True)
    assert r["p_a_better"] == 0.5 and r["ci_low"] == r["ci_high"] == 0.5  # ties count 1/2
    assert r["verdict"] == NO_DIFFERENCE and r["wilcoxon_p"] == 1.0
    alternating = values + np.where(np.arange(30) % 2, 0.01, -0.01)
    r = compare(series(alternating), series(values), lower_is_better=True)
    assert r["p_a_better"] == 0.5 and r["ci_low"] < 0.5 < r["ci_high"]
    assert r["verdict"] == NO_DIFFERENCE


def test_mostly_better_with_few_seeds_is_not_enough():
    # A wins 5 of 6 seeds: P = 0.83, but the bootstrap CI reaches below 0.5
    a, b = series([1, 1, 1, 1, 1, 3], range(6)), series([2] * 6, range(6))
    r = compare(a, b, lower_is_better=True)
    assert r["p_a_better"] == pytest.approx(5 / 6) and r["ci_low"] <= 0.5
    assert r["verdict"] == NO_DIFFERENCE


def test_min_pairs_is_where_a_sign_test_can_be_significant():
    for ci in (0.8, 0.9, 0.95, 0.99):
        m = min_pairs(ci)
        assert 0.5 ** m < (1 - ci) / 2 <= 0.5 ** (m - 1)
    assert min_pairs(0.95) == 6


@pytest.mark.parametrize("n, words", [(0, "0 pairs"), (1, "1 pair"), (5, "5 pairs")])
def test_no_verdict_below_min_pairs(n, words):
    # A always better: the bootstrap CI collapses to [1, 1], yet no verdict
    r = compare(series([0.1] * n, range(n)), series([0.2] * n, range(n)), lower_is_better=True)
    assert r["verdict"] == f"not enough seeds: {words}, need ≥ 6" and r["min_pairs"] == 6
    if n:
        assert r["ci_low"] == r["ci_high"] == 1.0
    r = compare(series([0.1] * 6, range(6)), series([0.2] * 6, range(6)), lower_is_better=True)
    assert r["verdict"] == "A better"


def test_power_of_a_large_effect_and_pairs_needed():
    rng = np.random.default_rng(5)
    b = rng.uniform(0.1, 0.2, 10)
    a = b - 0.05 + rng.normal(0, 0.01, 10)
    r = compare(series(a, range(10)), series(b, range(10)), lower_is_better=True)
    assert r["verdict"] == "A better" and r["effect_size"] < -3
    assert r["power"] > 0.999 and r["pairs_for_80pct_power"] <= 4
    no_effect = compare(series(b, range(10)), series(b + 0.0, range(10)), lower_is_better=True)
    assert no_effect["power"] == pytest.approx(0.05)
    assert no_effect["pairs_for_80pct_power"] == np.inf
    one = compare(series([0.1], [0]), series([0.2], [0]), lower_is_better=True)
    assert math.isnan(one["power"]) and math.isnan(one["pairs_for_80pct_power"])


def test_power_grows_with_pairs():
    powers = [power(0.5, n) for n in (2, 5, 10, 20, 50, 100)]
    assert powers == sorted(powers) and powers[0] > 0.05 and powers[-1] > 0.99
    assert power(-0.5, 10) == power(0.5, 10)
    assert power(0.0, 10) == pytest.approx(0.05)


@pytest.mark.parametrize("d", [0.15, 0.2, 0.3, 0.5, 0.8])
def test_pairs_for_80pct_power_against_the_normal_approximation(d):
    n = pairs_for_power(d)
    assert power(d, int(n)) >= 0.8 > power(d, int(n) - 1)
    approx = ((norm.ppf(0.975) + norm.ppf(0.8)) / d) ** 2  # z test: the t test needs ~2 more
    assert approx <= n <= approx + 3


def test_pairs_on_shared_seeds_without_nan():
    a = pd.Series([0.1, 0.2, float("nan"), 0.4], index=[0, 1, 2, 3])
    b = pd.Series([0.2, 0.1, 0.3, 0.5], index=[1, 2, 3, 4])
    pairs = paired(a, b)
    assert list(pairs.index) == [1, 3] and list(pairs.a) == [0.2, 0.4]
    assert compare(a, b, lower_is_better=True)["n_paired"] == 2
    empty = compare(a, pd.Series([0.1], index=[9]), lower_is_better=True)
    assert empty["n_paired"] == 0 and math.isnan(empty["p_a_better"])
    assert empty["verdict"] == "not enough seeds: 0 pairs, need ≥ 6"
    with pytest.raises(ValueError, match=r"duplicate seeds \[1\]"):
        paired(pd.Series([0.1, 0.2], index=[1, 1]), b)


def test_bootstrap_ci_is_reproducible():
    rng = np.random.default_rng(3)
    a, b = series(rng.normal(0, 1, 30)), series(rng.normal(0.3, 1, 30))
    r1, r2 = compare(a, b, lower_is_better=True), compare(a, b, lower_is_better=True)
    assert r1 == r2
    assert r1["ci_low"] < r1["p_a_better"] < r1["ci_high"]


def test_compare_table():
    rng = np.random.default_rng(4)
    base = rng.uniform(0.1, 0.2, 30)

    def table(hter, auc):
        return pd.DataFrame({"seed": list(SEEDS), "status": ["ok"] * 30,
                             "test_hter": hter, "test_auc": auc})

    per_seed = {"new": table(base - 0.05, 1 - base + 0.05), "old": table(base, 1 - base)}
    per_seed["old"].loc[0, "status"] = "diverged"
    out = compare_table(per_seed, [("new", "old")], {"test_hter": True, "test_auc": False})
    assert list(out.metric) == ["test_hter", "test_auc"]
    assert list(out.verdict) == ["new better", "new better"]
    assert list(out.n_paired) == [29, 29]  # the diverged seed of "old" is left out
    kept = compare_table(per_seed, [("new", "old")], {"test_hter": True}, status_col=None)
    assert kept.n_paired[0] == 30
    with pytest.raises(ValueError, match="experiment 'nope'"):
        compare_table(per_seed, [("new", "nope")], {"test_hter": True})
    with pytest.raises(ValueError, match="no column 'test_eer'"):
        compare_table(per_seed, [("new", "old")], {"test_eer": True})
