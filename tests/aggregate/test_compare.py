"""Paired comparisons: verdicts on constructed cases, pairing, reproducibility."""

import math

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate.compare import NO_DIFFERENCE, compare, compare_table, paired, verdict

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
    # A wins 4 of 5 seeds: P = 0.8, but the bootstrap CI reaches below 0.5
    a, b = series([1, 1, 1, 1, 3], range(5)), series([2, 2, 2, 2, 2], range(5))
    r = compare(a, b, lower_is_better=True)
    assert r["p_a_better"] == 0.8 and r["ci_low"] <= 0.5
    assert r["verdict"] == NO_DIFFERENCE


def test_pairs_on_shared_seeds_without_nan():
    a = pd.Series([0.1, 0.2, float("nan"), 0.4], index=[0, 1, 2, 3])
    b = pd.Series([0.2, 0.1, 0.3, 0.5], index=[1, 2, 3, 4])
    pairs = paired(a, b)
    assert list(pairs.index) == [1, 3] and list(pairs.a) == [0.2, 0.4]
    assert compare(a, b, lower_is_better=True)["n_paired"] == 2
    empty = compare(a, pd.Series([0.1], index=[9]), lower_is_better=True)
    assert empty["n_paired"] == 0 and math.isnan(empty["p_a_better"])
    assert empty["verdict"] == NO_DIFFERENCE
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
