"""The summary stage: everything ``results/<experiment>/`` shows, as one entry.

Runs are (fold, run) pairs (a run: a plain seed, or a run of a ``randomness`` design); a
protocol without folds has the single fold ``all``. With several folds, the summary
across seeds takes each seed's mean over the folds, and a fold table adds each fold, the
mean ± std across folds (as papers and bob's ``multi-metrics`` report) and all runs
pooled; each fold's data report goes to ``folds/<fold>/``.

Per evaluation level: the per-run metrics table, its summary across seeds (CSV,
Markdown, LaTeX), the number of seeds a target CI half-width needs (with its range),
"why do results change?" (:mod:`biorepro.aggregate.why`: variance by source with a
``randomness`` design, training vs test-set sampling, the expected best of k runs; in
``summary.md``, ``why.html`` and the report's ``landing.rst``), figures (metrics
across seeds, DET curves, score histograms; videos scored by the configured fusion,
``params["fusion"]``) and, once, the training curves of all seeds; plus the data report
and a ``summary.md`` that ties them together. Seeds are drawn in increasing order.
With published numbers (``params["paper"]``), a reported-vs-reproduced table and figure
(:mod:`biorepro.aggregate.paper`).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd

from biorepro.aggregate import paper, plots, stats, tables, trust, why
from biorepro.aggregate.datareport import write_data_report
from biorepro.evaluate.seed import is_rate, read_frame_scores, scores_at_level, split_classes
from biorepro.joblog import Log
from biorepro.store.layouts import SPLIT, SUMMARY, TRAIN
from biorepro.train.randomness import SOURCES

# Metrics shown first (in this order) in tables and figures; every other numeric metric
# (e.g. per-attack-type APCER) follows in the CSV files.
HEADLINE = ("test_hter", "test_apcer_ap", "test_bpcer", "test_acer", "test_auc",
            "devel_eer", "test_accuracy", "train_accuracy", "epochs_trained")
FIGURE_METRICS = ("test_hter", "test_acer", "test_apcer_ap", "test_bpcer", "devel_eer",
                  "test_auc")
NOT_METRICS = ("seed", "target", "best_epoch", *SOURCES)
CROSS_METRICS = ("test_hter", "test_auc", "test_apcer_ap", "test_bpcer", "devel_eer")
FOLD_METRICS = ("test_hter", "test_apcer_ap", "test_bpcer", "test_acer", "devel_eer")


def metric_columns(per_seed: pd.DataFrame) -> list[str]:
    """The metric columns of a per-seed table: headline metrics first, then the rest."""
    numeric = [c for c in per_seed.select_dtypes("number").columns if c not in NOT_METRICS]
    return [m for m in HEADLINE if m in numeric] + sorted(set(numeric) - set(HEADLINE))


def summarize_level(per_seed: pd.DataFrame, st: dict) -> pd.DataFrame:
    """Every metric across seeds, with the seeds a target CI half-width needs (rates) and
    that number's range (``seeds_needed_low``/``_high``: the std is itself uncertain)."""
    summary = stats.summarize_seeds(per_seed, metrics=metric_columns(per_seed),
                                    n_boot=st["n_boot"], ci=st["ci"], seed=st["bootstrap_seed"])
    h, ci, nan = st["target_half_width"], st["ci"], float("nan")
    budgets = [  # for rates only: the half-width is a rate
        (stats.seeds_needed(s, h, ci), *stats.seeds_needed_range(s, n, h, ci))
        if is_rate(m) and math.isfinite(s) and s > 0 else (nan, nan, nan)
        for m, s, n in zip(summary["metric"], summary["std"], summary["n"])]
    summary[["seeds_needed", "seeds_needed_low", "seeds_needed_high"]] = budgets
    return summary


def _train_entries(job: dict) -> list[tuple[str, str, Path]]:
    """``(label, run, train entry)`` of every run, folds in order, seeds increasing."""
    runs = [(role.rsplit("/", 1), Path(p)) for role, p in job["inputs"]["train"].items()]
    folds = list(dict.fromkeys(fold for (fold, _), _ in runs))
    runs.sort(key=lambda r: (folds.index(r[0][0]), _run_order(r[0][1])))
    single = len(folds) == 1
    return [(f"seed {seed}" if single else f"fold {fold}, seed {seed}", f"{fold}/{seed}", path)
            for (fold, seed), path in runs]


def _run_order(label: str) -> tuple:
    """Plain seeds in increasing order, before the runs of a design (in their order)."""
    seed = stats.run_label(label)
    return (0, seed) if isinstance(seed, int) else (1, 0)


def _figure(out: Path, name: str) -> Path:
    """The stem of figure ``name`` (its folder created)."""
    stem = out / SUMMARY.figure.stem(name=name)
    stem.parent.mkdir(exist_ok=True)
    return stem


def _test_samples(job: dict, level: str) -> dict[str, pd.DataFrame]:
    """Each run's test samples at ``level`` (videos fused by ``params["fusion"]``), by run
    (``"<fold>/<run label>"``): read once, for the DET curves and the test-sampling
    bootstrap."""
    fusion = job["ingredients"]["params"]["fusion"]
    return {run: scores_at_level(read_frame_scores(path, "test"), level, fusion, "test")
            for _label, run, path in _train_entries(job)}


def _figures(job: dict, level: str, per_seed: pd.DataFrame, tests: dict[str, pd.DataFrame],
             out: Path, log: Log) -> None:
    params = job["ingredients"]["params"]
    name, fusion = params["experiment"], params["fusion"]
    shown = [m for m in FIGURE_METRICS if m in per_seed.columns]
    scored = f"{level} level" + (f", {fusion} of frames" if level == "video" else "")
    plots.plot_metric_seeds(per_seed, shown, _figure(out, f"metrics_{level}"),
                            title=f"{name}: {level} level, every seed")
    curves = {}
    for label, run, _path in _train_entries(job):
        attacks, bonafide, _ = split_classes(tests[run])
        pooled = pd.concat([pd.Series(v) for v in attacks.values()]).to_numpy()
        curves[label] = (pooled, bonafide)
    plots.plot_det(curves, _figure(out, f"det_{level}"), title=f"DET on test, {scored}")
    label, run, train_path = _train_entries(job)[0]
    threshold = per_seed.set_index("run").loc[run, "threshold"]
    devel = scores_at_level(read_frame_scores(train_path, "devel"), level, fusion, "devel")
    test = tests[run]
    name = label.replace(", ", "_").replace(" ", "")
    plots.plot_score_histograms(devel, test, threshold, _figure(out, f"scores_{level}_{name}"),
                                title=f"Scores of {label}, {scored}")
    log(f"summary: figures for the {level} level written")


def _png(paths: list[Path]) -> Path:
    return next(p for p in paths if p.suffix == ".png")


def _why_section(job: dict, level: str, per_run: pd.DataFrame, per_seed: pd.DataFrame,
                 summary: pd.DataFrame, tests: dict[str, pd.DataFrame], estimable: bool,
                 out: Path) -> tuple[list[str], dict[str, Path]]:
    """Write the spread of the level's metrics taken apart (:mod:`biorepro.aggregate.why`):
    variance by source (with a ``randomness`` design), training vs test sampling, the
    expected best of k runs; return its lines of ``summary.md`` and its figures (PNG, by
    name: ``variance``, ``best``)."""
    params = job["ingredients"]["params"]
    name, st, design = params["experiment"], params["stats"], params["design"]
    shares, figures = None, {}
    if design is not None:
        shares = why.variance(per_seed, design, st)
        shares.to_csv(out / SUMMARY.variance(level=level), index=False)
        if len(shares):
            figures["variance"] = _png(plots.plot_variance(
                shares, list(dict.fromkeys(shares["metric"])), _figure(out, f"variance_{level}"),
                title=f"{name}: variance by source, {level} level ({design})"))
    runs: dict[str, list] = {}
    for rec in per_run[per_run["status"] == "ok"].to_dict("records"):
        runs.setdefault(rec["fold"], []).append((tests[rec["run"]], rec["threshold"]))
    spread = why.sampling(runs, st)
    spread.to_csv(out / SUMMARY.sampling(level=level), index=False)
    best = why.best_of(per_seed)
    best.to_csv(out / SUMMARY.expected_best(level=level), index=False)
    if len(best):
        figures["best"] = _png(plots.plot_expected_best(
            best, _figure(out, f"expected_best_{level}"), metrics=why.BEST_OF,
            title=f"{name}: best of k runs, {level} level"))
    return [f"### {level.capitalize()} level", "",
            *why.answer(summary, shares, spread, best, st, design, estimable), ""], figures


def _report_pages(name: str, levels: dict[str, tuple], cautions: list[str], out: Path) -> None:
    """``why.html`` (the warnings, then the answer of every level, with its figures) and
    ``landing.rst`` (the report's landing section: the warnings, the headline table, answer
    and figure of the video level, else the first)."""
    lines = [f"# Why do results of `{name}` change?", "", *cautions]
    figures = []
    for level_lines, _summary, level_figures in levels.values():
        lines += level_lines
        figures += level_figures.values()
    (out / SUMMARY.why()).write_text(why.html_page(f"{name}: why do results change?", lines,
                                                   figures))
    level = "video" if "video" in levels else next(iter(levels))
    level_lines, summary, level_figures = levels[level]
    shown = tables.format_summary(summary[summary["metric"].isin(HEADLINE)])
    columns = [c for c in shown.columns
               if c in ("Metric", "n", "Mean", "Std") or c.endswith("CI (bootstrap)")]
    table = tables.to_rst(shown[columns], caption=f"{level} level, across seeds (n: runs "
                                                  "used / run)")
    metrics_figure = _figure(out, f"metrics_{level}")
    figure = level_figures.get("variance", metrics_figure.with_name(f"{metrics_figure.name}.png"))
    (out / SUMMARY.landing()).write_text(why.landing_rst(
        name, table, [ln for ln in cautions + level_lines if ln.startswith("- ")], figure))


THRESHOLD_NAMES = {"devel": "source devel", "target-devel": "target devel",
                   "test": "target test (optimistic)"}


def _by_target(cross: dict[str, str]) -> dict[str, dict[str, str]]:
    """Cross-dataset metrics entries keyed ``"<target>/<fold>/<seed>/<level>"``, by target
    (each keyed ``"<fold>/<seed>/<level>"``)."""
    by_target: dict[str, dict[str, str]] = {}
    for role, path in cross.items():
        target, run = role.split("/", 1)
        by_target.setdefault(target, {})[run] = path
    return by_target


def _cross_section(cross: dict[str, str], name: str, st: dict, out: Path) -> list[str]:
    """The train × test table of every cross-dataset target and level (metrics entries
    keyed ``"<target>/<fold>/<seed>/<level>"``): each metric across seeds (a seed's mean
    over the folds, with folds)."""
    by_target = _by_target(cross)
    md = ["## Cross-dataset testing", ""]
    for level in stats.levels({run: p for runs in by_target.values() for run, p in runs.items()}):
        rows = []
        for target, runs in by_target.items():
            per_run = stats.per_seed_table(runs, level)
            shown = [m for m in CROSS_METRICS if m in per_run.columns]
            per_seed = (stats.seed_means(per_run, shown) if per_run["fold"].nunique() > 1
                        else per_run)
            summary = stats.summarize_seeds(per_seed, metrics=shown, n_boot=st["n_boot"],
                                            ci=st["ci"], seed=st["bootstrap_seed"])
            summary.insert(0, "threshold_from", THRESHOLD_NAMES[per_run["threshold_from"][0]])
            summary.insert(0, "test", target)
            summary.insert(0, "train", name)
            rows.append(summary)
        paths = tables.write_cross(pd.concat(rows, ignore_index=True),
                                   out / SUMMARY.cross.stem(level=level), ci=st["ci"],
                                   n_boot=st["n_boot"],
                                   caption=f"{name}: cross-dataset testing, {level} level",
                                   label=f"tab:{name}-cross-{level}")
        md += [f"### {level.capitalize()} level", "", paths["md"].read_text(), ""]
    return md


def _paper_section(published: dict, per_runs: dict, cross: dict[str, str], name: str,
                   st: dict, out: Path, log: Log) -> list[str]:
    """The reported-vs-reproduced table and figure of the published numbers (``per_runs``:
    the experiment's per-run table of each level, keyed ``(level, None)``)."""
    rows = published["results"]
    per_runs = per_runs | {(level, target): stats.per_seed_table(_by_target(cross)[target], level)
                           for level, target in {(r["level"], r["target"]) for r in rows}
                           if target is not None}
    table, values = paper.compare(rows, per_runs, n_boot=st["n_boot"], ci=st["ci"],
                                  seed=st["bootstrap_seed"])
    paths = tables.write_paper(table, out / SUMMARY.paper.stem(), ci=st["ci"],
                               n_boot=st["n_boot"], caption=f"{name}: reported vs reproduced",
                               label=f"tab:{name}-paper")
    plots.plot_paper(table, values, _figure(out, "paper"),
                     title=f"{name}: reported vs reproduced")
    for rec in table[table["status"] != "ok"].to_dict("records"):
        log(f"summary: published {rec['metric']} ({rec['source']}): {rec['status']}")
    title = published["title"] and f"*{published['title']}*"
    cited = ", ".join(v for v in (title, published["source"]) if v)
    return (["## Reported vs reproduced", ""] + ([f"Published in {cited}.", ""] if cited else [])
            + [paths["md"].read_text(), "", "Figure: `figures/paper.svg`.", ""])


def _data_reports(inputs: dict, out: Path) -> None:
    """The data report, bad videos and split table: of the single fold, or of each fold
    in ``folds/<fold>/``."""
    splits = inputs["split"]
    for fold, split_entry in splits.items():
        where = out / SUMMARY.fold_data(fold=fold, name="") if len(splits) > 1 else out
        where.mkdir(parents=True, exist_ok=True)
        write_data_report(split_entry, where)
        shutil.copyfile(Path(split_entry) / SPLIT.table(), where / SUMMARY.split_table())


def build(job: dict, out: Path, log: Log) -> None:
    """Write the experiment's tables, figures and reports into ``out``."""
    params, inputs = job["ingredients"]["params"], job["inputs"]
    name, st = params["experiment"], params["stats"]
    folds = list(inputs["split"])
    multi = len(folds) > 1
    log(f"summary: experiment {name}, {len(inputs['train'])} runs"
        + (f" ({len(folds)} folds)" if multi else ""))
    _data_reports(inputs, out)
    splits = {fold: Path(p) for fold, p in inputs["split"].items()}
    tables_of = {fold: (pd.read_csv(p / SPLIT.table(), keep_default_na=False),
                        pd.read_csv(p / SPLIT.bad_videos(), keep_default_na=False, dtype=str))
                 for fold, p in splits.items()}
    cautions = [c for table, bad in tables_of.values() for c in trust.data_warnings(table, bad)]
    estimable = all(trust.test_sampling_estimable(table) for table, _ in tables_of.values())
    (out / SUMMARY.entries()).write_text(
        json.dumps(job["ingredients"]["inputs"], indent=2, sort_keys=True) + "\n")
    histories = {label: pd.read_csv(p / TRAIN.history()) for label, _, p in _train_entries(job)}
    plots.plot_training_curves(histories, _figure(out, "training_curves"),
                               title=f"{name}: loss and val_loss of every run")
    md = [f"# Experiment `{name}`", ""]
    if multi:
        md += [f"Folds: {', '.join(folds)}. The tables across seeds take each seed's mean "
               "over the folds; the fold tables show each fold and the spread across folds.", ""]
    per_runs, why_md, pages = {}, ["## Why do results change?", ""], {}
    for level in stats.levels(inputs["metrics"]):
        per_run = per_runs[level, None] = stats.per_seed_table(inputs["metrics"], level)
        per_run.to_csv(out / SUMMARY.per_seed(level=level), index=False)
        columns = metric_columns(per_run)
        per_seed = (stats.seed_means(per_run, [*columns, *SOURCES]) if multi else per_run)
        summary = summarize_level(per_seed, st)
        over = f", each seed averaged over {len(folds)} folds" if multi else ""
        paths = tables.write_summary(
            summary, out / SUMMARY.table.stem(level=level), ci=st["ci"],
            n_boot=st["n_boot"], caption=f"{name}: metrics across seeds{over}, {level} level",
            label=f"tab:{name}-{level}")
        tests = _test_samples(job, level)
        _figures(job, level, per_run, tests, out, log)
        diverged = stats.diverged_seeds(per_run, seed_col="seed" if not multi else "run")
        md += [f"## {level.capitalize()} level", "", paths["md"].read_text(), ""]
        if multi:
            fold_paths = tables.write_folds(
                stats.summarize_folds(per_run, columns),
                [m for m in FOLD_METRICS if m in columns], out / SUMMARY.folds.stem(level=level),
                caption=f"{name}: per fold, {level} level", label=f"tab:{name}-folds-{level}")
            md += [fold_paths["md"].read_text(), ""]
        md += [f"Diverged {'runs' if multi else 'seeds'}: "
               f"{', '.join(map(str, diverged)) if diverged else 'none'}.", ""]
        cautions += trust.run_warnings(per_run, level)
        why_lines, why_figures = _why_section(job, level, per_run, per_seed, summary, tests,
                                              estimable, out)
        why_md += why_lines
        pages[level] = (why_lines, summary, why_figures)
        log(f"summary: {level} level over {len(per_run)} runs written")
    caution_md = trust.section(list(dict.fromkeys(cautions)))  # each once, in order
    md[2:2] = caution_md
    md += why_md + ["The same on one page: `why.html`.", ""]
    _report_pages(name, pages, caution_md, out)
    if inputs.get("cross"):
        md += _cross_section(inputs["cross"], name, st, out)
        log(f"summary: cross-dataset table of {len(inputs['cross'])} entries written")
    if params["paper"]:
        md += _paper_section(params["paper"], per_runs, inputs.get("cross", {}), name, st, out,
                             log)
        log(f"summary: {len(params['paper']['results'])} published numbers compared")
    md += ["Figures are in `figures/`; data in `data_report.md`"
           + (" of each `folds/<fold>/`" if multi else "")
           + "; per-run values in `per_seed_<level>.csv`.", ""]
    (out / SUMMARY.summary()).write_text("\n".join(md))
