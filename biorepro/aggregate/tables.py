"""Summary tables as CSV (raw numbers), Markdown (pipe table) and LaTeX (booktabs).

The CSV keeps every value at full precision in its own unit (rates as fractions).
Markdown and LaTeX show rates (see :mod:`biorepro.evaluate.registry`) as percentages
with a ``%`` sign and other values with 4 significant digits; missing values print as
``n/a``. A note line under each table states how the numbers were computed (ddof, CI).
A seed summary shows the operating points (:func:`biorepro.evaluate.seed.operating_point`)
in a second table after the main one.
The formatters are small and local, so the output does not depend on optional
packages.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from biorepro.aggregate.compare import MAX_PAIRS, TARGET_POWER, min_pairs
from biorepro.aggregate.paper import scope
from biorepro.aggregate.stats import DDOF, FOLD_DDOF, MIN_RELIABLE_N
from biorepro.evaluate.registry import is_rate
from biorepro.evaluate.seed import operating_point

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def format_value(metric: str, value, digits: int = 2) -> str:
    """One number for display: a rate as ``12.34%``, anything else with 4 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if is_rate(metric):
        return f"{100 * value:.{digits}f}%"
    return f"{value:.4g}"


APPROX = " (approx.)"  # marks the intervals of a summary flagged ``approximate``


def interval_note() -> str:
    """How intervals are clipped and what marks an approximate one."""
    return (f"Intervals are clipped to the metric's range (rates, accuracy, AUC in [0, 1]); "
            f"{APPROX.strip()}: fewer than {MIN_RELIABLE_N} seeds, coverage not assured.")


def interval(metric: str, low, high, approximate: bool, digits: int = 2) -> str:
    """An interval for display, ``[low, high]``, marked when ``approximate``."""
    return (f"[{format_value(metric, low, digits)}, {format_value(metric, high, digits)}]"
            + (APPROX if approximate else ""))


def summary_note(ci: float = 0.95, n_boot: int = 10000) -> str:
    """The note printed under a seed summary table."""
    return (f"Over random seeds: n = seeds used / seeds run (diverged runs and NaN values "
            f"excluded); std with ddof={DDOF}; {ci:.0%} CIs of the mean by expanded "
            f"percentile bootstrap ({n_boot} resamples) and Student t. {interval_note()} "
            f"Rates in %.")


def format_summary(summary: pd.DataFrame, *, ci: float = 0.95, digits: int = 2) -> pd.DataFrame:
    """Display table of a :func:`biorepro.aggregate.stats.summarize_seeds` result (strings)."""
    level = f"{ci:.0%}"
    rows = []
    for rec in summary.to_dict("records"):
        def fmt(key: str, rec: dict = rec) -> str:
            return format_value(rec["metric"], rec[key], digits)

        rows.append({
            "Metric": rec["metric"],
            "n": f"{rec['n']}/{rec['n_seeds']}",
            "Mean": fmt("mean"), "Std": fmt("std"), "Median": fmt("median"),
            "Min": fmt("min"), "Max": fmt("max"),
            f"{level} CI (bootstrap)": interval(rec["metric"], rec["ci_boot_low"],
                                                rec["ci_boot_high"], rec["approximate"], digits),
            f"{level} CI (t)": interval(rec["metric"], rec["ci_t_low"], rec["ci_t_high"],
                                        rec["approximate"], digits),
        })
    return pd.DataFrame(rows)


OPERATING_POINTS_NOTE = (
    "Operating points, threshold chosen on devel where the devel APCER (max over attack "
    "types) is at most the target (at_apcer rows) or where the devel BPCER is (at_bpcer "
    "rows); test_apcer at an APCER target and test_bpcer at a BPCER target are the rates "
    "reached on test. tpr_at_fpr: the largest test TPR (bona fide accepted) among thresholds "
    "whose test FPR (attacks accepted, pooled) is at most the target, threshold-free. "
    "Targets in names are in % (0.5pct = 0.005).")


def comparison_note(ci: float = 0.95, n_boot: int = 10000) -> str:
    """The note printed under a comparison table."""
    return (f"P(A better) over paired seeds (ties count 1/2) with a {ci:.0%} percentile "
            f"bootstrap CI ({n_boot} resamples); verdict after Bouthillier et al. 2021 "
            f"(A better if CI low > 0.5 and CI high > 0.75), given from {min_pairs(ci)} "
            f"pairs on (with fewer, not even every pair favouring one side is significant "
            f"by a sign test); Wilcoxon signed-rank p, two-sided. Power: of a two-sided "
            f"paired t-test at level {1 - ci:.2g} to detect the observed mean difference "
            f"(d = mean / sd of the differences) with these pairs; pairs for "
            f"{TARGET_POWER:.0%} power: the fewest that reach it (∞: more than {MAX_PAIRS} "
            f"or no difference observed). Rates in %.")


def _count(value: float) -> str:
    """A whole number for display; ``∞`` for inf, ``n/a`` for NaN."""
    return "n/a" if math.isnan(value) else "∞" if math.isinf(value) else str(int(value))


def format_comparison(comparison: pd.DataFrame, *, digits: int = 2) -> pd.DataFrame:
    """Display table of a :func:`biorepro.aggregate.compare.compare_table` result (strings)."""
    rows = []
    for rec in comparison.to_dict("records"):
        m = rec["metric"]
        rows.append({
            "A": rec["a"], "B": rec["b"], "Metric": m, "n": str(rec["n_paired"]),
            "Mean A": format_value(m, rec["mean_a"], digits),
            "Mean B": format_value(m, rec["mean_b"], digits),
            "P(A better)": format_value("", rec["p_a_better"]),
            "CI": f"[{format_value('', rec['ci_low'])}, {format_value('', rec['ci_high'])}]",
            "Verdict": rec["verdict"],
            "Wilcoxon p": format_value("", rec["wilcoxon_p"]),
            "Power": format_value("", rec["power"]),
            f"Pairs for {TARGET_POWER:.0%} power": _count(rec["pairs_for_80pct_power"]),
        })
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, note: str = "", caption: str = "") -> str:
    """A pipe table (first column left-aligned, others right-aligned) with optional
    caption paragraph above and note paragraph below."""
    def row(values) -> str:
        return "| " + " | ".join(str(v).replace("|", r"\|") for v in values) + " |"

    lines = [caption, ""] if caption else []
    lines.append(row(table.columns))
    lines.append("|" + "|".join([":---"] + ["---:"] * (table.shape[1] - 1)) + "|")
    lines += [row(values) for values in table.itertuples(index=False)]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def to_rst(table: pd.DataFrame, caption: str = "") -> str:
    """A reStructuredText ``csv-table`` (what Snakemake's report renders)."""
    def row(values) -> str:
        return ", ".join('"' + str(v).replace('"', '""') + '"' for v in values)

    lines = [f".. csv-table:: {caption}".rstrip(), f"   :header: {row(table.columns)}", ""]
    lines += [f"   {row(values)}" for values in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(table: pd.DataFrame, note: str = "", caption: str = "", label: str = "") -> str:
    """A ``table`` environment with a booktabs ``tabular`` (``\\toprule``, ``\\midrule``,
    ``\\bottomrule``); the note goes under the table in small print."""
    def row(values) -> str:
        return " & ".join(latex_escape(v) for v in values) + r" \\"

    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [r"\begin{tabular}{l" + "r" * (table.shape[1] - 1) + "}", r"\toprule",
              row(table.columns), r"\midrule"]
    lines += [row(values) for values in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if note:
        lines.append(rf"\par\smallskip{{\footnotesize {latex_escape(note)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_tables(raw: pd.DataFrame, display: pd.DataFrame, stem: str | os.PathLike, *,
                 note: str = "", caption: str = "", label: str = "",
                 more: tuple = ()) -> dict[str, Path]:
    """Write ``<stem>.csv`` (``raw``), ``<stem>.md`` and ``<stem>.tex`` (``display``, then
    each ``(table, note, caption, label)`` of ``more``)."""
    stem = Path(stem)
    paths = {ext: stem.with_name(f"{stem.name}.{ext}") for ext in ("csv", "md", "tex")}
    raw.to_csv(paths["csv"], index=False)
    tables = [(display, note, caption, label), *more]
    paths["md"].write_text("\n".join(to_markdown(t, n, c) for t, n, c, _ in tables))
    paths["tex"].write_text("\n".join(to_latex(t, n, c, lb) for t, n, c, lb in tables))
    return paths


def write_summary(summary: pd.DataFrame, stem: str | os.PathLike, *, ci: float = 0.95,
                  n_boot: int = 10000, caption: str = "", label: str = "") -> dict[str, Path]:
    """Write a seed summary (:func:`biorepro.aggregate.stats.summarize_seeds`) in the three formats.

    ``ci`` and ``n_boot`` must be those the summary was computed with (they are stated
    in the note). Operating points go to a second table, grouped by target."""
    display = format_summary(summary, ci=ci)
    keys = [operating_point(m) for m in summary["metric"]]
    points = sorted((k, i) for i, k in enumerate(keys) if k is not None)
    more = ((display.iloc[[i for _, i in points]],
             OPERATING_POINTS_NOTE + " " + summary_note(ci, n_boot),
             f"{caption}: operating points" if caption else "Operating points",
             f"{label}-op" if label else ""),) if points else ()
    return write_tables(summary, display[[k is None for k in keys]], stem,
                        note=summary_note(ci, n_boot), caption=caption, label=label, more=more)


def write_comparison(comparison: pd.DataFrame, stem: str | os.PathLike, *, ci: float = 0.95,
                     n_boot: int = 10000, caption: str = "", label: str = "") -> dict[str, Path]:
    """Write a comparison table (:func:`biorepro.aggregate.compare.compare_table`) in the
    three formats."""
    return write_tables(comparison, format_comparison(comparison), stem,
                        note=comparison_note(ci, n_boot), caption=caption, label=label)


def fold_note() -> str:
    """The note printed under a fold table."""
    return (f"Each cell: mean ± std over seeds (ddof={DDOF}) within a fold; 'across folds': "
            f"mean ± std of the fold means (ddof={FOLD_DDOF}, as bob's multi-metrics); "
            f"'all runs': every (fold, seed) run pooled (ddof={DDOF}). Rates in %.")


def format_folds(folds: pd.DataFrame, metrics: list[str], *, digits: int = 2) -> pd.DataFrame:
    """Display table of :func:`biorepro.aggregate.stats.summarize_folds`: one row per fold
    (then 'across folds', 'all runs'), one ``mean ± std`` column per metric."""
    rows = {}
    for rec in folds[folds["metric"].isin(metrics)].to_dict("records"):
        row = rows.setdefault(rec["fold"], {"Fold": rec["fold"]})
        row[rec["metric"]] = (f"{format_value(rec['metric'], rec['mean'], digits)} ± "
                              f"{format_value(rec['metric'], rec['std'], digits)}")
    return pd.DataFrame(list(rows.values()), columns=["Fold", *metrics])


def write_folds(folds: pd.DataFrame, metrics: list[str], stem: str | os.PathLike, *,
                caption: str = "", label: str = "") -> dict[str, Path]:
    """Write a fold table (:func:`biorepro.aggregate.stats.summarize_folds`; the CSV has
    every metric, the others ``metrics``) in the three formats."""
    return write_tables(folds, format_folds(folds, metrics), stem, note=fold_note(),
                        caption=caption, label=label)


def write_cross(cross: pd.DataFrame, stem: str | os.PathLike, *, ci: float = 0.95,
                n_boot: int = 10000, caption: str = "", label: str = "") -> dict[str, Path]:
    """Write a cross-dataset table (rows of :func:`biorepro.aggregate.stats.summarize_seeds`
    with ``train``, ``test`` and ``threshold_from`` columns) in the three formats: one row
    per (train, test) pair, ``mean ± std`` and the t CI of each metric."""
    level = f"{ci:.0%}"
    rows = {}
    for rec in cross.to_dict("records"):
        key = (rec["train"], rec["test"])
        row = rows.setdefault(key, {"Train → test": f"{rec['train']} → {rec['test']}",
                                    "Threshold from": rec["threshold_from"],
                                    "n": f"{rec['n']}/{rec['n_seeds']}"})
        m = rec["metric"]
        row[m] = (f"{format_value(m, rec['mean'])} ± {format_value(m, rec['std'])} "
                  + interval(m, rec["ci_t_low"], rec["ci_t_high"], rec["approximate"]))
    note = (f"Each cell: mean ± std over seeds (ddof={DDOF}) [{level} Student t CI of the "
            f"mean]; 'target test' thresholds are chosen on the test set itself (as many "
            f"papers do; optimistic). {interval_note()} Rates in %; {n_boot} bootstrap "
            f"resamples in the CSV.")
    return write_tables(cross, pd.DataFrame(list(rows.values())), stem, note=note,
                        caption=caption, label=label)


def paper_note(ci: float = 0.95, n_boot: int = 10000) -> str:
    """The note printed under a reported-vs-reproduced table."""
    return (f"Reproduced: mean ± std over seeds (ddof={DDOF}; with folds, each seed's mean over "
            f"the folds), n seeds used; a fold: its seeds; 'across folds': mean ± std of the "
            f"fold means (ddof={FOLD_DDOF}), range over fold means, no CI. {ci:.0%} CIs of the "
            f"mean by expanded percentile bootstrap ({n_boot} resamples) and Student t. "
            f"{interval_note()} Range: min–max "
            f"over the values summarised. In CI / in range: the published value lies inside "
            f"(bounds included). Δ = reproduced − published. Overlap: published mean ± std and "
            f"reproduced mean ± std intersect. Rates in %.")


def _verdict(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        "yes" if value else "no")


def format_paper(paper: pd.DataFrame, *, ci: float = 0.95, digits: int = 2) -> pd.DataFrame:
    """Display table of a :func:`biorepro.aggregate.paper.compare` result (strings)."""
    level = f"{ci:.0%}"
    rows = []
    for rec in paper.to_dict("records"):
        def fmt(key: str, rec: dict = rec) -> str:
            return format_value(rec["metric"], rec[key], digits)

        std, note = rec["published_std"], rec["note"]
        ok = rec["status"] == "ok"
        rows.append({
            "Metric": rec["metric"], "Level": rec["level"],
            "Fold / target": scope(rec) or "—",
            "Source": rec["source"] + (f" ({note})" if isinstance(note, str) else ""),
            "Published": fmt("published") + (f" ± {fmt('published_std')}"
                                             if std is not None and not math.isnan(std) else ""),
            "Reproduced": f"{fmt('mean')} ± {fmt('std')}" if ok else rec["status"],
            "n": str(int(rec["n"])) if ok else "",
            f"{level} CI (bootstrap)": interval(rec["metric"], rec["ci_boot_low"],
                                                rec["ci_boot_high"], rec["approximate"], digits),
            f"{level} CI (t)": interval(rec["metric"], rec["ci_t_low"], rec["ci_t_high"],
                                        rec["approximate"], digits),
            "Range": f"[{fmt('min')}, {fmt('max')}]",
            "In CI (boot / t)": f"{_verdict(rec['inside_ci_boot'])} / "
                                f"{_verdict(rec['inside_ci_t'])}",
            "In range": _verdict(rec["inside_range"]),
            "Δ": ("+" if ok and rec["delta"] > 0 else "") + fmt("delta"),
            "Overlap (± std)": _verdict(rec["overlap"]),
        })
    return pd.DataFrame(rows)


def write_paper(paper: pd.DataFrame, stem: str | os.PathLike, *, ci: float = 0.95,
                n_boot: int = 10000, caption: str = "", label: str = "") -> dict[str, Path]:
    """Write a reported-vs-reproduced table (:func:`biorepro.aggregate.paper.compare`) in
    the three formats."""
    return write_tables(paper, format_paper(paper, ci=ci), stem, note=paper_note(ci, n_boot),
                        caption=caption, label=label)
