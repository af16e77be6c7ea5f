"""Seed summaries: known samples, bootstrap reproducibility, seeds needed."""

import math

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate.stats import (
    DDOF,
    SUMMARY_KEYS,
    bootstrap_ci,
    diverged_seeds,
    expanded_levels,
    seeds_needed,
    seeds_needed_range,
    summarize,
    summarize_seeds,
)
from biorepro.evaluate import registry


def test_known_sample():
    s = summarize([1, 2, 3, 4, 5])
    assert list(s) == list(SUMMARY_KEYS)
    assert (s["n"], s["n_nan"], s["mean"], s["median"], s["min"], s["max"]) == (5, 0, 3, 3, 1, 5)
    assert DDOF == 1 and s["std"] == pytest.approx(math.sqrt(2.5))
    # t(0.975, 4) = 2.776445; half-width = 2.776445 * sqrt(2.5) / sqrt(5) = 1.963243
    assert s["ci_t_low"] == pytest.approx(1.036757, abs=1e-6)
    assert s["ci_t_high"] == pytest.approx(4.963243, abs=1e-6)
    assert 1 < s["ci_boot_low"] < 3 < s["ci_boot_high"] < 5


def test_ci_level_changes_width():
    wide, narrow = summarize([1, 2, 3, 4, 5], ci=0.99), summarize([1, 2, 3, 4, 5], ci=0.8)
    for kind in ("t", "boot"):
        low, high = f"ci_{kind}_low", f"ci_{kind}_high"
        assert wide[high] - wide[low] > narrow[high] - narrow[low]
    with pytest.raises(ValueError, match="ci must be"):
        summarize([1, 2], ci=95)


def test_bootstrap_is_reproducible_and_seeded():
    x = np.random.default_rng(1).normal(size=12)
    a, b = summarize(x, seed=0), summarize(x, seed=0)
    assert (a["ci_boot_low"], a["ci_boot_high"]) == (b["ci_boot_low"], b["ci_boot_high"])
    c = summarize(x, seed=1)
    assert (a["ci_boot_low"], a["ci_boot_high"]) != (c["ci_boot_low"], c["ci_boot_high"])
    # two values: resampled means are 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4
    assert bootstrap_ci([0.0, 1.0], lambda r: r.mean(axis=1), n_boot=4000) == (0.0, 1.0)


def test_constant_values_have_zero_width():
    s = summarize([0.25] * 4)
    assert s["std"] == 0.0
    assert s["ci_boot_low"] == s["ci_boot_high"] == s["ci_t_low"] == s["ci_t_high"] == 0.25


def test_one_value_and_nans():
    s = summarize([0.3, float("nan")])
    assert (s["n"], s["n_nan"], s["mean"], s["min"], s["max"]) == (1, 1, 0.3, 0.3, 0.3)
    for key in ("std", "ci_boot_low", "ci_boot_high", "ci_t_low", "ci_t_high"):
        assert math.isnan(s[key]), key
    empty = summarize([float("nan")] * 3)
    assert (empty["n"], empty["n_nan"]) == (0, 3) and math.isnan(empty["mean"])
    assert summarize([1.0, float("nan"), 3.0])["mean"] == 2.0


def test_seeds_needed():
    # t(0.975, 5) / sqrt(6) = 1.0495 > 1 >= t(0.975, 6) / sqrt(7) = 0.9248
    assert seeds_needed(1.0, 1.0) == 7
    assert seeds_needed(0.0, 0.1) == 2
    from scipy.stats import t
    for std, hw in [(0.02, 0.01), (0.05, 0.005), (1.0, 0.3)]:
        n = seeds_needed(std, hw)
        assert t.ppf(0.975, n - 1) * std / math.sqrt(n) <= hw
        assert t.ppf(0.975, n - 2) * std / math.sqrt(n - 1) > hw
    assert seeds_needed(1.0, 1.0, ci=0.99) > 7
    with pytest.raises(ValueError, match="half_width"):
        seeds_needed(1.0, 0.0)


def per_seed_table():
    return pd.DataFrame({
        "seed": [0, 1, 2, 3, 4],
        "status": ["ok", "ok", "ok", "diverged", "ok"],
        "test_hter": [0.1, 0.2, float("nan"), float("nan"), 0.3],
        "test_auc": [0.9, 0.8, 0.85, 0.5, 0.95],
        "level": ["video"] * 5,
    })


def test_summarize_seeds_long_table():
    table = summarize_seeds(per_seed_table())
    assert list(table.columns) == ["metric", "n_seeds", "n_diverged", *SUMMARY_KEYS]
    assert list(table.metric) == ["test_hter", "test_auc"]
    hter = table.set_index("metric").loc["test_hter"]
    assert (hter.n, hter.n_nan, hter.n_diverged, hter.n_seeds) == (3, 1, 1, 5)
    assert hter["mean"] == pytest.approx(0.2) and hter["std"] == pytest.approx(0.1)
    auc = table.set_index("metric").loc["test_auc"]
    assert auc.n == 4 and auc["mean"] == pytest.approx(0.875)  # diverged seed excluded
    assert list(summarize_seeds(per_seed_table(), metrics=["test_auc"]).metric) == ["test_auc"]
    with pytest.raises(ValueError, match="test_eer"):
        summarize_seeds(per_seed_table(), metrics=["test_eer"])


def test_diverged_seeds():
    assert diverged_seeds(per_seed_table()) == [3]
    with pytest.raises(ValueError, match="'status'"):
        diverged_seeds(per_seed_table().drop(columns="status"))


def test_intervals_are_clipped_to_the_range():
    # two seeds of a rate: the t interval spans about +-6 std, far outside [0, 1]
    s = summarize([0.02, 0.5], bounds=(0.0, 1.0))
    assert (s["ci_t_low"], s["ci_t_high"]) == (0.0, 1.0) and s["clipped"] and s["approximate"]
    assert 0.02 <= s["ci_boot_low"] <= s["ci_boot_high"] <= 0.5
    free = summarize([0.02, 0.5])
    assert free["ci_t_low"] < 0 < 1 < free["ci_t_high"] and not free["clipped"]
    accuracy = [0.9156, 0.97, 0.95, 0.94, 0.99] * 2
    s = summarize(accuracy, bounds=registry.metric("train_accuracy").bounds)
    assert s["ci_t_high"] <= 1.0 and not s["approximate"]  # 10 seeds
    table = summarize_seeds(pd.DataFrame({"seed": [0, 1], "status": "ok",
                                          "test_hter": [0.0, 0.3], "threshold": [-1.0, 1.0]}))
    assert list(table.clipped) == [True, False] and table.approximate.all()
    assert table.ci_t_low[0] == 0.0 and table.ci_t_low[1] < -1


def test_expanded_levels():
    # Hesterberg: alpha' / 2 = Phi(-sqrt(n / (n - 1)) t(0.975, n - 1)); 0.00095 at n = 5
    low, high = expanded_levels(5)
    assert low == pytest.approx(0.000954, abs=2e-6) and high == 1 - low
    assert expanded_levels(1000)[0] == pytest.approx(0.025, abs=2e-4)  # the percentile one
    with pytest.raises(ValueError, match="at least 2"):
        expanded_levels(1)


def test_seeds_needed_range():
    from scipy.stats import chi2
    small, large = (math.sqrt(4 / chi2.ppf(q, 4)) for q in (0.975, 0.025))
    assert small == pytest.approx(0.5991, abs=1e-4) and large == pytest.approx(2.8735, abs=1e-4)
    low, high = seeds_needed_range(0.05, 5, 0.005)
    assert low < seeds_needed(0.05, 0.005) < high
    assert (low, high) == (seeds_needed(0.05 * small, 0.005), seeds_needed(0.05 * large, 0.005))
    assert seeds_needed_range(0.05, 5, 5e-4) == (seeds_needed(0.05 * small, 5e-4), math.inf)
    wide, narrow = seeds_needed_range(1.0, 5, 0.1), seeds_needed_range(1.0, 50, 0.1)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    with pytest.raises(ValueError, match="2 seeds"):
        seeds_needed_range(1.0, 1, 0.1)
