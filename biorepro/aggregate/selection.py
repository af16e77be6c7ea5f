"""The selection rules across seeds: what each rule reports, and the optimism of the
literature's rule with its interval (rules: :mod:`biorepro.evaluate.selection`).

Each run's metrics entry holds every rule's test metrics; with several folds, a seed's
value is its mean over the folds. Across seeds: mean, std and the CIs of the mean of
:func:`biorepro.aggregate.stats.summarize` (diverged runs have no rules and are left out).
The optimism row summarizes each seed's difference (the honest rule's test HTER minus the
literature's), so its interval is that of the paired difference.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from biorepro.aggregate import stats, tables
from biorepro.evaluate.selection import CHECKPOINTS, HONEST, LITERATURE, THRESHOLDS
from biorepro.store.layouts import METRICS
from biorepro.store.roles import Run

SHOWN = ("test_hter", "test_auc", "test_apcer_ap", "test_bpcer")  # the table's metrics
THRESHOLD_NAMES = {"devel": "source devel", "test": "test (optimistic)"}
CHECKPOINT_NAMES = {"last": "last epoch", "best-devel": "best on devel",
                    "best-test": "best on test (optimistic)"}
OPTIMISM = "optimism"  # the checkpoint column's value of the optimism row


def per_run(metrics_entries: dict[str, str], level: str) -> pd.DataFrame:
    """One row per (fold, run, rule) at ``level`` (runs without rules left out), and a row
    per run whose checkpoint is :data:`OPTIMISM` (its ``test_hter``: the honest rule's
    minus the literature's). Columns ``fold``, ``seed``, ``threshold``, ``checkpoint``,
    ``epoch`` and the rules' metrics."""
    rows = []
    for role, path in metrics_entries.items():
        run = Run.parse(role, level=True)
        if run.level != level:
            continue
        record = json.loads((Path(path) / METRICS.metrics()).read_text())
        found = record.get("selection")
        if not found:
            continue
        ids = {"fold": run.fold, "seed": run.label}
        rows += [{**ids, **rule} for rule in found["rules"]]
        rows.append({**ids, "threshold": LITERATURE[0], "checkpoint": OPTIMISM,
                     "test_hter": found["optimism"]})
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, st: dict) -> pd.DataFrame:
    """Every rule across seeds (each seed's mean over the folds): per rule and metric of
    :data:`SHOWN`, ``<metric>_mean``, ``_std``, ``_ci_low``, ``_ci_high`` (bootstrap),
    ``n`` and the mean ``epoch``; rules in declaration order, the optimism row last
    (``test_hter`` only)."""
    order = [(t, c) for t in THRESHOLDS for c in CHECKPOINTS] + [(LITERATURE[0], OPTIMISM)]
    seeds = (runs.groupby(["threshold", "checkpoint", "seed"], sort=False)
             [[c for c in (*SHOWN, "epoch") if c in runs]].mean().reset_index())
    out = []
    for threshold, checkpoint in order:
        rule = seeds[(seeds["threshold"] == threshold) & (seeds["checkpoint"] == checkpoint)]
        row = {"threshold": threshold, "checkpoint": checkpoint, "n": len(rule),
               "epoch": rule["epoch"].mean() if checkpoint != OPTIMISM else float("nan")}
        for metric in SHOWN if checkpoint != OPTIMISM else ("test_hter",):
            s = stats.summarize(rule[metric], n_boot=st["n_boot"], ci=st["ci"],
                                seed=st["bootstrap_seed"])
            row.update({f"{metric}_mean": s["mean"], f"{metric}_std": s["std"],
                        f"{metric}_ci_low": s["ci_boot_low"],
                        f"{metric}_ci_high": s["ci_boot_high"]})
        out.append(row)
    return pd.DataFrame(out)


def display(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The display table (strings): each rule, its test HTER and AUC as ``mean ± std``
    with the HTER's CI, the mean epoch it takes; the optimism row names the rules."""
    rows = []
    for rec in summary.to_dict("records"):
        optimism = rec["checkpoint"] == OPTIMISM
        ci = tables.interval("test_hter", rec["test_hter_ci_low"], rec["test_hter_ci_high"],
                             rec["n"] < stats.MIN_RELIABLE_N, digits)
        rows.append({
            "threshold": ("honest rule minus the literature's" if optimism
                          else THRESHOLD_NAMES[rec["threshold"]]),
            "checkpoint": ("optimism" if optimism else CHECKPOINT_NAMES[rec["checkpoint"]]),
            "seeds": str(rec["n"]),
            "test HTER": f"{_pm(rec, 'test_hter', digits)} {ci}",
            "test AUC": "" if optimism else _pm(rec, "test_auc", digits),
            "mean epoch": "" if optimism else tables.format_value("epoch", rec["epoch"])})
    return pd.DataFrame(rows)


def note(ci: float, n_boot: int) -> str:
    """The note under the table."""
    return (f"Honest rule: threshold on source devel, the checkpoint training keeps "
            f"({HONEST[0]}, {HONEST[1]}); the literature's: threshold at the test EER, the "
            f"checkpoint with the lowest test HTER ({LITERATURE[0]}, {LITERATURE[1]}). "
            f"Mean ± std over seeds, {ci:.0%} CI of the mean by expanded percentile "
            f"bootstrap ({n_boot} resamples); the optimism's interval is that of the paired "
            f"difference. Rates in %.")


def _pm(rec: dict, metric: str, digits: int) -> str:
    mean = tables.format_value(metric, rec[f"{metric}_mean"], digits)
    return f"{mean} ± {tables.format_value(metric, rec[f'{metric}_std'], digits)}"
