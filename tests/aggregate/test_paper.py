"""Reported vs reproduced: published numbers against hand-made per-run tables."""

import math

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate import paper, plots, stats, tables
from biorepro.aggregate.stats import summarize

HTER = {"A": [0.10, 0.12, 0.14], "B": [0.20, 0.22, 0.24]}  # fold -> value of seeds 0, 1, 2


def per_run(status=("ok",) * 6) -> pd.DataFrame:
    rows = [{"fold": f, "run": f"{f}/{s}", "seed": s, "test_hter": v, "test_auc": 1 - v}
            for f, values in HTER.items() for s, v in enumerate(values)]
    return pd.DataFrame(rows).assign(status=list(status))


def row(**given) -> dict:
    return {"metric": "test_hter", "value": 0.17, "std": None, "level": "video", "fold": None,
            "target": None, "experiment": "demo", "source": "Table 2", "note": None, **given}


def reproduce(table, r):
    return paper.reproduce(table, r, n_boot=2000, ci=0.95, seed=0)


def test_across_seeds_takes_each_seeds_mean_over_the_folds():
    rec, values = reproduce(per_run(), row(value=0.17))
    np.testing.assert_allclose(values, [0.15, 0.17, 0.19])
    expected = summarize(values, n_boot=2000, ci=0.95, seed=0)
    for key in ("n", "mean", "std", "min", "max", "ci_boot_low", "ci_t_high"):
        assert rec[key] == pytest.approx(expected[key]), key
    assert rec["status"] == "ok" and rec["delta"] == pytest.approx(0.0, abs=1e-12)
    assert rec["inside_ci_boot"] and rec["inside_ci_t"] and rec["inside_range"]
    assert rec["overlap"] is None  # no published std


def test_a_value_outside_the_ci_but_inside_the_seed_range():
    values = np.linspace(0.10, 0.19, 10)  # one fold: each run is a seed
    table = pd.DataFrame({"fold": "all", "run": [f"all/{s}" for s in range(10)],
                          "seed": range(10), "status": "ok", "test_hter": values})
    rec, used = reproduce(table, row(value=0.11, std=0.01))
    np.testing.assert_allclose(used, values)
    assert min(rec["ci_t_low"], rec["ci_boot_low"]) > 0.12  # both CIs miss 0.11 ...
    assert rec["inside_ci_boot"] is False and rec["inside_ci_t"] is False
    assert rec["inside_range"] is True  # ... one seed does as badly
    assert rec["delta"] == pytest.approx(0.145 - 0.11)
    assert rec["overlap"] is True  # 0.035 <= 0.01 + std 0.030


def test_a_value_outside_everything():
    rec, _ = reproduce(per_run(), row(value=0.05, std=0.01))
    assert (rec["inside_ci_boot"], rec["inside_ci_t"], rec["inside_range"], rec["overlap"]) == (
        False, False, False, False)
    assert rec["delta"] == pytest.approx(0.12)


def test_one_fold_takes_its_seeds():
    rec, values = reproduce(per_run(), row(fold="B", value=0.25))
    np.testing.assert_allclose(values, HTER["B"])
    assert (rec["n"], rec["mean"], rec["min"], rec["max"]) == pytest.approx((3, 0.22, 0.20, 0.24))
    assert rec["inside_range"] is False


def test_across_folds_is_the_mean_and_population_std_of_the_fold_means():
    rec, values = reproduce(per_run(), row(fold=stats.ACROSS_FOLDS, value=0.16, std=0.05))
    np.testing.assert_allclose(values, [0.12, 0.22])
    assert (rec["n"], rec["mean"], rec["std"]) == pytest.approx((2, 0.17, 0.05))  # ddof 0
    assert (rec["min"], rec["max"]) == pytest.approx((0.12, 0.22))
    assert math.isnan(rec["ci_boot_low"]) and rec["inside_ci_boot"] is None
    assert rec["inside_range"] is True and rec["overlap"] is True


def test_diverged_runs_are_left_out_as_in_the_summary():
    rec, values = reproduce(per_run(("ok", "diverged", "ok", "ok", "ok", "ok")), row(fold="A"))
    np.testing.assert_allclose(values, [0.10, 0.14])
    assert (rec["n"], rec["n_diverged"]) == (2, 1)


def test_a_metric_not_produced_is_marked_not_failed():
    rec, values = reproduce(per_run(), row(metric="test_hter_typo"))
    assert rec["status"] == "metric not produced" and values.size == 0
    assert rec["inside_range"] is None and math.isnan(rec["mean"])
    rec, _ = reproduce(per_run().assign(test_hter=np.nan), row())
    assert rec["status"] == "no value" and rec["inside_ci_t"] is None


def test_compare_writes_a_table_and_a_figure(tmp_path):
    rows = [row(std=0.02), row(metric="test_auc", value=0.9, fold="A", target="casia"),
            row(metric="made_up")]
    per_runs = {("video", None): per_run(), ("video", "casia"): per_run()}
    table, values = paper.compare(rows, per_runs, n_boot=500)
    assert list(table.columns) == list(paper.COLUMNS) and len(values) == 3
    paths = tables.write_paper(table, tmp_path / "paper", n_boot=500)
    md = paths["md"].read_text()
    assert "| test_hter | video | — | Table 2 | 17.00% ± 2.00% | 17.00% ± 2.00% | 3 |" in md
    assert "| test_auc | video | → casia, A |" in md and "metric not produced" in md
    assert pd.read_csv(paths["csv"])["status"].tolist() == ["ok", "ok", "metric not produced"]
    assert r"\toprule" in paths["tex"].read_text()
    svg, png = plots.plot_paper(table, values, tmp_path / "fig")
    assert svg.stat().st_size and png.stat().st_size
    assert plots.plot_paper(table, values, tmp_path / "again")[0].read_bytes() == svg.read_bytes()
