"""Paired comparison of two experiments over the seeds they share (Bouthillier et al. 2021).

For one metric, seed ``i`` gives a pair ``(a_i, b_i)``. ``p_a_better`` = P(A better than
B) is the fraction of pairs where A is better (lower when ``lower_is_better``, e.g. error
rates; higher otherwise), ties counting 1/2. Its confidence interval is a percentile
bootstrap over pairs with a fixed resampling seed. Verdict: A is better when the
interval's lower bound is > 0.5 and its upper bound > 0.75; B is better in the symmetric
case (upper bound < 0.5 and lower bound < 0.25); otherwise there is no significant
difference. About 29 pairs are needed for alpha = beta = 0.05. A two-sided Wilcoxon
signed-rank test on ``a_i - b_i`` is reported alongside (zero differences dropped; p = 1
when every difference is zero). Pairs with a NaN on either side are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from biorepro.aggregate.stats import bootstrap_ci

NO_DIFFERENCE = "no significant difference"


def verdict(ci_low: float, ci_high: float, name_a: str = "A", name_b: str = "B") -> str:
    """Bouthillier et al.'s decision from the CI of P(A better than B)."""
    if ci_low > 0.5 and ci_high > 0.75:
        return f"{name_a} better"
    if ci_high < 0.5 and ci_low < 0.25:
        return f"{name_b} better"
    return NO_DIFFERENCE


def paired(a: pd.Series, b: pd.Series) -> pd.DataFrame:
    """Align two per-seed series (index = seed) on shared seeds without NaN: columns a, b."""
    for name, series in (("a", a), ("b", b)):
        if series.index.has_duplicates:
            duplicated = sorted(set(series.index[series.index.duplicated()]))
            raise ValueError(f"{name}: duplicate seeds {duplicated}")
    pairs = pd.concat({"a": pd.Series(a, dtype=float), "b": pd.Series(b, dtype=float)},
                      axis=1, join="inner").dropna()
    return pairs.sort_index()


def compare(a: pd.Series, b: pd.Series, *, lower_is_better: bool, n_boot: int = 10000,
            ci: float = 0.95, seed: int = 0, name_a: str = "A", name_b: str = "B") -> dict:
    """Compare experiment A with B on one metric; ``a``/``b`` are indexed by seed.

    Returns ``n_paired, mean_a, mean_b, mean_diff`` (A - B), ``p_a_better``,
    ``ci_low``, ``ci_high``, ``verdict``, ``wilcoxon_p``; NaN statistics and
    ``verdict = "no significant difference"`` when no seed is shared.
    """
    pairs = paired(a, b)
    x, y = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    nan = float("nan")
    out = {"n_paired": len(pairs), "mean_a": nan, "mean_b": nan, "mean_diff": nan,
           "p_a_better": nan, "ci_low": nan, "ci_high": nan, "verdict": NO_DIFFERENCE,
           "wilcoxon_p": nan}
    if not len(pairs):
        return out
    wins = np.where(x == y, 0.5, ((x < y) if lower_is_better else (x > y)).astype(float))
    low, high = bootstrap_ci(wins, lambda r: r.mean(axis=1), n_boot=n_boot, ci=ci, seed=seed)
    diff = x - y
    wilcoxon_p = 1.0 if not diff.any() else float(sps.wilcoxon(diff).pvalue)
    out.update(mean_a=float(x.mean()), mean_b=float(y.mean()), mean_diff=float(diff.mean()),
               p_a_better=float(wins.mean()), ci_low=low, ci_high=high,
               verdict=verdict(low, high, name_a, name_b), wilcoxon_p=wilcoxon_p)
    return out


def compare_table(per_seed: Mapping[str, pd.DataFrame], pairs: list[tuple[str, str]],
                  metrics: Mapping[str, bool], *, seed_col: str = "seed",
                  status_col: str | None = "status", **kwargs) -> pd.DataFrame:
    """One row per (pair, metric): ``a, b, metric, lower_is_better`` + :func:`compare`.

    ``per_seed`` maps an experiment name to its per-seed table (one row per seed with a
    ``seed_col`` column and one column per metric); ``metrics`` maps each metric to
    ``lower_is_better``. Seeds whose ``status_col`` is not ``"ok"`` are left out (pass
    ``status_col=None`` to keep every seed). ``kwargs`` go to :func:`compare`.
    """
    def series(name: str, metric: str) -> pd.Series:
        if name not in per_seed:
            raise ValueError(f"no per-seed table for experiment {name!r}")
        table = per_seed[name]
        for col in (seed_col, metric, *([status_col] if status_col else [])):
            if col not in table.columns:
                raise ValueError(f"experiment {name!r}: per-seed table has no column {col!r}")
        if status_col:
            table = table[table[status_col] == "ok"]
        return table.set_index(seed_col)[metric]

    rows = []
    for name_a, name_b in pairs:
        for metric, lower in metrics.items():
            result = compare(series(name_a, metric), series(name_b, metric),
                             lower_is_better=lower, name_a=name_a, name_b=name_b, **kwargs)
            rows.append({"a": name_a, "b": name_b, "metric": metric,
                         "lower_is_better": lower, **result})
    return pd.DataFrame(rows)
