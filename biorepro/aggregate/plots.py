"""Figures of a multi-seed experiment, written as SVG and PNG.

Every function takes a path stem and writes ``<stem>.svg`` and ``<stem>.png``, returning
both paths. Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
renderer (no pyplot, no global backend switch), in matplotlib's default style whatever
the user's ``matplotlibrc``. Output is byte-identical for equal inputs (same software):
SVG ids come from a fixed ``svg.hashsalt``, no date is written (SVG ``Date``; PNG has
none) nor PNG ``Software`` text, text is drawn as paths, and the jitter of seed points
comes from a fixed seed. Rates are plotted in percent.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import norm

from biorepro.aggregate.paper import scope
from biorepro.evaluate import metrics
from biorepro.evaluate.registry import is_rate, metric

_RC = {"svg.hashsalt": "biorepro", "svg.fonttype": "path"}
DET_LIMITS = (0.001, 0.99)  # rates shown on DET axes; values outside are clipped
_DET_TICKS = (0.1, 1, 5, 10, 20, 40, 60, 80, 95, 99)  # percent


def _styled(plot: Callable[..., list[Path]]) -> Callable[..., list[Path]]:
    """Run ``plot`` (drawing and saving) in the default style plus :data:`_RC`."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with matplotlib.style.context(["default", _RC]):
            return plot(*args, **kwargs)
    return wrapper


def _save(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """Write ``fig`` to ``<stem>.svg`` and ``<stem>.png``; returns both paths."""
    stem = Path(stem)
    svg, png = stem.with_name(stem.name + ".svg"), stem.with_name(stem.name + ".png")
    fig.savefig(svg, format="svg", metadata={"Date": None})
    fig.savefig(png, format="png", dpi=120, metadata={"Software": None})
    return [svg, png]


def _values(metric: str, values) -> np.ndarray:
    """Finite values of ``metric``, in percent for rates."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    return 100 * x if is_rate(metric) else x


@_styled
def plot_metric_seeds(per_seed: pd.DataFrame, metrics_to_plot: list[str],
                      stem: str | os.PathLike, *, jitter_seed: int = 0,
                      title: str = "") -> list[Path]:
    """One panel per metric: a box plot over seeds plus every seed as a jittered point.

    ``per_seed`` has one row per seed and one column per metric; NaN values are left
    out (the panel title gives the number of seeds plotted).
    """
    missing = [m for m in metrics_to_plot if m not in per_seed.columns]
    if missing or not metrics_to_plot:
        raise ValueError(f"per-seed table: missing metric columns {missing or '(none given)'}")
    rng = np.random.default_rng(jitter_seed)
    fig = Figure(figsize=(2.2 * len(metrics_to_plot) + 0.8, 3.6), layout="constrained")
    axes = fig.subplots(1, len(metrics_to_plot), squeeze=False)[0]
    for ax, name in zip(axes, metrics_to_plot):
        x = _values(name, per_seed[name])
        if x.size:
            ax.boxplot([x], widths=0.5, showfliers=False)
        ax.scatter(1 + rng.uniform(-0.15, 0.15, x.size), x, s=14, zorder=3, alpha=0.8)
        ax.set_xticks([1], [metric(name).label], fontsize=8)
        ax.set_xlim(0.5, 1.5)
        ax.set_ylabel(metric(name).unit or "value")
        ax.set_title(f"n = {x.size}", fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, stem)


@_styled
def plot_training_curves(histories: Mapping[object, pd.DataFrame],
                         stem: str | os.PathLike, *, title: str = "") -> list[Path]:
    """Training ``loss`` and validation ``val_loss`` per epoch, every run overlaid.

    ``histories`` maps a run's label (``"seed 0"``; shown as is in the legend) to its
    history table (columns ``epoch`` (else row order,
    from 1), ``loss``, ``val_loss``).
    """
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for run, history in histories.items():
        for ax, column in zip(axes, ("loss", "val_loss")):
            if column not in history.columns:
                raise ValueError(f"history of {run}: missing column {column!r}")
            epochs = (history["epoch"] if "epoch" in history.columns
                      else np.arange(1, len(history) + 1))
            ax.plot(epochs, history[column], lw=1, label=str(run))
    for ax, column in zip(axes, ("loss", "val_loss")):
        ax.set_title(column)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel("loss")
    if 0 < len(histories) <= 12:
        axes[1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, stem)


@_styled
def plot_det(curves: Mapping[str, tuple[object, object]], stem: str | os.PathLike, *,
             title: str = "") -> list[Path]:
    """DET curves (FAR = APCER against FRR = BPCER) on normal-deviate axes, ticks in %.

    ``curves`` maps a label (e.g. ``"seed 3"``) to ``(negatives, positives)``; NaN scores
    are dropped and a curve with an empty class is skipped. Points are the rates at every
    candidate threshold (:func:`biorepro.evaluate.metrics.det_curve`), clipped to
    :data:`DET_LIMITS`. Identical curves are drawn once, labelled with every run they are
    (``seed 0 = seed 3``); line styles alternate so that curves that overlap in part stay
    apart.
    """
    lo, hi = DET_LIMITS
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    distinct: list[tuple[list[str], np.ndarray, np.ndarray]] = []
    for label, (negatives, positives) in curves.items():
        neg, pos = metrics.remove_nan(negatives)[0], metrics.remove_nan(positives)[0]
        if neg.size and pos.size:
            _, far, frr = metrics.det_curve(neg, pos)
            x, y = norm.ppf(np.clip(far, lo, hi)), norm.ppf(np.clip(frr, lo, hi))
            same = next((d for d in distinct if np.array_equal(d[1], x)
                         and np.array_equal(d[2], y)), None)
            if same:
                same[0].append(label)
            else:
                distinct.append(([label], x, y))
    for i, (labels, x, y) in enumerate(distinct):
        ax.plot(x, y, lw=1.2, ls=("-", "--", "-.", ":")[i // 10 % 4], label=" = ".join(labels))
    drawn = len(distinct)
    ticks = [t for t in _DET_TICKS if lo <= t / 100 <= hi]
    positions = norm.ppf(np.array(ticks) / 100)
    labels = [f"{t:g}" for t in ticks]
    ax.set_xticks(positions, labels)
    ax.set_yticks(positions, labels)
    ax.set_xlim(norm.ppf(lo), norm.ppf(hi))
    ax.set_ylim(norm.ppf(lo), norm.ppf(hi))
    ax.plot([norm.ppf(lo), norm.ppf(hi)], [norm.ppf(lo), norm.ppf(hi)], ls=":", c="grey", lw=0.8)
    ax.set_xlabel("FAR = APCER (%)")
    ax.set_ylabel("FRR = BPCER (%)")
    ax.grid(alpha=0.3)
    if 0 < drawn <= 12:
        ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return _save(fig, stem)


@_styled
def plot_score_histograms(devel: pd.DataFrame, test: pd.DataFrame, threshold: float,
                          stem: str | os.PathLike, *, bins: int = 30,
                          title: str = "") -> list[Path]:
    """Score densities of bona fide and attacks, devel and test side by side, with the
    threshold (chosen on devel) marked; ``devel``/``test`` have ``label`` and ``score``
    columns. NaN scores are left out; both panels share the bin edges."""
    tables = {"devel": devel, "test": test}
    for name, table in tables.items():
        if not {"label", "score"} <= set(table.columns):
            raise ValueError(f"{name} scores: need columns 'label' and 'score'")
    finite = np.concatenate([metrics.remove_nan(t["score"])[0] for t in tables.values()])
    edges = np.histogram_bin_edges(finite, bins=bins) if finite.size else None
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, (name, table) in zip(axes, tables.items()):
        for label in ("bonafide", "attack"):
            scores = metrics.remove_nan(table.loc[table["label"] == label, "score"])[0]
            if scores.size:
                ax.hist(scores, bins=edges, density=True, histtype="stepfilled", alpha=0.45,
                        label=f"{label} (n={scores.size})")
        if np.isfinite(threshold):
            ax.axvline(threshold, c="k", ls="--", lw=1, label=f"threshold {threshold:.4g}")
        ax.set_title(name)
        ax.set_xlabel("score (higher = bona fide)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    if title:
        fig.suptitle(title)
    return _save(fig, stem)


@_styled
def plot_paper(paper: pd.DataFrame, values: list, stem: str | os.PathLike, *,
               jitter_seed: int = 0, title: str = "") -> list[Path]:
    """Reported vs reproduced, one panel row per published number: the values summarised
    (seeds, or fold means) as jittered dots, the reproduced mean with its bootstrap CI as
    a bar, and the published value as a diamond (with its ± std when published).

    ``paper`` and ``values`` are what :func:`biorepro.aggregate.paper.compare` returns.
    """
    if paper.empty:
        raise ValueError("no published numbers to plot")
    rng = np.random.default_rng(jitter_seed)
    fig = Figure(figsize=(7, 1.1 * len(paper) + 0.9), layout="constrained")
    axes = fig.subplots(len(paper), 1, squeeze=False)[:, 0]
    for ax, rec, x in zip(axes, paper.to_dict("records"), values):
        name = rec["metric"]
        scale = 100 if is_rate(name) else 1
        x = _values(name, x)
        ax.scatter(x, rng.uniform(-0.25, 0.25, x.size), s=14, alpha=0.7, color="C0",
                   label="reproduced (each value)")
        low, high = rec["ci_boot_low"], rec["ci_boot_high"]
        if np.isfinite(low) and np.isfinite(high):
            ax.plot([scale * low, scale * high], [0, 0], color="C0", lw=4, alpha=0.5,
                    solid_capstyle="butt", label="bootstrap CI of the mean")
        if np.isfinite(rec["mean"]):
            ax.plot(scale * rec["mean"], 0, "|", color="C0", ms=16, mew=2, label="mean")
        std = rec["published_std"]
        ax.errorbar(scale * rec["published"], 0,
                    xerr=scale * std if std is not None and np.isfinite(std) else None,
                    fmt="D", color="C3", ms=7, capsize=4, zorder=4, label="published")
        where = scope(rec)
        status = "" if rec["status"] == "ok" else f" ({rec['status']})"
        ax.set_title(f"{name}, {rec['level']} level{', ' + where if where else ''}: "
                     f"{rec['source']}{status}", fontsize=8, loc="left")
        ax.set_yticks([])
        ax.set_ylim(-0.6, 0.6)
        ax.set_xlabel(metric(name).unit or "value", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    legend = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=4, fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, stem)


@_styled
def plot_variance(table: pd.DataFrame, metrics_to_plot: list[str], stem: str | os.PathLike, *,
                  title: str = "") -> list[Path]:
    """Shares of variance per source: one horizontal stacked bar per metric, a segment
    per component (same colour for a component in every bar), labelled with its share
    and, below, its bootstrap CI, in percent, when wide enough to hold the text.

    ``table`` is what :func:`biorepro.aggregate.variance.decompose_with_ci` returns. A
    metric whose shares are NaN (no variance at all) is an empty bar.
    """
    missing = [m for m in metrics_to_plot if m not in set(table["metric"])]
    if missing or not metrics_to_plot:
        raise ValueError(f"variance table: missing metrics {missing or '(none given)'}")
    rows = table[table["metric"].isin(metrics_to_plot)]
    components = list(dict.fromkeys(rows["component"]))
    colours = {c: f"C{i % 10}" for i, c in enumerate(components)}
    fig = Figure(figsize=(8, 0.8 * len(metrics_to_plot) + 1.4), layout="constrained")
    ax = fig.subplots()
    for y, name in enumerate(metrics_to_plot):
        left = 0.0
        for rec in rows[rows["metric"] == name].to_dict("records"):
            share = 100 * rec["share"]
            if not np.isfinite(share):
                continue
            ax.barh(y, share, left=left, color=colours[rec["component"]], edgecolor="white",
                    label=rec["component"])
            if share >= 10:
                ax.text(left + share / 2, y, f"{share:.0f}\n[{100 * rec['share_ci_low']:.0f}, "
                        f"{100 * rec['share_ci_high']:.0f}]", ha="center", va="center",
                        fontsize=8)
            left += share
    ax.set_yticks(range(len(metrics_to_plot)), metrics_to_plot, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of variance (%), segment: share [bootstrap CI]")
    legend = {label: h for h, label in zip(*ax.get_legend_handles_labels())}
    if legend:
        fig.legend(legend.values(), legend.keys(), loc="outside lower center",
                   ncols=min(len(legend), 5), fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, stem)


@_styled
def plot_expected_best(table: pd.DataFrame, stem: str | os.PathLike, *,
                       metrics: tuple[str, str] = ("devel value", "test value"),
                       title: str = "") -> list[Path]:
    """Expected best of k runs against k (Dodge et al. 2019): the best devel value and the
    test value of the run chosen on devel, from a
    :func:`biorepro.aggregate.budget.expected_test_of_best` table; ``metrics`` name the
    devel and the test metric (the legend says which line is which; rates in percent);
    k is a whole number of runs."""
    missing = {"k", "expected_best_devel", "expected_test_at_best_devel"} - set(table.columns)
    if missing:
        raise ValueError(f"expected-best table: missing columns {sorted(missing)}")
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.subplots()
    devel, test = metrics
    for column, name, label in (
            ("expected_best_devel", devel, f"best {metric(devel).label} of k runs"),
            ("expected_test_at_best_devel", test,
             f"{metric(test).label} of the run picked on devel")):
        ax.plot(table["k"], _values(name, table[column]), marker="o", ms=3, label=label)
    ax.set_xlabel("runs tried (k)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    rates = all(is_rate(m) for m in metrics)
    ax.set_ylabel("expected value" + (" (%)" if rates else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return _save(fig, stem)
