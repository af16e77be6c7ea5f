"""Expected best of N: against brute-force enumeration of every draw."""

import itertools

import numpy as np
import pytest

from biorepro.aggregate.budget import expected_best, expected_test_of_best


def brute_force(devel, test, k, lower_is_better):
    """Mean over all n^k draws of the test value at the best devel value (ties: averaged)."""
    devel, test = np.asarray(devel), np.asarray(test)
    best_devel, best_test = [], []
    for draw in itertools.product(range(len(devel)), repeat=k):
        d = devel[list(draw)]
        best = d.min() if lower_is_better else d.max()
        best_devel.append(best)
        best_test.append(test[list(draw)][d == best].mean())
    return np.mean(best_devel), np.mean(best_test)


@pytest.mark.parametrize("lower_is_better", [True, False])
def test_against_every_draw(lower_is_better):
    devel = [0.3, 0.1, 0.2, 0.1, 0.5]  # a tie on devel between runs 1 and 3
    test = [0.35, 0.2, 0.15, 0.3, 0.4]
    table = expected_test_of_best(devel, test, lower_is_better)
    assert list(table.k) == [1, 2, 3, 4, 5]
    for k in range(1, 6):
        row = table.iloc[k - 1]
        want_devel, want_test = brute_force(devel, test, k, lower_is_better)
        assert row.expected_best_devel == pytest.approx(want_devel, abs=1e-12)
        assert row.expected_test_at_best_devel == pytest.approx(want_test, abs=1e-12)
    np.testing.assert_allclose(expected_best(devel, lower_is_better), table.expected_best_devel)


def test_k1_is_the_mean_and_best_improves_with_k():
    x = np.random.default_rng(0).uniform(0.05, 0.3, 20)
    low, high = expected_best(x, True), expected_best(x, False)
    assert low[0] == pytest.approx(x.mean()) == high[0]
    assert np.all(np.diff(low) <= 0) and np.all(np.diff(high) >= 0)
    assert x.min() < low[-1] and high[-1] < x.max()  # n draws rarely include the best run


def test_nan_runs_are_left_out():
    assert len(expected_best([0.1, np.nan, 0.3], True)) == 2
    table = expected_test_of_best([0.1, 0.2, np.nan], [0.3, np.nan, 0.1])
    assert list(table.expected_test_at_best_devel) == [0.3]
