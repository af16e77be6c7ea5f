"""Summaries of a metric across random seeds.

Conventions: the standard deviation is the sample standard deviation (``ddof=1``,
:data:`DDOF`; bob's ``multi-metrics`` prints numpy's default ``ddof=0``). Confidence
intervals are for the mean over seeds: the Student t interval and Hesterberg's expanded
percentile bootstrap (Hesterberg 2015, "What teachers should know about the bootstrap",
The American Statistician 69(4)), resampling seeds with replacement from a fixed
resampling seed, so the interval is reproducible. The plain percentile bootstrap of a
mean is too narrow with few seeds (about 85% coverage at a nominal 95% with 5 normal
seeds); the expanded one reads the bootstrap distribution at the level that makes it as
wide as the t interval for normal data (:func:`expanded_levels`), keeps the bootstrap's
use of the data's shape, and is as reproducible as the percentile one (studentized or
BCa intervals are erratic with a handful of seeds). Interval ends are clipped to the
metric's range (declared in :mod:`biorepro.evaluate.registry`, e.g. [0, 1] for rates),
which never drops the true mean, and ``clipped`` says so. ``approximate`` marks summaries
of fewer than :data:`MIN_RELIABLE_N` seeds, whose coverage is not assured (see
:data:`MIN_RELIABLE_N`). NaN values (e.g. a metric a diverged run could not produce)
are excluded and counted, never silently averaged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from biorepro.evaluate import registry
from biorepro.store.layouts import METRICS
from biorepro.store.roles import Run

DDOF = 1
SUMMARY_KEYS = ("n", "n_nan", "mean", "std", "median", "min", "max",
                "ci_boot_low", "ci_boot_high", "ci_t_low", "ci_t_high", "clipped", "approximate")
# Fewer seeds than this: intervals flagged approximate. By simulation (tests/aggregate/
# test_coverage.py), from 10 seeds both intervals cover at least 92% at a nominal 95% for
# normal and moderately skewed rates (e.g. Beta(2, 20)); with 5 seeds the bootstrap covers
# about 90% of such rates, and with n <= 4 it cannot reach 95% at all (it never leaves
# the range of the seeds, which misses the mean with probability about 2^(1-n)). Heavily
# skewed metrics (a few runs far off) need more seeds still.
MIN_RELIABLE_N = 10


def _check_ci(ci: float) -> float:
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a confidence level in (0, 1), got {ci!r}")
    return ci


def bootstrap_ci(values, statistic, *, n_boot: int = 10000, ci: float = 0.95, seed: int = 0):
    """Percentile-bootstrap interval ``(low, high)`` of ``statistic`` over ``values``.

    ``values`` is resampled with replacement ``n_boot`` times with
    ``numpy.random.default_rng(seed)``; ``statistic`` maps an ``(n_boot, n)`` array of
    resamples to ``n_boot`` values. Percentiles use numpy's default (linear) method.
    """
    _check_ci(ci)
    x = np.asarray(values, dtype=np.float64)
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    if x.size == 0:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    stat = statistic(x[idx])
    low, high = np.quantile(stat, [(1 - ci) / 2, (1 + ci) / 2])
    return float(low), float(high)


def expanded_levels(n: int, ci: float = 0.95) -> tuple[float, float]:
    """Hesterberg's expanded percentile levels ``(a, 1 - a)`` for ``n >= 2`` values:
    ``a = Phi(-sqrt(n / (n - 1)) * t(1 - alpha/2, n - 1))``, alpha = 1 - ci (e.g. 0.00095
    instead of 0.025 at n = 5, 95%)."""
    _check_ci(ci)
    if n < 2:
        raise ValueError(f"need at least 2 values, got {n}")
    a = float(sps.norm.cdf(-math.sqrt(n / (n - 1)) * sps.t.ppf((1 + ci) / 2, n - 1)))
    return a, 1.0 - a


def mean_intervals(samples, *, n_boot: int = 10000, ci: float = 0.95, seed: int = 0,
                   bounds: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Both intervals of the mean for each row of ``samples`` (``(m, n)``, n >= 2, no NaN).

    Keys ``ci_boot_low, ci_boot_high`` (expanded percentile bootstrap: ``n_boot``
    multinomial resamples from ``numpy.random.default_rng(seed)``, shared by the rows),
    ``ci_t_low, ci_t_high`` (Student t), each clipped to ``bounds`` (None: not clipped),
    and ``clipped`` (an end of either interval was clipped); one value per row.
    """
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    n = x.shape[1]
    low_level, high_level = expanded_levels(n, ci)
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    mean = x.mean(axis=1)
    half = sps.t.ppf((1 + ci) / 2, n - 1) * x.std(axis=1, ddof=DDOF) / math.sqrt(n)
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    boot_means = x @ (counts.T / n)
    ends = {"ci_boot_low": np.quantile(boot_means, low_level, axis=1),
            "ci_boot_high": np.quantile(boot_means, high_level, axis=1),
            "ci_t_low": mean - half, "ci_t_high": mean + half}
    clipped = np.zeros(len(x), dtype=bool)
    if bounds is not None:
        for key, end in ends.items():
            ends[key] = np.clip(end, *bounds)
            clipped |= ends[key] != end
    return ends | {"clipped": clipped}


def summarize(values, *, n_boot: int = 10000, ci: float = 0.95, seed: int = 0,
              bounds: tuple[float, float] | None = None) -> dict:
    """Summary of one metric over seeds: the keys of :data:`SUMMARY_KEYS`.

    ``n`` counts the non-NaN values used, ``n_nan`` the NaN values excluded. With n = 0
    everything but the counts and flags is NaN; with n = 1 mean/median/min/max are that
    value and std and both intervals are NaN (no spread can be estimated from one seed).
    Intervals: :func:`mean_intervals`, clipped to ``bounds`` (the metric's range, e.g.
    the registry's; None: unbounded). ``approximate``: n < :data:`MIN_RELIABLE_N`.
    """
    _check_ci(ci)
    x = np.asarray(values, dtype=np.float64).ravel()
    nan_mask = np.isnan(x)
    x = x[~nan_mask]
    n, nan = x.size, float("nan")
    out = dict.fromkeys(SUMMARY_KEYS, nan)
    out.update(n=int(n), n_nan=int(nan_mask.sum()), clipped=False,
               approximate=bool(n < MIN_RELIABLE_N))
    if n == 0:
        return out
    out.update(mean=float(x.mean()), median=float(np.median(x)), min=float(x.min()),
               max=float(x.max()))
    if n == 1:
        return out
    intervals = mean_intervals(x, n_boot=n_boot, ci=ci, seed=seed, bounds=bounds)
    out.update({key: value[0].item() for key, value in intervals.items()},
               std=float(x.std(ddof=DDOF)))
    return out


def _seeds_needed(std: float, half_width: float, q: float, max_n: int) -> int | None:
    """:func:`seeds_needed` for the quantile ``q``; None above ``max_n``."""
    n = max(2, int(np.ceil((sps.norm.ppf(q) * std / half_width) ** 2)))  # t >= z: a lower bound
    while n <= max_n and sps.t.ppf(q, n - 1) * std / np.sqrt(n) > half_width:
        n += 1
    return n if n <= max_n else None


def _check_spread(std: float, half_width: float) -> None:
    if not std >= 0:
        raise ValueError(f"std must be >= 0, got {std!r}")
    if not half_width > 0:
        raise ValueError(f"half_width must be > 0, got {half_width!r}")


def seeds_needed(std: float, half_width: float, ci: float = 0.95, max_n: int = 100000) -> int:
    """Smallest number of seeds ``n >= 2`` whose Student t interval of the mean has a
    half-width ``t(n-1) * std / sqrt(n)`` at most ``half_width``, for a spread ``std``
    observed across seeds (in the metric's units). A point value: ``std`` is itself
    uncertain (:func:`seeds_needed_range`); this is about precision, not power."""
    _check_ci(ci)
    _check_spread(std, half_width)
    n = _seeds_needed(std, half_width, (1 + ci) / 2, max_n)
    if n is None:
        raise ValueError(f"more than {max_n} seeds needed for half-width {half_width} "
                         f"with std {std}")
    return n


def seeds_needed_range(std: float, n: int, half_width: float, ci: float = 0.95,
                       max_n: int = 100000) -> tuple[float, float]:
    """``(low, high)``: :func:`seeds_needed` at both ends of the chi-square ``ci`` interval
    of sigma, ``s * sqrt((n - 1) / chi2(1 - alpha/2, n - 1))`` to
    ``s * sqrt((n - 1) / chi2(alpha/2, n - 1))``, for a std ``s`` measured on ``n >= 2``
    seeds (assumes normal values); an end above ``max_n`` is ``inf``."""
    _check_ci(ci)
    _check_spread(std, half_width)
    if n < 2:
        raise ValueError(f"need a std from at least 2 seeds, got {n}")
    q = (1 + ci) / 2
    chi2 = sps.chi2.ppf([q, 1 - q], n - 1)
    ends = (_seeds_needed(std * math.sqrt((n - 1) / c), half_width, q, max_n) for c in chi2)
    low, high = (math.inf if e is None else e for e in ends)
    return low, high


def diverged_seeds(per_seed: pd.DataFrame, *, status_col: str = "status",
                   seed_col: str = "seed") -> list:
    """Seeds whose status is not ``"ok"`` (e.g. ``"diverged"``), in table order."""
    for col in (status_col, seed_col):
        if col not in per_seed.columns:
            raise ValueError(f"per-seed table: missing column {col!r}")
    return per_seed.loc[per_seed[status_col] != "ok", seed_col].tolist()


def summarize_seeds(per_seed: pd.DataFrame, *, metrics: list[str] | None = None,
                    status_col: str = "status", seed_col: str = "seed",
                    n_boot: int = 10000, ci: float = 0.95, seed: int = 0,
                    bounds: Callable[[str], tuple[float, float] | None] | None = None
                    ) -> pd.DataFrame:
    """Long table, one row per metric: ``metric, n_seeds, n_diverged`` then :data:`SUMMARY_KEYS`.

    ``per_seed`` has one row per seed and one column per metric (plus ``seed_col`` and
    ``status_col``). Seeds whose status is not ``"ok"`` are excluded from every summary
    and counted in ``n_diverged`` (see :func:`diverged_seeds`); among the others, NaN
    values are counted in ``n_nan``. ``metrics`` defaults to every numeric column but the
    seed column. ``bounds`` maps a metric's name to its range, to which its intervals are
    clipped (:func:`summarize`; default: the registry's bounds).
    """
    bounds = bounds or (lambda name: registry.metric(name).bounds)
    diverged = diverged_seeds(per_seed, status_col=status_col, seed_col=seed_col)
    ok = per_seed[per_seed[status_col] == "ok"]
    if metrics is None:
        metrics = [c for c in per_seed.select_dtypes("number").columns if c != seed_col]
    missing = [m for m in metrics if m not in per_seed.columns]
    if missing:
        raise ValueError(f"per-seed table: missing metric columns {missing}")
    rows = []
    for name in metrics:
        summary = summarize(ok[name].to_numpy(dtype=np.float64), n_boot=n_boot, ci=ci, seed=seed,
                            bounds=bounds(name))
        rows.append({"metric": name, "n_seeds": len(per_seed), "n_diverged": len(diverged),
                     **summary})
    return pd.DataFrame(rows, columns=["metric", "n_seeds", "n_diverged", *SUMMARY_KEYS])


def per_seed_table(metrics_entries: dict[str, str], level: str) -> pd.DataFrame:
    """One row per (fold, run) at ``level``, from the records of metrics entries keyed
    ``"<fold>/<run>/<level>"``: columns ``fold``, ``run`` (``"<fold>/<run label>"``,
    unique) and the entry's record but its nested parts (``selection``:
    :func:`selection_table`; ``seed``: the run's label; the seed of each source);
    folds in the order given, then plain seeds increasing, or a design's runs in the
    order given."""
    rows, order = [], {}
    for role, path in metrics_entries.items():
        run = Run.parse(role, level=True)
        fold, seed, lv = run.fold, run.label, run.level
        order.setdefault(fold, len(order))
        if lv == level:
            record = json.loads((Path(path) / METRICS.metrics()).read_text())
            rows.append({"fold": fold, "run": f"{fold}/{seed}",
                         **{k: v for k, v in record.items() if not isinstance(v, dict)}})
    table = pd.DataFrame(rows)
    table["_order"] = table["fold"].map(order)
    by = ["_order", "seed"] if all(isinstance(s, int) for s in table["seed"]) else ["_order"]
    return (table.sort_values(by, kind="stable").drop(columns="_order")
            .reset_index(drop=True))


def levels(metrics_entries: dict[str, str]) -> list[str]:
    """The levels of metrics entries keyed ``"<fold>/<seed>/<level>"``, sorted."""
    return sorted({Run.parse(role, level=True).level for role in metrics_entries})


def seed_means(per_run: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per seed: each metric's mean over the folds (a seed with a fold that is
    not ``"ok"`` gets that status, and is excluded downstream as diverged)."""
    grouped = per_run.groupby("seed", sort=all(isinstance(s, int) for s in per_run["seed"]))
    out = grouped[metrics].mean()
    out["status"] = grouped["status"].agg(
        lambda s: "ok" if (s == "ok").all() else next(v for v in s if v != "ok"))
    return out.reset_index()


FOLD_DDOF = 0  # across folds: numpy's default, as bob's ``multi-metrics`` prints
ACROSS_FOLDS = "across folds"  # the fold table's row of the fold means


def summarize_folds(per_run: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """For each metric: one row per fold (``mean``, ``std`` over its seeds with
    :data:`DDOF`, ``n`` seeds used), then ``across folds`` (mean and std of the fold
    means, with :data:`FOLD_DDOF`, ``n`` folds) and ``all runs`` (every ok (fold, seed)
    run pooled, ddof 1). Runs whose status is not ``"ok"`` are left out."""
    ok = per_run[per_run["status"] == "ok"]
    rows = []
    for metric in metrics:
        means = []
        for fold, group in ok.groupby("fold", sort=False):
            x = group[metric].dropna().to_numpy(dtype=np.float64)
            means.append(x.mean() if x.size else np.nan)
            rows.append({"metric": metric, "fold": fold, "n": x.size,
                         "mean": means[-1], "std": x.std(ddof=DDOF) if x.size > 1 else np.nan})
        m = np.asarray([v for v in means if not np.isnan(v)])
        rows.append({"metric": metric, "fold": ACROSS_FOLDS, "n": m.size,
                     "mean": m.mean() if m.size else np.nan,
                     "std": m.std(ddof=FOLD_DDOF) if m.size else np.nan})
        x = ok[metric].dropna().to_numpy(dtype=np.float64)
        rows.append({"metric": metric, "fold": "all runs", "n": x.size,
                     "mean": x.mean() if x.size else np.nan,
                     "std": x.std(ddof=DDOF) if x.size > 1 else np.nan})
    return pd.DataFrame(rows, columns=["metric", "fold", "n", "mean", "std"])
