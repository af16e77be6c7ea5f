"""Variance by source: simulated known components, textbook ANOVA by hand, design checks,
bootstrap intervals and the figure."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate import plots
from biorepro.aggregate.variance import (
    CI_COLUMNS,
    DECOMPOSITION_COLUMNS,
    METHODS,
    decompose,
    decompose_with_ci,
)


def simulate(levels: dict[str, int], variances: dict[tuple, float], rng, *,
             replicates: int = 1, within: float = 0.0) -> pd.DataFrame:
    """A crossed design: one normal effect per level of every term in ``variances`` (a
    tuple of sources), plus normal within-run noise of variance ``within``."""
    effects = {t: rng.normal(0, np.sqrt(v), [levels[s] for s in t]) for t, v in variances.items()}
    rows = []
    for cell in itertools.product(*map(range, levels.values())):
        seeds = dict(zip(levels, cell))
        value = sum(e[tuple(seeds[s] for s in t)] for t, e in effects.items())
        for r in range(replicates):
            rows.append({**seeds, "replicate": r, "status": "ok",
                         "m": value + rng.normal(0, np.sqrt(within))})
    return pd.DataFrame(rows)


def components(table: pd.DataFrame) -> dict[str, float]:
    return dict(zip(table["component"], table["variance"]))


def test_crossed_recovers_known_components():
    rng = np.random.default_rng(0)
    levels = {"init": 8, "order": 8, "noise": 8}
    truth = {"init": 4.0, "order": 1.0, "noise": 0.25, "init×order": 0.5, "init×noise": 0.0,
             "order×noise": 0.0, "residual": 0.01}
    variances = {("init",): 4.0, ("order",): 1.0, ("noise",): 0.25, ("init", "order"): 0.5}
    estimates = []
    for _ in range(40):
        table = decompose(simulate(levels, variances, rng, within=0.01), "m", "crossed")
        assert list(table.columns) == list(DECOMPOSITION_COLUMNS)
        assert list(table["component"]) == list(truth)
        assert table["share"].sum() == pytest.approx(1.0)
        assert (table["n_runs"] == 512).all()
        assert list(table["n_levels"]) == [8, 8, 8, 64, 64, 64, 512]
        estimates.append(table["variance"].to_numpy())
    mean = dict(zip(truth, np.mean(estimates, axis=0)))
    tolerance = {"init": 1.2, "order": 0.25, "noise": 0.06, "init×order": 0.08,
                 "init×noise": 0.01, "order×noise": 0.01, "residual": 0.001}
    for name, value in truth.items():
        assert mean[name] == pytest.approx(value, abs=tolerance[name]), name


def test_crossed_replicates_give_the_within_cell_variance():
    rng = np.random.default_rng(1)
    runs = simulate({"init": 5, "order": 4}, {("init",): 1.0, ("order",): 0.5}, rng,
                    replicates=3, within=0.3)
    table = decompose(runs, "m", "crossed")
    assert list(table["component"]) == ["init", "order", "init×order", "replicate"]
    pooled = runs.groupby(["init", "order"])["m"].var(ddof=1).mean()
    row = table.set_index("component").loc["replicate"]
    assert row["variance"] == pytest.approx(pooled, rel=1e-12)
    assert row["variance"] == pytest.approx(0.3, abs=0.15)
    assert row["n_levels"] == 3 and row["n_runs"] == 60


def two_way(y: np.ndarray) -> dict[str, float]:
    """Textbook two-way random ANOVA of ``y[i, j, k]`` (a levels, b levels, n per cell)."""
    a, b, n = y.shape
    grand, cell = y.mean(), y.mean(axis=2)
    row, col = y.mean(axis=(1, 2)), y.mean(axis=(0, 2))
    msa = b * n * ((row - grand) ** 2).sum() / (a - 1)
    msb = a * n * ((col - grand) ** 2).sum() / (b - 1)
    msab = n * ((cell - row[:, None] - col[None, :] + grand) ** 2).sum() / ((a - 1) * (b - 1))
    out = {"init": (msa - msab) / (b * n), "order": (msb - msab) / (a * n)}
    if n == 1:
        return out | {"residual": msab}
    mse = ((y - cell[:, :, None]) ** 2).sum() / (a * b * (n - 1))
    return out | {"init×order": (msab - mse) / n, "replicate": mse}


def as_runs(y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([{"init": 10 + i, "order": 20 + j, "replicate": k, "m": y[i, j, k]}
                         for i, j, k in itertools.product(*map(range, y.shape))])


@pytest.mark.parametrize("n", [1, 2])
def test_two_by_three_matches_textbook_formulas(n):
    y = np.array([[[0.11, 0.13], [0.20, 0.18], [0.16, 0.19]],
                  [[0.25, 0.21], [0.31, 0.35], [0.22, 0.27]]])[:, :, :n]
    expected = two_way(y)
    assert min(expected.values()) > 0
    table = decompose(as_runs(y), "m", "crossed")
    assert components(table) == pytest.approx(expected, rel=1e-10)
    assert table["share"].to_numpy() == pytest.approx(
        np.array(list(expected.values())) / sum(expected.values()), rel=1e-10)


def test_negative_estimate_is_set_to_zero_and_the_others_kept():
    # equal row means: MSA = 0 < MSAB, so the init estimate is negative
    y = np.array([[[0.1, 0.2], [0.4, 0.3], [0.5, 0.6]],
                  [[0.3, 0.2], [0.2, 0.1], [0.7, 0.6]]])
    expected = two_way(y)
    assert expected["init"] < 0 and expected["order"] > 0
    got = components(decompose(as_runs(y), "m", "crossed"))
    assert got["init"] == 0.0
    assert got == pytest.approx(expected | {"init": 0.0}, rel=1e-10)
    # additive cell means, wide replicates: MSAB < MSE, the interaction estimate is
    # negative; the main effects are still solved with it, (MSA - MSAB) / (b n)
    means = np.array([0.1, 0.3])[:, None] + np.array([0.0, 0.2, 0.5]) + [[0.01, 0, 0], [0, 0, 0]]
    y = means[:, :, None] + [-0.1, 0.1]
    expected = two_way(y)
    assert expected["init×order"] < 0 < min(expected["init"], expected["order"])
    got = components(decompose(as_runs(y), "m", "crossed"))
    assert got == pytest.approx(expected | {"init×order": 0.0}, rel=1e-10)


def one_at_a_time_runs() -> pd.DataFrame:
    """Baseline (all 0), 4 init seeds, 3 order seeds, 2 repeats; noise never varied."""
    seeds = ([(0, 0, 0)] + [(i, 0, 0) for i in (3, 5, 7, 9)] + [(0, o, 0) for o in (1, 2, 4)]
             + [(0, 0, r) for r in (1, 2)])
    values = [0.10, 0.14, 0.07, 0.12, 0.19, 0.11, 0.105, 0.09, 0.102, 0.099]
    return pd.DataFrame([{"init": i, "order": o, "noise": 42, "replicate": r, "status": "ok",
                          "m": v} for (i, o, r), v in zip(seeds, values)])


def test_one_at_a_time_is_the_sample_variance_of_each_group():
    runs = one_at_a_time_runs()
    table = decompose(runs, "m", "one-at-a-time")
    m = runs["m"].to_numpy()
    expected = {"init": np.var(m[:5], ddof=1), "order": np.var(m[[0, 5, 6, 7]], ddof=1),
                "replicate": np.var(m[[0, 8, 9]], ddof=1)}
    assert components(table) == pytest.approx(expected, rel=1e-12)  # no noise, no split row
    assert list(table["n_runs"]) == list(table["n_levels"]) == [5, 4, 3]
    assert table["share"].to_numpy() == pytest.approx(
        np.array(list(expected.values())) / sum(expected.values()))


def test_nan_values_and_failed_runs_are_dropped():
    runs = one_at_a_time_runs()
    runs.loc[3, "m"] = np.nan
    diverged = {"init": 11, "order": 0, "noise": 42, "replicate": 0, "status": "diverged",
                "m": 0.5}
    runs = pd.concat([runs, pd.DataFrame([diverged])], ignore_index=True)
    row = decompose(runs, "m", "one-at-a-time").set_index("component").loc["init"]
    assert row["variance"] == pytest.approx(np.var([0.10, 0.14, 0.07, 0.19], ddof=1))
    assert row["n_runs"] == 4


def test_no_variance_gives_nan_shares():
    table = decompose(one_at_a_time_runs().assign(m=0.2), "m", "one-at-a-time")
    assert (table["variance"] == 0).all() and table["share"].isna().all()
    table = decompose(as_runs(np.full((2, 3, 2), 0.3)), "m", "crossed")
    assert (table["variance"] == 0).all() and table["share"].isna().all()


def test_design_errors_name_the_runs_or_cells():
    runs = one_at_a_time_runs()
    two = pd.DataFrame([{"init": 3, "order": 4, "noise": 42, "replicate": 0, "status": "ok",
                         "m": 0.1}])
    with pytest.raises(ValueError, match="more than one source: init=3, order=4, noise=42"):
        decompose(pd.concat([runs, two]), "m", "one-at-a-time")
    with pytest.raises(ValueError, match="same seeds: init=3"):
        decompose(pd.concat([runs, runs.iloc[[1]]]), "m", "one-at-a-time")
    grid = as_runs(np.arange(6.0).reshape(2, 3, 1))
    with pytest.raises(ValueError, match=r"missing combinations: init=11, order=21$"):
        decompose(grid.drop(index=4), "m", "crossed")
    grid.loc[4, "m"] = np.nan  # its metric missing: the same hole
    with pytest.raises(ValueError, match=r"missing combinations: init=11, order=21$"):
        decompose(grid, "m", "crossed")
    repeats = as_runs(np.arange(12.0).reshape(2, 3, 2))
    with pytest.raises(ValueError, match=r"cells without 2 runs: init=10, order=22$"):
        decompose(repeats.drop(index=5), "m", "crossed")
    with pytest.raises(ValueError, match="design must be"):
        decompose(runs, "m", "nested")
    with pytest.raises(ValueError, match="no source varies"):
        decompose(runs.iloc[:1], "m", "one-at-a-time")


def test_bootstrap_intervals():
    rng = np.random.default_rng(2)
    runs = simulate({"init": 6, "order": 6}, {("init",): 1.0, ("order",): 0.3}, rng, within=0.2)
    runs["other"] = runs["m"] * 0.5 + rng.normal(0, 0.1, len(runs))
    table = decompose_with_ci(runs, ["m", "other"], "crossed", n_boot=500)
    assert list(table.columns) == list(CI_COLUMNS)
    assert (table["method"] == METHODS["crossed"]).all() and (table["design"] == "crossed").all()
    point = decompose(runs, "other", "crossed")
    other = table[table["metric"] == "other"].reset_index(drop=True)
    pd.testing.assert_frame_equal(other[list(point.columns)], point, check_dtype=False)
    assert (table["share_ci_low"] <= table["share"]).all()
    assert (table["share"] <= table["share_ci_high"]).all()
    assert (table["variance_ci_low"] <= table["variance"]).all()
    assert (table["variance"] <= table["variance_ci_high"]).all()
    assert (table["share_ci_high"] - table["share_ci_low"] > 0.05).all()
    again = decompose_with_ci(runs, ["m", "other"], "crossed", n_boot=500)
    pd.testing.assert_frame_equal(table, again)
    alone = decompose_with_ci(runs, ["other"], "crossed", n_boot=500)  # per-metric resamples
    pd.testing.assert_frame_equal(other, alone)
    reseeded = decompose_with_ci(runs, ["m", "other"], "crossed", n_boot=500, seed=1)
    assert not np.allclose(table["share_ci_low"], reseeded["share_ci_low"])


def test_bootstrap_interval_shrinks_with_more_levels():
    rng = np.random.default_rng(3)
    widths = []
    for k in (4, 16):
        runs = simulate({"init": k, "order": k}, {("init",): 1.0, ("order",): 1.0}, rng,
                        within=0.5)
        row = decompose_with_ci(runs, ["m"], "crossed", n_boot=500).iloc[0]
        widths.append(row["share_ci_high"] - row["share_ci_low"])
    assert widths[1] < 0.7 * widths[0]


def test_one_at_a_time_bootstrap_resamples_within_groups():
    # one group of two runs: resampled variances are 0 or 1/2, each with probability 1/2
    runs = pd.DataFrame({"init": [0, 1], "m": [0.0, 1.0]})
    row = decompose_with_ci(runs, ["m"], "one-at-a-time", n_boot=1000).iloc[0]
    assert (row["variance"], row["variance_ci_low"], row["variance_ci_high"]) == (0.5, 0.0, 0.5)
    assert row["share"] == row["share_ci_low"] == row["share_ci_high"] == 1.0
    assert row["method"] == METHODS["one-at-a-time"]


def test_variance_figure(tmp_path):
    rng = np.random.default_rng(4)
    runs = simulate({"init": 4, "order": 3, "noise": 2},
                    {("init",): 1.0, ("order",): 0.3, ("noise",): 0.1}, rng, within=0.1)
    runs["flat"] = 0.2
    table = decompose_with_ci(runs, ["m", "flat"], "crossed", n_boot=200)
    paths = plots.plot_variance(table, ["m", "flat"], tmp_path / "variance", title="shares")
    assert [p.suffix for p in paths] == [".svg", ".png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    first = [p.read_bytes() for p in paths]
    plots.plot_variance(table, ["m", "flat"], tmp_path / "variance", title="shares")
    assert [p.read_bytes() for p in paths] == first
    with pytest.raises(ValueError, match="missing metrics"):
        plots.plot_variance(table, ["absent"], tmp_path / "none")


def test_one_and_four_varied_sources():
    runs = as_runs(np.array([0.1, 0.4, 0.2, 0.35]).reshape(4, 1, 1))
    table = decompose(runs, "m", "crossed")  # one source, no repeats: its sample variance
    assert list(table["component"]) == ["init"]
    assert table["variance"].iloc[0] == pytest.approx(np.var([0.1, 0.4, 0.2, 0.35], ddof=1))
    rng = np.random.default_rng(5)
    levels = {"init": 4, "order": 4, "noise": 4, "split": 4}
    variances = {("init",): 1.0, ("split",): 0.5, ("init", "order", "noise"): 0.4}
    tables = [decompose(simulate(levels, variances, rng, replicates=2, within=0.2), "m",
                        "crossed").set_index("component")["variance"] for _ in range(30)]
    mean = pd.concat(tables, axis=1).mean(axis=1)
    assert len(mean) == 15 + 1 and mean.index[-1] == "replicate"
    truth = {"init": 1.0, "split": 0.5, "init×order×noise": 0.4, "replicate": 0.2}
    for name, value in mean.items():
        assert value == pytest.approx(truth.get(name, 0.0), abs=0.35 * truth.get(name, 0.1)), name
