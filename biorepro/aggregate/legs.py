"""A benchmark's table as papers print it: one column per leg (``O&C&I→M``), one row per
metric, each cell the mean ± std over seeds (ddof :data:`biorepro.aggregate.stats.DDOF`)
of the runs that finished (diverged runs left out).

With per-epoch scores (``train.score_every``), two rows follow: the test HTER under the
literature's selection rule (threshold at the test EER, checkpoint best on test) and its
optimism (the honest rule's HTER minus the literature's, per seed), with its CI across
seeds (:mod:`biorepro.aggregate.selection`).
"""

from __future__ import annotations

import pandas as pd

from biorepro.aggregate import stats, tables
from biorepro.aggregate.selection import OPTIMISM
from biorepro.evaluate.selection import LITERATURE

SHOWN = ("test_hter", "test_auc", "test_tpr_at_fpr_1pct")  # the rows, as the literature's
NAMES = {"test_hter": "HTER", "test_auc": "AUC", "test_tpr_at_fpr_1pct": "TPR@FPR=1%",
         "literature": "HTER, literature's rule (optimistic)",
         OPTIMISM: "optimism (honest − literature's)"}
# What to set when a row of SHOWN is absent from the runs' metrics.
MISSING = {"test_tpr_at_fpr_1pct": "add 0.01 to config key evaluate.operating_points.fpr"}


def summarize(per_run: pd.DataFrame, selection_runs: pd.DataFrame, legs: dict[str, str],
              st: dict) -> pd.DataFrame:
    """One row per (row of the table, leg): ``row`` (a metric, ``literature`` or
    :data:`~biorepro.aggregate.selection.OPTIMISM`), ``leg``, ``title``, ``n``, ``mean``,
    ``std``, ``ci_low``, ``ci_high`` (bootstrap CI of the mean, ``st``'s settings)."""
    ok = per_run[per_run["status"] == "ok"]
    values = {metric: {leg: ok.loc[ok["fold"] == leg, metric] for leg in legs}
              for metric in SHOWN if metric in ok}
    if not selection_runs.empty:
        literature = selection_runs[(selection_runs["threshold"] == LITERATURE[0])
                                    & (selection_runs["checkpoint"] == LITERATURE[1])]
        optimism = selection_runs[selection_runs["checkpoint"] == OPTIMISM]
        for row, runs in (("literature", literature), (OPTIMISM, optimism)):
            values[row] = {leg: runs.loc[runs["fold"] == leg, "test_hter"] for leg in legs}
    rows = []
    for row, by_leg in values.items():
        for leg, x in by_leg.items():
            s = stats.summarize(x, n_boot=st["n_boot"], ci=st["ci"], seed=st["bootstrap_seed"])
            rows.append({"row": row, "leg": leg, "title": legs[leg], "n": s["n"],
                         "mean": s["mean"], "std": s["std"], "ci_low": s["ci_boot_low"],
                         "ci_high": s["ci_boot_high"]})
    return pd.DataFrame(rows, columns=["row", "leg", "title", "n", "mean", "std", "ci_low",
                                       "ci_high"])


def display(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The display table: a column per leg (its title), a row per metric, cells
    ``mean ± std`` in %; the optimism row also shows its CI."""
    rows = {}
    for rec in summary.to_dict("records"):
        metric = "test_hter" if rec["row"] in ("literature", OPTIMISM) else rec["row"]
        cell = (f"{tables.format_value(metric, rec['mean'], digits)} ± "
                f"{tables.format_value(metric, rec['std'], digits)}")
        if rec["row"] == OPTIMISM:
            cell += " " + tables.interval(metric, rec["ci_low"], rec["ci_high"],
                                          rec["n"] < stats.MIN_RELIABLE_N, digits)
        rows.setdefault(rec["row"], {"metric": NAMES[rec["row"]]})[rec["title"]] = cell
    return pd.DataFrame(list(rows.values()))


def note(per_run: pd.DataFrame, ci: float, n_boot: int) -> str:
    """The note under the table (naming a row of :data:`SHOWN` that the runs lack, and the
    setting that adds it)."""
    absent = "".join(f" {NAMES[m]} is not shown: {MISSING[m]}." for m in SHOWN
                     if m not in per_run)
    return (f"Each cell: mean ± std over seeds (ddof={stats.DDOF}) of the leg's runs, the "
            "threshold as evaluate.threshold_from says (default: the EER on the sources' devel "
            "set). Optimism: per seed, the honest rule's test HTER minus the literature's, "
            "with the "
            f"{ci:.0%} CI of its mean (expanded percentile bootstrap, {n_boot} resamples). "
            "Rates in %." + absent)
