"""The selection rules across seeds (and folds), from metrics entries' records."""

import json

import pandas as pd
import pytest

from biorepro.aggregate import selection
from biorepro.evaluate.selection import CHECKPOINTS, THRESHOLDS
from biorepro.store.roles import Run

ST = {"n_boot": 200, "ci": 0.95, "bootstrap_seed": 0}


def entry(tmp_path, fold, seed, level, honest, literature, selected=True):
    """A metrics entry whose rules' test HTERs are ``honest`` for the devel threshold and
    ``literature`` for the test one (other metrics fixed)."""
    path = tmp_path / f"{fold}-{seed}-{level}"
    path.mkdir()
    rules = [{"threshold": t, "checkpoint": c, "epoch": 1 + i, "score_threshold": 0.5,
              "test_hter": honest if t == "devel" else literature, "test_auc": 0.9,
              "test_apcer_ap": 0.1, "test_bpcer": 0.2}
             for t in THRESHOLDS for i, c in enumerate(CHECKPOINTS)]
    record = {"seed": seed, "level": level, "status": "ok"}
    if selected:
        record["selection"] = {"rules": rules, "optimism": honest - literature}
    (path / "metrics.json").write_text(json.dumps(record))
    return Run(fold, seed, level).role, str(path)


def test_each_rule_and_the_optimism_across_seeds(tmp_path):
    entries = dict(entry(tmp_path, "all", s, "video", 0.1 + 0.01 * s, 0.05) for s in range(4))
    entries.update([entry(tmp_path, "all", 0, "frame", 0.3, 0.3),
                    entry(tmp_path, "all", 9, "video", 0.2, 0.1, selected=False)])
    runs = selection.per_run(entries, "video")
    assert len(runs) == 4 * 7 and set(runs["seed"]) == {0, 1, 2, 3}
    summary = selection.summarize(runs, ST)
    assert list(zip(summary["threshold"], summary["checkpoint"])) == [
        *((t, c) for t in THRESHOLDS for c in CHECKPOINTS), ("test", "optimism")]
    assert (summary["n"] == 4).all()
    honest = summary.iloc[1]
    assert honest["test_hter_mean"] == pytest.approx(0.115)
    assert honest["test_hter_ci_low"] <= 0.115 <= honest["test_hter_ci_high"]
    assert honest["epoch"] == 2 and honest["test_auc_mean"] == pytest.approx(0.9)
    optimism = summary.iloc[-1]
    assert optimism["test_hter_mean"] == pytest.approx(0.065)
    assert optimism["test_hter_std"] == pytest.approx(pd.Series([0.05, 0.06, 0.07, 0.08]).std())
    shown = selection.display(summary)
    assert shown.iloc[-1]["checkpoint"] == "optimism"
    assert shown.iloc[-1]["test HTER"].startswith("6.50% ± 1.29% [")
    assert shown.iloc[1]["test HTER"].startswith("11.50% ± ") and "(approx.)" in shown.iloc[1][
        "test HTER"]


def test_with_folds_a_seed_is_its_mean_over_the_folds(tmp_path):
    entries = dict([entry(tmp_path, f, s, "video", h, 0.0)
                    for s, by_fold in enumerate([(0.1, 0.3), (0.2, 0.2)])
                    for f, h in zip(("1", "2"), by_fold)])
    summary = selection.summarize(selection.per_run(entries, "video"), ST)
    assert (summary["n"] == 2).all()
    assert summary.iloc[-1]["test_hter_mean"] == pytest.approx(0.2)
    assert summary.iloc[-1]["test_hter_std"] == pytest.approx(0.0)


def test_runs_without_per_epoch_scores_give_no_table(tmp_path):
    entries = dict([entry(tmp_path, "all", 0, "video", 0.1, 0.1, selected=False)])
    assert selection.per_run(entries, "video").empty
