"""Paired comparison of two experiments over the seeds they share (Bouthillier et al. 2021).

For one metric, seed ``i`` gives a pair ``(a_i, b_i)``. ``p_a_better`` = P(A better than
B) is the fraction of pairs where A is better (lower when ``lower_is_better``, e.g. error
rates; higher otherwise), ties counting 1/2. Its confidence interval is a percentile
bootstrap over pairs with a fixed resampling seed. Verdict: A is better when the
interval's lower bound is > 0.5 and its upper bound > 0.75; B is better in the symmetric
case (upper bound < 0.5 and lower bound < 0.25); otherwise there is no significant
difference. About 29 pairs are needed for alpha = beta = 0.05. Below :func:`min_pairs`
pairs no verdict is given (``"not enough seeds: N pairs, need ≥ M"``): with fewer, even
all pairs favouring one side are not significant (and the bootstrap interval of a
handful of identical wins collapses to a point). A two-sided Wilcoxon signed-rank test
on ``a_i - b_i`` is reported alongside (zero differences dropped; p = 1 when every
difference is zero), with the power of a two-sided paired t-test at level 1 - ci to
detect the observed mean difference (effect size ``d`` = mean / sd of ``a_i - b_i``,
ddof 1) and the pairs that :data:`TARGET_POWER` needs. Pairs with a NaN on either side
are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from biorepro.aggregate.stats import bootstrap_ci

NO_DIFFERENCE = "no significant difference"
TARGET_POWER = 0.8
MAX_PAIRS = 100000  # more pairs needed than this: reported as inf


def min_pairs(ci: float = 0.95) -> int:
    """Fewest pairs with which a verdict can be significant at all: the smallest n with
    ``0.5**n < (1 - ci) / 2``, a one-sided sign test with every pair on one side (6 at 95%)."""
    return int(np.floor(np.log2(2 / (1 - ci)))) + 1


def not_enough(n_pairs: int, ci: float = 0.95) -> str:
    """The verdict given with fewer than :func:`min_pairs` pairs."""
    return (f"not enough seeds: {n_pairs} pair{'' if n_pairs == 1 else 's'}, "
            f"need ≥ {min_pairs(ci)}")


def power(d: float, n: int, ci: float = 0.95) -> float:
    """Power of a two-sided paired t-test at level ``1 - ci`` with ``n >= 2`` pairs when the
    true effect size (mean / sd of the differences; its sign does not matter) is ``d``
    (noncentral t, n - 1 df)."""
    if np.isinf(d):
        return 1.0
    df, shift = n - 1, abs(d) * np.sqrt(n)
    crit = sps.t.ppf((1 + ci) / 2, df)
    far_tail = sps.nct.cdf(-crit, df, shift)  # tiny; scipy gives NaN for it far out
    return float(sps.nct.sf(crit, df, shift) + np.nan_to_num(far_tail))


def pairs_for_power(d: float, ci: float = 0.95, target: float = TARGET_POWER,
                    max_n: int = MAX_PAIRS) -> float:
    """Smallest n >= 2 with :func:`power` at least ``target``; inf when over ``max_n``
    (e.g. d = 0: no difference observed)."""
    if power(d, max_n, ci) < target:
        return float("inf")
    low, high = 1, max_n  # power(low) < target <= power(high); power grows with n
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if power(d, mid, ci) >= target else (mid, high)
    return float(max(high, 2))


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
    ``ci_low``, ``ci_high``, ``verdict``, ``wilcoxon_p``, ``min_pairs``, ``effect_size``
    (d), ``power`` (at the observed d and ``n_paired``) and ``pairs_for_80pct_power``
    (inf: over :data:`MAX_PAIRS`); statistics that cannot be computed (no shared seed;
    d, power from fewer than 2 pairs) are NaN. The verdict is :func:`not_enough` below
    :func:`min_pairs` pairs.
    """
    pairs = paired(a, b)
    x, y = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    n, nan = len(pairs), float("nan")
    out = {"n_paired": n, "mean_a": nan, "mean_b": nan, "mean_diff": nan,
           "p_a_better": nan, "ci_low": nan, "ci_high": nan, "verdict": not_enough(n, ci),
           "wilcoxon_p": nan, "min_pairs": min_pairs(ci), "effect_size": nan, "power": nan,
           "pairs_for_80pct_power": nan}
    if not n:
        return out
    wins = np.where(x == y, 0.5, ((x < y) if lower_is_better else (x > y)).astype(float))
    low, high = bootstrap_ci(wins, lambda r: r.mean(axis=1), n_boot=n_boot, ci=ci, seed=seed)
    diff = x - y
    wilcoxon_p = 1.0 if not diff.any() else float(sps.wilcoxon(diff).pvalue)
    out.update(mean_a=float(x.mean()), mean_b=float(y.mean()), mean_diff=float(diff.mean()),
               p_a_better=float(wins.mean()), ci_low=low, ci_high=high, wilcoxon_p=wilcoxon_p)
    if n >= out["min_pairs"]:
        out["verdict"] = verdict(low, high, name_a, name_b)
    if n >= 2:
        sd = diff.std(ddof=1)
        d = diff.mean() / sd if sd > 0 else np.sign(diff.mean()) * np.inf if diff.any() else 0.0
        out.update(effect_size=float(d), power=power(d, n, ci),
                   pairs_for_80pct_power=pairs_for_power(d, ci))
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
