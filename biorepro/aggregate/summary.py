"""What an experiment's summary says, built from its tables (the summary job reads the
inputs and writes the files; see :mod:`biorepro.jobs.summary`).

- :func:`metric_columns`, :func:`summarize_level`: the metrics of a per-run table across
  seeds, with the seeds a target CI half-width needs (rates only);
- :func:`cross_rows`: one target's train × test rows (a seed's mean over the folds);
- :func:`landing_table`: the report's landing table (headline metrics with n, mean, std
  and the bootstrap interval);
- the Markdown of ``summary.md``: :func:`header`, :func:`level_lines`, :func:`paper_lines`,
  :func:`footer`.
"""

from __future__ import annotations

import math

import pandas as pd

from biorepro.aggregate import stats, tables
from biorepro.evaluate import registry
from biorepro.train.randomness import SOURCES

NOT_METRICS = ("seed", "target", "best_epoch", *SOURCES)  # numeric columns that identify
THRESHOLD_NAMES = {"devel": "source devel", "target-devel": "target devel",
                   "test": "target test (optimistic)"}


def metric_columns(per_seed: pd.DataFrame) -> list[str]:
    """The metric columns of a per-seed table: headline metrics first, then the rest."""
    return registry.ordered([c for c in per_seed.select_dtypes("number").columns
                             if c not in NOT_METRICS])


def summarize_level(per_seed: pd.DataFrame, st: dict) -> pd.DataFrame:
    """Every metric across seeds, with the seeds a target CI half-width needs (rates) and
    that number's range (``seeds_needed_low``/``_high``: the std is itself uncertain)."""
    summary = stats.summarize_seeds(per_seed, metrics=metric_columns(per_seed),
                                    n_boot=st["n_boot"], ci=st["ci"], seed=st["bootstrap_seed"])
    h, ci, nan = st["target_half_width"], st["ci"], float("nan")
    budgets = [  # for rates only: the half-width is a rate
        (stats.seeds_needed(s, h, ci), *stats.seeds_needed_range(s, n, h, ci))
        if registry.is_rate(m) and math.isfinite(s) and s > 0 else (nan, nan, nan)
        for m, s, n in zip(summary["metric"], summary["std"], summary["n"])]
    summary[["seeds_needed", "seeds_needed_low", "seeds_needed_high"]] = budgets
    return summary


def cross_rows(per_run: pd.DataFrame, name: str, target: str, st: dict) -> pd.DataFrame:
    """The ``cross`` metrics of one target across seeds (each seed's mean over the folds,
    with folds), headed by the train experiment, the target and the threshold's origin."""
    shown = [m for m in registry.with_role("cross") if m in per_run.columns]
    per_seed = stats.seed_means(per_run, shown) if per_run["fold"].nunique() > 1 else per_run
    summary = stats.summarize_seeds(per_seed, metrics=shown, n_boot=st["n_boot"], ci=st["ci"],
                                    seed=st["bootstrap_seed"])
    summary.insert(0, "threshold_from", THRESHOLD_NAMES[per_run["threshold_from"][0]])
    summary.insert(0, "test", target)
    summary.insert(0, "train", name)
    return summary


def landing_table(summary: pd.DataFrame, level: str) -> str:
    """The report's landing table (reStructuredText): each headline metric's n, mean, std
    and bootstrap interval."""
    shown = tables.format_summary(summary[summary["metric"].isin(registry.with_role("headline"))])
    columns = [c for c in shown.columns
               if c in ("Metric", "n", "Mean", "Std") or c.endswith("CI (bootstrap)")]
    return tables.to_rst(shown[columns], caption=f"{level} level, across seeds (n: runs used "
                                                 "/ run)")


def header(name: str, folds: list[str]) -> list[str]:
    """The title of ``summary.md``, and with several folds how the tables take them."""
    md = [f"# Experiment `{name}`", ""]
    if len(folds) > 1:
        md += [f"Folds: {', '.join(folds)}. The tables across seeds take each seed's mean "
               "over the folds; the fold tables show each fold and the spread across folds.", ""]
    return md


def level_lines(level: str, table_md: str, folds_md: str | None, diverged: list,
                multi: bool) -> list[str]:
    """A level's section of ``summary.md``: its summary table, the fold table (with
    folds) and the runs that diverged."""
    md = [f"## {level.capitalize()} level", "", table_md, ""]
    if folds_md is not None:
        md += [folds_md, ""]
    return md + [f"Diverged {'runs' if multi else 'seeds'}: "
                 f"{', '.join(map(str, diverged)) if diverged else 'none'}.", ""]


def paper_lines(published: dict, table_md: str) -> list[str]:
    """The reported-vs-reproduced section of ``summary.md``."""
    title = published["title"] and f"*{published['title']}*"
    cited = ", ".join(v for v in (title, published["source"]) if v)
    return (["## Reported vs reproduced", ""] + ([f"Published in {cited}.", ""] if cited else [])
            + [table_md, "", "Figure: `figures/paper.svg`.", ""])


def footer(multi: bool) -> list[str]:
    """Where the rest is."""
    return ["Figures are in `figures/`; data in `data_report.md`"
            + (" of each `folds/<fold>/`" if multi else "")
            + "; per-run values in `per_seed_<level>.csv`.", ""]
