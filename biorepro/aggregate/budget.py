"""Expected best of N seeds (Dodge et al. 2019, "Show your work: improved reporting of
experimental results", EMNLP).

A paper that reports the best of k training runs reports, in expectation, the k-th
expected maximum of the run distribution. With the n observed runs as that distribution
(k draws with replacement), the best of k draws is the i-th worst observed value
``v_(i)`` with probability ``(i/n)^k - ((i-1)/n)^k``, so
``E[best of k] = sum_i v_(i) ((i/n)^k - ((i-1)/n)^k)``, k = 1..n (k = 1: the mean).
"Best" is the lowest value when ``lower_is_better`` (error rates), the highest
otherwise. NaN values (runs with no value) are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _weights(n: int) -> np.ndarray:
    """``(n, n)``: row k-1 gives the probability that the best of k draws is the i-th
    worst of n values."""
    k = np.arange(1, n + 1)[:, None]
    i = np.arange(1, n + 1)[None, :]
    return (i / n) ** k - ((i - 1) / n) ** k


def _worst_first(values: np.ndarray, lower_is_better: bool) -> np.ndarray:
    """Indices ordering ``values`` from worst to best (stable)."""
    return np.argsort(-values if lower_is_better else values, kind="stable")


def expected_best(values, lower_is_better: bool) -> np.ndarray:
    """E[best of k draws with replacement] from the observed runs, for k = 1..n."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    return _weights(x.size) @ x[_worst_first(x, lower_is_better)]


def expected_test_of_best(devel, test, lower_is_better: bool = True) -> pd.DataFrame:
    """Columns ``k`` (1..n), ``expected_best_devel`` (:func:`expected_best` of ``devel``)
    and ``expected_test_at_best_devel``: the expected ``test`` value of the run chosen as
    best on devel among k draws (what a paper selecting on devel reports on test).

    ``devel[i]`` and ``test[i]`` belong to run i; runs with a NaN in either are left out.
    Runs tied on devel are equally likely to be chosen, so each tied run's test value is
    replaced by the mean over its tie group before weighting.
    """
    runs = pd.DataFrame({"devel": np.asarray(devel, dtype=np.float64),
                         "test": np.asarray(test, dtype=np.float64)}).dropna()
    runs["test"] = runs.groupby("devel")["test"].transform("mean")
    order = _worst_first(runs["devel"].to_numpy(), lower_is_better)
    weights = _weights(len(runs))
    return pd.DataFrame({"k": np.arange(1, len(runs) + 1),
                         "expected_best_devel": weights @ runs["devel"].to_numpy()[order],
                         "expected_test_at_best_devel": weights @ runs["test"].to_numpy()[order]})
