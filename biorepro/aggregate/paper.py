"""Reported vs reproduced: each published number (config ``paper.results``) beside what
the experiment reproduced.

A published row names a metric and a level, and what it summarises: ``fold: null``, the
summary across seeds (with folds, each seed's mean over the folds, as the summary
table); a fold name, that fold's seeds; ``"across folds"``, the fold means (mean ± std
of the fold means, as papers and bob's ``multi-metrics`` report). ``target`` names a
cross-dataset target (``evaluate.cross[].name``): the models tested on it. Rows are read
and checked against the config by :func:`biorepro.config.paper_results`.

Conventions. Values are in the metric's own unit (rates as fractions; ``unit: percent``
is divided by 100 when the config is read). The reproduced ``n``, ``mean``, ``std``
(ddof 1), ``min``/``max`` (the seed range) and both confidence intervals of the mean
(expanded percentile bootstrap, Student t; clipped to the metric's range, ``clipped``,
``approximate``) come from :func:`biorepro.aggregate.stats.summarize_seeds` with the
summary's settings: runs that are not ``ok`` are left out (``n_diverged``), NaN
values too. For ``"across folds"``: n folds, mean and std of the fold means with
:data:`~biorepro.aggregate.stats.FOLD_DDOF` (0), min/max of the fold means, no CI
(``clipped`` and ``approximate`` None).
``delta`` = reproduced mean − published value. ``inside_ci_boot``, ``inside_ci_t``,
``inside_range``: the published value lies in the interval, bounds included. ``overlap``
(with a published std): published mean ± std and reproduced mean ± std intersect, i.e.
``|delta| <= std_published + std``. A verdict that cannot be reached (no CI from one
seed, no published std) is None, never False. ``status``: ``ok``, ``metric not
produced`` (the per-run table has no such column: metric names are known only once runs
are evaluated, so planning cannot check them) or ``no value`` (every run NaN or not ok).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from biorepro.aggregate import stats

COLUMNS = ("experiment", "metric", "level", "fold", "target", "source", "note", "published",
           "published_std", "status", "n", "n_diverged", "mean", "std", "min", "max",
           "ci_boot_low", "ci_boot_high", "ci_t_low", "ci_t_high", "clipped", "approximate",
           "delta", "inside_ci_boot", "inside_ci_t", "inside_range", "overlap")


def scope(rec: Mapping) -> str:
    """What a row of :func:`compare` summarises, in words: ``"→ <target>, <fold>"``,
    either part left out when null (``""``: the summary across seeds)."""
    parts = [f"→ {rec['target']}"] if isinstance(rec["target"], str) else []
    return ", ".join(parts + ([rec["fold"]] if isinstance(rec["fold"], str) else []))


def _inside(value: float, low: float, high: float) -> bool | None:
    return None if math.isnan(low) or math.isnan(high) else bool(low <= value <= high)


def reproduce(per_run: pd.DataFrame, row: dict, *, n_boot: int = 10000, ci: float = 0.95,
              seed: int = 0) -> tuple[dict, np.ndarray]:
    """One published ``row`` against the per-run table it concerns (one row per (fold,
    seed) run: ``fold``, ``seed``, ``status`` and the metrics, as ``per_seed_<level>.csv``):
    a record with the keys of :data:`COLUMNS`, and the values summarised (seeds, or fold
    means, in the metric's unit) for a figure."""
    metric, fold, published, pub_std = row["metric"], row["fold"], row["value"], row["std"]
    record = {k: float("nan") for k in COLUMNS} | {
        "experiment": row["experiment"], "metric": metric, "level": row["level"], "fold": fold,
        "target": row["target"], "source": row["source"], "note": row["note"],
        "published": published, "published_std": pub_std, "clipped": None,
        "approximate": None, "inside_ci_boot": None, "inside_ci_t": None, "inside_range": None,
        "overlap": None}
    if metric not in per_run.columns:
        return record | {"status": "metric not produced"}, np.empty(0)
    if fold == stats.ACROSS_FOLDS:
        folds = stats.summarize_folds(per_run, [metric]).set_index("fold")
        values = folds["mean"].drop([stats.ACROSS_FOLDS, "all runs"]).dropna().to_numpy()
        across = folds.loc[stats.ACROSS_FOLDS]
        record |= {"n": int(across["n"]), "mean": across["mean"], "std": across["std"],
                   "min": values.min() if values.size else float("nan"),
                   "max": values.max() if values.size else float("nan"),
                   "n_diverged": int((per_run["status"] != "ok").sum())}
    else:
        runs = (per_run[per_run["fold"] == fold] if fold is not None
                else stats.seed_means(per_run, [metric]) if per_run["fold"].nunique() > 1
                else per_run)
        summary = stats.summarize_seeds(runs, metrics=[metric], n_boot=n_boot, ci=ci,
                                        seed=seed).iloc[0]
        record |= {k: summary[k] for k in ("n", "n_diverged", "mean", "std", "min", "max",
                                           "ci_boot_low", "ci_boot_high", "ci_t_low",
                                           "ci_t_high", "clipped", "approximate")}
        values = runs.loc[runs["status"] == "ok", metric].dropna().to_numpy(dtype=np.float64)
    if not values.size:
        return record | {"status": "no value"}, values
    delta = record["mean"] - published
    record |= {"status": "ok", "delta": delta,
               "inside_ci_boot": _inside(published, record["ci_boot_low"], record["ci_boot_high"]),
               "inside_ci_t": _inside(published, record["ci_t_low"], record["ci_t_high"]),
               "inside_range": _inside(published, record["min"], record["max"]),
               "overlap": (None if pub_std is None or math.isnan(record["std"])
                           else bool(abs(delta) <= pub_std + record["std"]))}
    return record, values


def compare(rows: list[dict], per_runs: Mapping[tuple[str, str | None], pd.DataFrame], *,
            n_boot: int = 10000, ci: float = 0.95, seed: int = 0
            ) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Every published row (:func:`reproduce`), in the config's order: a table with the
    columns of :data:`COLUMNS` and, per row, the values summarised. ``per_runs`` maps
    ``(level, target)`` (target None: the experiment's own test set) to its per-run table."""
    out = [reproduce(per_runs[r["level"], r["target"]], r, n_boot=n_boot, ci=ci, seed=seed)
           for r in rows]
    return (pd.DataFrame([rec for rec, _ in out], columns=list(COLUMNS)),
            [values for _, values in out])
