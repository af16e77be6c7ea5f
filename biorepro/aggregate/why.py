"""Why do results change? The spread of an experiment's metrics, taken apart.

For one evaluation level (rates as fractions; every number states its n and method):

- :func:`variance` — with a ``randomness`` design, each metric's variance by source of
  randomness (:mod:`biorepro.aggregate.variance`);
- :func:`sampling` — test metrics with intervals over training runs, over test-set
  sampling and over both (:mod:`biorepro.aggregate.sampling`), per fold;
- :func:`best_of` — the expected best devel EER of the best of k runs and the test HTER
  of that run (:mod:`biorepro.aggregate.budget`, Dodge et al. 2019);
- :func:`answer` — the few lines of ``summary.md`` that tie them together, with the
  seed budget (:func:`biorepro.aggregate.stats.seeds_needed_range`).
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import pandas as pd

from biorepro.aggregate import budget, stats
from biorepro.aggregate import sampling as test_sampling
from biorepro.aggregate import variance as sources
from biorepro.aggregate.trust import MIN_SUBJECTS
from biorepro.evaluate import registry
from biorepro.train.randomness import SOURCES

BEST_OF = (registry.SELECTION, registry.PRIMARY)  # chosen on, reported


def variance(per_run: pd.DataFrame, design: str, st: dict) -> pd.DataFrame:
    """Each metric of the registry's ``variance`` role (present and not NaN everywhere) by
    source;
    see :func:`biorepro.aggregate.variance.decompose_with_ci` (no row when every run
    diverged)."""
    metrics = [m for m in registry.with_role("variance")
               if m in per_run.columns and per_run.loc[per_run["status"] == "ok", m].notna().any()]
    if not metrics:
        return pd.DataFrame(columns=list(sources.CI_COLUMNS))
    table = per_run[[*(s for s in SOURCES if per_run[s].notna().all()), "status", *metrics]]
    return sources.decompose_with_ci(table, metrics, design, n_boot=st["n_boot"],
                                     ci=st["ci"], seed=st["bootstrap_seed"])


def sampling(runs: dict[str, list[tuple[pd.DataFrame, float]]], st: dict) -> pd.DataFrame:
    """Test metrics with training, test-sampling and combined intervals, one block per
    fold (``runs``: fold -> the ok runs' test samples at the level and thresholds; no row
    for a fold without one)."""
    blocks = [pd.DataFrame(columns=["fold", *test_sampling.COLUMNS])]
    for fold, fold_runs in runs.items():
        table = test_sampling.hierarchical_bootstrap(fold_runs, n_boot=st["n_boot"],
                                                     ci=st["ci"], seed=st["bootstrap_seed"])
        table.insert(0, "fold", fold)
        blocks.append(table)
    return pd.concat(blocks, ignore_index=True)


def best_of(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Expected best devel EER among k runs, and the expected test HTER of the run so
    chosen, for k = 1..n (ok runs with both values)."""
    ok = per_seed[per_seed["status"] == "ok"].dropna(subset=list(BEST_OF))
    return budget.expected_test_of_best(ok[BEST_OF[0]].to_numpy(), ok[BEST_OF[1]].to_numpy(),
                                        lower_is_better=True)


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def answer(summary: pd.DataFrame, shares: pd.DataFrame | None, spread: pd.DataFrame,
           best: pd.DataFrame, st: dict, design: str | None,
           estimable: bool = True) -> list[str]:
    """Markdown lines answering "why do results change?" for the headline metric;
    ``estimable``: whether the test set has enough subjects per class for its sampling to
    be estimated (:func:`biorepro.aggregate.trust.test_sampling_estimable`)."""
    m = registry.PRIMARY
    row = summary.set_index("metric").loc[m]
    n, std = int(row["n"]), float(row["std"])
    lines = [f"- **Spread**: {m} is {_pct(row['mean'])} ± {_pct(std)} (mean ± std, ddof 1) "
             f"over n = {n} runs, range {_pct(row['min'])} to {_pct(row['max'])}."]
    if shares is not None and m in set(shares["metric"]):
        parts = [f"{r['component']} {100 * r['share']:.0f}% "
                 f"[{100 * r['share_ci_low']:.0f}, {100 * r['share_ci_high']:.0f}]"
                 for r in shares[shares["metric"] == m].to_dict("records")
                 if math.isfinite(r["share"])]
        method = shares["method"].iloc[0]
        lines.append(f"- **By source** ({method}; n = {n} runs, "
                     f"{st['ci']:.0%} bootstrap CIs): {', '.join(parts) or 'no variance'}.")
    elif design is None:
        lines.append("- **By source**: every run draws all its sources from one seed; set "
                     "`randomness` to tell initialisation, data order and noise apart.")
    for rec in spread[spread["metric"] == m].to_dict("records"):
        fold = "" if len(spread["fold"].unique()) == 1 else f" (fold {rec['fold']})"
        if not estimable:
            lines.append(
                f"- **Training vs test sampling**{fold}: standard error of the mean {m} "
                f"{_pct(rec['training_se'])} from the {rec['n_runs']} runs; the test set's "
                f"share is not estimable ({rec['n_subjects']} subjects, fewer than "
                f"{MIN_SUBJECTS} of some class): add test subjects before adding seeds.")
            continue
        bigger = ("a bigger test set" if rec["test_share"] > 0.5 else "more seeds")
        lines.append(
            f"- **Training vs test sampling**{fold}: standard error of the mean {m} "
            f"{_pct(rec['training_se'])} from the {rec['n_runs']} runs, "
            f"{_pct(rec['test_se'])} from the test set ({rec['n_subjects']} subjects, "
            f"{rec['n_videos']} videos; hierarchical bootstrap, {rec['n_boot']} replicates); "
            f"both: {st['ci']:.0%} CI [{_pct(rec['both_low'])}, {_pct(rec['both_high'])}]. "
            f"Test-set sampling is {100 * rec['test_share']:.0f}% of the variance: "
            f"{bigger} would narrow the interval most.")
    h = st["target_half_width"]
    if n >= 2 and math.isfinite(std) and std > 0:
        point = stats.seeds_needed(std, h, st["ci"])
        low, high = stats.seeds_needed_range(std, n, h, st["ci"])
        lines.append(f"- **Seed budget**: a {st['ci']:.0%} CI of ± {_pct(h)} on {m} needs "
                     f"{point} seeds (range {low}–{high}: the std measured on {n} seeds is "
                     "itself uncertain; chi-square interval). This is precision, not power: "
                     "see the comparisons for the seeds a difference needs.")
    if len(best):
        last = best.iloc[-1]
        lines.append(f"- **Best of N** (Dodge et al. 2019, expected over draws of k runs): "
                     f"the best devel EER of 1 run is {_pct(best['expected_best_devel'].iloc[0])}"
                     f", of {int(last['k'])} runs {_pct(last['expected_best_devel'])}; the test "
                     f"HTER of the run picked on devel is then "
                     f"{_pct(last['expected_test_at_best_devel'])}, against a mean of "
                     f"{_pct(best['expected_test_at_best_devel'].iloc[0])}.")
    return lines


_BOLD, _CODE = re.compile(r"\*\*(.+?)\*\*"), re.compile(r"`(.+?)`")


def _inline(text: str) -> str:
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False)))


def html_page(title: str, lines: list[str], figures: list[Path]) -> str:
    """A self-contained HTML page of Markdown ``lines`` (headings ``#``..``###``, bullets,
    paragraphs, bold, code) and the PNG ``figures`` embedded."""
    body, in_list = [], False
    for line in lines:
        if in_list and not line.startswith("- "):
            body.append("</ul>")
            in_list = False
        if line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            body.append(f"<h{depth}>{_inline(line[depth:].strip())}</h{depth}>")
        elif line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_list:
        body.append("</ul>")
    for path in figures:
        data = base64.b64encode(Path(path).read_bytes()).decode()
        body.append(f'<p><img alt="{html.escape(Path(path).stem)}" style="max-width:100%" '
                    f'src="data:image/png;base64,{data}"></p>')
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
            "max-width:60em;margin:2em auto;line-height:1.4}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def landing_rst(name: str, table_rst: str, lines: list[str], figure: Path) -> str:
    """The report landing page's section of experiment ``name``: its headline table, the
    answer's lines and a figure (PNG, embedded)."""
    data = base64.b64encode(Path(figure).read_bytes()).decode()
    chunks = [f"   {data[i:i + 76]}" for i in range(0, len(data), 76)]  # docutils joins them
    return "\n".join([name, "-" * len(name), "", table_rst, *lines, "",
                      ".. image:: data:image/png;base64,", *chunks, "   :width: 90%", ""])
