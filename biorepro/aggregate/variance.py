"""Variance of a metric by source of training randomness.

A run is identified by the seeds of its sources (:data:`SOURCES`): ``init`` (weight
initialisation), ``order`` (data order), ``noise`` (dropout, augmentation), ``split``
(subjects in train/devel) and ``replicate`` (0..k-1: repeats with identical seeds, i.e.
hardware and library nondeterminism). A source whose column is absent or holds one value
is not varied and gets no row. Only runs with ``status == "ok"`` are used (when there is a
``status`` column), and NaN values of a metric are dropped, metric by metric.

Designs (:data:`DESIGNS`):

``one-at-a-time``
    A baseline run plus, per varied source, runs changing that source only. The baseline
    seed of a source is its most frequent value (ties: the smallest). The component of a
    source is the sample variance (ddof 1) of the metric over its group: the runs with
    every other source (``replicate`` included) at the baseline, the baseline among them.
    Each source is thus measured at the baseline of the others; interactions are not
    estimated.
``crossed``
    Every combination of the varied sources' seeds, once or ``replicate`` times per cell.
    Balanced random-effects ANOVA, method of moments (Searle, Casella & McCulloch 1992,
    *Variance Components*, ch. 4), all main effects and interactions as terms: with ``n``
    runs per cell, the mean square of term T estimates ``sigma_e^2 + sum over terms U
    containing T of n * (product of the levels of the factors not in U) * sigma_U^2``,
    solved from the highest-order term down. With replicates, ``sigma_e^2`` (the
    within-cell variance) is the ``replicate`` component; without, the highest-order
    interaction cannot be told from run-to-run noise and is reported, pooled with it, as
    ``residual`` (with one varied source, as that source). Negative estimates are set to 0
    after solving; the other components keep their solved values.

A share is a component over the sum of the components of the metric (NaN when that sum
is 0): under ``crossed`` the fraction of the variance of a single run's metric due to the
term; under ``one-at-a-time`` the fraction of the summed per-source variances.

Intervals are percentile bootstraps from ``numpy.random.default_rng(seed)``, restarted
per metric so that every metric sees the same resamples. ``one-at-a-time`` resamples the
runs of each group with replacement, groups independently. ``crossed`` resamples the
levels of each varied source independently with replacement (and the replicates within
each resampled cell): an approximate scheme for crossed random effects (McCullagh 2000,
"Resampling and exchangeable arrays", Bernoulli 6(2)). A level drawn twice repeats its
runs exactly, which moves resampled variance from the interactions and residual to the
main effects: read these intervals as rough, possibly lopsided around the estimate.

Such shares were measured for neural networks by Bouthillier et al. 2021, "Accounting
for variance in machine learning benchmarks" (MLSys) and Summers & Dinneen 2021,
"Nondeterminism and instability in neural network optimization" (ICML).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from biorepro.train.randomness import DESIGNS, SOURCES

METHODS = {
    "one-at-a-time": "one-at-a-time: sample variance per source (ddof 1)",
    "crossed": "crossed: random-effects ANOVA (method of moments), negative components set to 0",
}
DECOMPOSITION_COLUMNS = ("component", "variance", "share", "n_levels", "n_runs")
CI_COLUMNS = ("metric", "component", "n_levels", "variance", "share", "share_ci_low",
              "share_ci_high", "variance_ci_low", "variance_ci_high", "n_runs", "design",
              "method")
_LISTED = 10  # runs or cells named in an error message


class _Runs:
    """The usable runs of one metric: seeds, level codes per source, the metric's values."""

    def __init__(self, per_run: pd.DataFrame, metric: str):
        if metric not in per_run.columns:
            raise ValueError(f"per-run table: no metric column {metric!r}")
        if "status" in per_run.columns:
            per_run = per_run[per_run["status"] == "ok"]
        per_run = per_run[per_run[metric].notna()]
        self.metric = metric
        self.y = per_run[metric].to_numpy(np.float64)
        self.seeds = per_run[[s for s in SOURCES if s in per_run.columns]].reset_index(drop=True)
        factorized = {s: pd.factorize(self.seeds[s], sort=True, use_na_sentinel=False)
                      for s in self.seeds.columns}
        self.codes = {s: codes for s, (codes, _) in factorized.items()}
        self.values = {s: values for s, (_, values) in factorized.items()}
        self.varied = [s for s, values in self.values.items() if len(values) > 1]
        if not self.varied:
            raise ValueError(f"{metric}: no source varies over its {self.y.size} usable runs")
        repeated = self.seeds.duplicated(keep=False).to_numpy()
        if repeated.any():
            raise ValueError(f"{metric}: runs with the same seeds: {self.describe(repeated)}")

    def describe(self, rows: np.ndarray) -> str:
        """The seeds of the selected runs, ``"init=1, order=0; ..."``."""
        return _listing([", ".join(f"{s}={v}" for s, v in rec.items())
                         for rec in self.seeds[rows].to_dict("records")])


def _listing(items: list[str]) -> str:
    more = f"; ... ({len(items)} in all)" if len(items) > _LISTED else ""
    return "; ".join(items[:_LISTED]) + more


def _var(x: np.ndarray) -> np.ndarray:
    """Sample variance (ddof 1) along the last axis, of the values less the first (exactly
    0 for equal values); NaN for fewer than two values."""
    if x.shape[-1] < 2:
        return np.full(x.shape[:-1], np.nan)
    return (x - x[..., :1]).var(axis=-1, ddof=1)


class _OneAtATime:
    """Per varied source (in :data:`SOURCES` order), its group of runs (row indices)."""

    def __init__(self, runs: _Runs):
        sources = list(runs.codes)
        codes = np.column_stack([runs.codes[s] for s in sources])
        baseline = [np.bincount(c).argmax() for c in codes.T]  # argmax: first of ties
        off = codes != baseline
        several = off.sum(axis=1) > 1
        if several.any():
            raise ValueError(f"{runs.metric}: one-at-a-time design, runs varying more than "
                             f"one source: {runs.describe(several)}")
        at_baseline = ~off.any(axis=1)
        self.names = runs.varied
        self.groups = [np.flatnonzero(at_baseline | off[:, sources.index(s)])
                       for s in self.names]
        self.n_levels = [np.unique(runs.codes[s][g]).size
                         for s, g in zip(self.names, self.groups)]
        self.n_runs = [g.size for g in self.groups]
        self.y = runs.y

    def variances(self) -> np.ndarray:
        return np.array([_var(self.y[g]) for g in self.groups])

    def resampled(self, rng: np.random.Generator, n_boot: int) -> np.ndarray:
        """``(n_boot, components)`` variances of the groups resampled with replacement."""
        return np.column_stack([_var(self.y[g][rng.integers(0, g.size, (n_boot, g.size))])
                                for g in self.groups])


class _Crossed:
    """The runs as an array ``(levels of each varied source..., runs per cell)`` and the
    ANOVA terms: every non-empty set of varied sources, then the within-cell term."""

    def __init__(self, runs: _Runs):
        factors = [s for s in runs.varied if s != "replicate"]
        levels = [len(runs.values[s]) for s in factors]
        cell = np.zeros(runs.y.size, dtype=np.int64)
        for s, m in zip(factors, levels):
            cell = cell * m + runs.codes[s]
        counts = np.bincount(cell, minlength=int(np.prod(levels)))
        n = int(np.bincount(counts).argmax())
        for wrong, what in ((counts == 0, "missing combinations"),
                            (counts != n, f"cells without {n} runs")):
            if wrong.any():
                named = np.unravel_index(np.flatnonzero(wrong), levels)
                raise ValueError(f"{runs.metric}: crossed design, {what}: " + _listing(
                    [", ".join(f"{s}={runs.values[s][c]}" for s, c in zip(factors, codes))
                     for codes in zip(*named)]))
        keys = [runs.codes[s] for s in reversed(factors)]
        if "replicate" in runs.codes:
            keys.insert(0, runs.codes["replicate"])
        self.array = runs.y[np.lexsort(keys)].reshape(*levels, n)
        self.levels, self.n = levels, n
        self.terms = [t for k in range(1, len(factors) + 1)
                      for t in itertools.combinations(range(len(factors)), k)]
        self.names = ["residual" if n == 1 and len(t) == len(factors) > 1
                      else "×".join(factors[f] for f in t) for t in self.terms]
        self.n_levels = [int(np.prod([levels[f] for f in t])) for t in self.terms]
        if n > 1:
            self.names.append("replicate")
            self.n_levels.append(n)
        self.n_runs = [runs.y.size] * len(self.names)

    def variances(self) -> np.ndarray:
        return self._anova(self.array[None])[0]

    def resampled(self, rng: np.random.Generator, n_boot: int) -> np.ndarray:
        """``(n_boot, components)`` estimates with the levels of every varied source
        resampled independently, then the runs within each resampled cell."""
        k = len(self.levels)
        picks = tuple(rng.integers(0, m, (n_boot, m)).reshape(
            (n_boot,) + (1,) * f + (m,) + (1,) * (k - 1 - f)) for f, m in enumerate(self.levels))
        data = self.array[picks] if k else np.broadcast_to(self.array, (n_boot, self.n))
        if self.n > 1:
            data = np.take_along_axis(data, rng.integers(0, self.n, data.shape), axis=-1)
        return self._anova(data)

    def _anova(self, data: np.ndarray) -> np.ndarray:
        """Components of ``data`` ``(batch, levels..., n)`` by the expected mean squares,
        truncated at 0: ``(batch, terms [+ within-cell])``."""
        batch, k, n = data.shape[0], len(self.levels), self.n
        n_cells = int(np.prod(self.levels))
        data = data - data.reshape(batch, -1)[:, :1].reshape((batch,) + (1,) * (k + 1))
        cell = data.mean(axis=-1, keepdims=True)  # less a value: exactly 0 for equal values
        # mean over the sources not in s, for every set s of sources
        means = {s: cell.mean(axis=tuple(1 + f for f in range(k) if f not in s), keepdims=True)
                 for j in range(k + 1) for s in itertools.combinations(range(k), j)}
        within = (((data - cell) ** 2).reshape(batch, -1).sum(axis=1) / (n_cells * (n - 1))
                  if n > 1 else np.zeros(batch))

        def coefficient(t):  # of sigma_t^2 in the mean squares of t and of its subsets
            return n * int(np.prod([m for f, m in enumerate(self.levels) if f not in t]))

        sigma = {}
        for t in reversed(self.terms):  # supersets of t are solved before t
            effect = sum((-1) ** (len(t) - j) * means[s]
                         for j in range(len(t) + 1) for s in itertools.combinations(t, j))
            dof = np.prod([self.levels[f] - 1 for f in t])
            mean_square = (effect ** 2).reshape(batch, -1).sum(axis=1) * coefficient(t) / dof
            above = sum(coefficient(u) * sigma[u] for u in sigma if set(t) < set(u))
            sigma[t] = (mean_square - within - above) / coefficient(t)
        columns = [sigma[t] for t in self.terms] + ([within] if n > 1 else [])
        return np.maximum(np.column_stack(columns), 0.0)


def _fit(per_run: pd.DataFrame, metric: str, design: str) -> _OneAtATime | _Crossed:
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, got {design!r}")
    runs = _Runs(per_run, metric)
    return _OneAtATime(runs) if design == "one-at-a-time" else _Crossed(runs)


def _shares(variances: np.ndarray) -> np.ndarray:
    """Components over their sum along the last axis; NaN where the sum is 0."""
    total = variances.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, variances / total, np.nan)


def decompose(per_run: pd.DataFrame, metric: str, design: str) -> pd.DataFrame:
    """Variance components of ``metric``: one row per component with the columns of
    :data:`DECOMPOSITION_COLUMNS` (``n_levels``: the component's levels, a product for an
    interaction, the cells for ``residual``, the repeats for within-cell ``replicate``;
    ``n_runs``: the runs it was estimated from). Raises ValueError for an incomplete or
    unbalanced design, naming the missing cells or the offending runs."""
    fit = _fit(per_run, metric, design)
    variances = fit.variances()
    return pd.DataFrame({"component": fit.names, "variance": variances,
                         "share": _shares(variances), "n_levels": fit.n_levels,
                         "n_runs": fit.n_runs})


def decompose_with_ci(per_run: pd.DataFrame, metrics: list[str], design: str, *,
                      n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """:func:`decompose` for each metric, with percentile-bootstrap intervals (level
    ``ci``, ``n_boot`` resamples; see the module docstring for the resampling) of every
    share and variance: a long table with the columns of :data:`CI_COLUMNS`. Resamples
    whose components sum to 0 have no share and are left out of the share interval."""
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a confidence level in (0, 1), got {ci!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    tables = []
    for metric in metrics:
        fit = _fit(per_run, metric, design)
        variances = fit.variances()
        boot = fit.resampled(np.random.default_rng(seed), n_boot)
        share_low, share_high = _interval(_shares(boot), ci)
        var_low, var_high = _interval(boot, ci)
        tables.append(pd.DataFrame({
            "metric": metric, "component": fit.names, "n_levels": fit.n_levels,
            "variance": variances, "share": _shares(variances), "share_ci_low": share_low,
            "share_ci_high": share_high, "variance_ci_low": var_low,
            "variance_ci_high": var_high, "n_runs": fit.n_runs, "design": design,
            "method": METHODS[design]}))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=list(CI_COLUMNS))


def _interval(boot: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column of ``boot`` over its finite values (NaN if none)."""
    low, high = np.full(boot.shape[1], np.nan), np.full(boot.shape[1], np.nan)
    some = np.isfinite(boot).any(axis=0)
    if some.any():
        low[some], high[some] = np.nanquantile(boot[:, some], [(1 - ci) / 2, (1 + ci) / 2],
                                               axis=0)
    return low, high
