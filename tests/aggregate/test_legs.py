"""A benchmark's table: legs as columns, each cell the mean ± std over that leg's seeds."""

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate import legs
from biorepro.aggregate.selection import OPTIMISM

ST = {"n_boot": 200, "ci": 0.95, "bootstrap_seed": 0}
TITLES = {"OCI-M": "O&C&I→M", "OMI-C": "O&M&I→C"}
HTER = {"OCI-M": [0.10, 0.20, 0.30], "OMI-C": [0.40, 0.50, 0.60]}


def per_run(diverged=None):
    rows = [{"fold": leg, "run": f"{leg}/{s}", "seed": s, "status": "ok", "test_hter": h,
             "test_auc": 1 - h, "test_tpr_at_fpr_1pct": h / 2}
            for leg, values in HTER.items() for s, h in enumerate(values)]
    if diverged:
        rows.append({"fold": "OCI-M", "run": "OCI-M/9", "seed": 9, "status": "diverged",
                     "test_hter": 0.99, "test_auc": np.nan, "test_tpr_at_fpr_1pct": np.nan})
    return pd.DataFrame(rows)


def selection_runs():
    rows = []
    for leg, values in HTER.items():
        for s, h in enumerate(values):
            rows += [{"fold": leg, "seed": s, "threshold": "test", "checkpoint": "best-test",
                      "test_hter": h - 0.05},
                     {"fold": leg, "seed": s, "threshold": "devel", "checkpoint": "last",
                      "test_hter": h},
                     {"fold": leg, "seed": s, "threshold": "test", "checkpoint": OPTIMISM,
                      "test_hter": 0.05}]
    return pd.DataFrame(rows)


def test_each_cell_is_its_legs_seeds_and_diverged_runs_are_left_out():
    summary = legs.summarize(per_run(diverged=True), pd.DataFrame(), TITLES, ST)
    cell = summary.set_index(["row", "leg"])
    for leg, values in HTER.items():
        assert cell.loc[("test_hter", leg), "mean"] == pytest.approx(np.mean(values))
        assert cell.loc[("test_hter", leg), "std"] == pytest.approx(np.std(values, ddof=1))
        assert cell.loc[("test_hter", leg), "n"] == 3
        assert cell.loc[("test_auc", leg), "mean"] == pytest.approx(1 - np.mean(values))
    table = legs.display(summary)
    assert list(table.columns) == ["metric", "O&C&I→M", "O&M&I→C"]
    assert list(table["metric"]) == ["HTER", "AUC", "TPR@FPR=1%"]
    assert table.iloc[0, 1] == "20.00% ± 10.00%"


def test_the_literatures_rule_and_its_optimism_follow_with_a_ci():
    summary = legs.summarize(per_run(), selection_runs(), TITLES, ST)
    cell = summary.set_index(["row", "leg"])
    assert cell.loc[("literature", "OMI-C"), "mean"] == pytest.approx(0.45)
    assert cell.loc[(OPTIMISM, "OCI-M"), "mean"] == pytest.approx(0.05)
    table = legs.display(summary).set_index("metric")
    assert table.loc["optimism (honest − literature's)", "O&C&I→M"].startswith(
        "5.00% ± 0.00% [5.00%, 5.00%]")


def test_a_row_the_runs_lack_is_named_in_the_note_with_the_setting_that_adds_it():
    assert "not shown" not in legs.note(per_run(), 0.95, 200)
    lacking = per_run().drop(columns="test_tpr_at_fpr_1pct")
    assert list(legs.display(legs.summarize(lacking, pd.DataFrame(), TITLES, ST))["metric"]) == [
        "HTER", "AUC"]
    assert legs.note(lacking, 0.95, 200).endswith(
        "TPR@FPR=1% is not shown: add 0.01 to config key evaluate.operating_points.fpr.")
