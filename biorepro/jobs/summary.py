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
``params["fusion"]``), the selection rules' table when the runs recorded per-epoch
scores (:mod:`biorepro.aggregate.selection`) and, once, the training curves of all seeds;
plus the data report and a ``summary.md`` that ties them together. Seeds are drawn in
increasing order. With published numbers (``params["paper"]``), a reported-vs-reproduced
table and figure (:mod:`biorepro.aggregate.paper`).

This module reads the inputs and writes the files; what the tables and the Markdown say
is built in :mod:`biorepro.aggregate` (:mod:`~biorepro.aggregate.summary`,
:mod:`~biorepro.aggregate.why`, :mod:`~biorepro.aggregate.tables`), and which metrics
appear where is the registry's (:mod:`biorepro.evaluate.registry`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from biorepro.aggregate import legs as legs_table
from biorepro.aggregate import paper, plots, selection, stats, tables, trust, why
from biorepro.aggregate import summary as said
from biorepro.aggregate.datareport import write_data_report
from biorepro.evaluate import registry
from biorepro.evaluate.seed import read_frame_scores, scores_at_level, split_classes
from biorepro.joblog import Log
from biorepro.store.layouts import SPLIT, SUMMARY, TRAIN
from biorepro.store.roles import Run
from biorepro.train.randomness import SOURCES


def _train_entries(job: dict) -> list[tuple[str, str, Path]]:
    """``(label, run, train entry)`` of every run, folds in order, seeds increasing."""
    runs = [(Run.parse(role, level=False), Path(p)) for role, p in job["inputs"]["train"].items()]
    folds = list(dict.fromkeys(run.fold for run, _ in runs))
    runs.sort(key=lambda r: (folds.index(r[0].fold), r[0].order))
    single = len(folds) == 1
    return [(f"seed {r.label}" if single else f"fold {r.fold}, seed {r.label}", r.run, path)
            for r, path in runs]


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
    shown = [m for m in registry.with_role("figure") if m in per_seed.columns]
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


def _legs_section(per_run: pd.DataFrame, metrics: dict[str, str], legs: dict[str, str],
                  level: str, name: str, st: dict, out: Path) -> list[str]:
    """A benchmark's table of ``level``, a column per leg (:mod:`biorepro.aggregate.legs`);
    its lines of ``summary.md``."""
    summary = legs_table.summarize(per_run, selection.per_run(metrics, level), legs, st)
    paths = tables.write_tables(
        summary, legs_table.display(summary), out / SUMMARY.legs.stem(level=level),
        note=legs_table.note(per_run, st["ci"], st["n_boot"]),
        caption=f"{name}: test metrics per leg across seeds, {level} level",
        label=f"tab:{name}-legs-{level}")
    return ["#### Legs", "", paths["md"].read_text(), ""]


def _selection_section(metrics: dict[str, str], level: str, name: str, st: dict,
                       out: Path) -> list[str]:
    """The selection rules' table of ``level`` (:mod:`biorepro.aggregate.selection`), when
    the runs recorded per-epoch scores; its lines of ``summary.md``."""
    runs = selection.per_run(metrics, level)
    if runs.empty:
        return []
    summary = selection.summarize(runs, st)
    paths = tables.write_tables(
        summary, selection.display(summary), out / SUMMARY.selection.stem(level=level),
        note=selection.note(st["ci"], st["n_boot"]),
        caption=f"{name}: test metrics under each selection rule, {level} level",
        label=f"tab:{name}-selection-{level}")
    return ["#### Selection rules", "", paths["md"].read_text(), ""]


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
    table = said.landing_table(summary, level)
    metrics_figure = _figure(out, f"metrics_{level}")
    figure = level_figures.get("variance", metrics_figure.with_name(f"{metrics_figure.name}.png"))
    (out / SUMMARY.landing()).write_text(why.landing_rst(
        name, table, [ln for ln in cautions + level_lines if ln.startswith("- ")], figure))


def _by_target(cross: dict[str, str]) -> dict[str, dict[str, str]]:
    """Cross-dataset metrics entries keyed ``"<target>/<fold>/<seed>/<level>"``, by target
    (each keyed ``"<fold>/<seed>/<level>"``)."""
    by_target: dict[str, dict[str, str]] = {}
    for role, path in cross.items():
        run = Run.parse(role, level=True, target=True)
        by_target.setdefault(run.target, {})[Run(run.fold, run.label, run.level).role] = path
    return by_target


def _cross_section(cross: dict[str, str], name: str, st: dict, out: Path) -> list[str]:
    """The train × test table of every cross-dataset target and level (metrics entries
    keyed ``"<target>/<fold>/<seed>/<level>"``): each metric across seeds (a seed's mean
    over the folds, with folds)."""
    by_target = _by_target(cross)
    md = ["## Cross-dataset testing", ""]
    for level in stats.levels({run: p for runs in by_target.values() for run, p in runs.items()}):
        rows = [said.cross_rows(stats.per_seed_table(runs, level), name, target, st)
                for target, runs in by_target.items()]
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
    return said.paper_lines(published, paths["md"].read_text())


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
    md = said.header(name, folds)
    per_runs, why_md, pages = {}, ["## Why do results change?", ""], {}
    for level in stats.levels(inputs["metrics"]):
        per_run = per_runs[level, None] = stats.per_seed_table(inputs["metrics"], level)
        per_run.to_csv(out / SUMMARY.per_seed(level=level), index=False)
        columns = said.metric_columns(per_run)
        per_seed = (stats.seed_means(per_run, [*columns, *SOURCES]) if multi else per_run)
        summary = said.summarize_level(per_seed, st)
        over = f", each seed averaged over {len(folds)} folds" if multi else ""
        paths = tables.write_summary(
            summary, out / SUMMARY.table.stem(level=level), ci=st["ci"],
            n_boot=st["n_boot"], caption=f"{name}: metrics across seeds{over}, {level} level",
            label=f"tab:{name}-{level}")
        tests = _test_samples(job, level)
        _figures(job, level, per_run, tests, out, log)
        diverged = stats.diverged_seeds(per_run, seed_col="seed" if not multi else "run")
        folds_md = None
        if multi:
            folds_md = tables.write_folds(
                stats.summarize_folds(per_run, columns),
                [m for m in registry.with_role("fold") if m in columns],
                out / SUMMARY.folds.stem(level=level),
                caption=f"{name}: per fold, {level} level",
                label=f"tab:{name}-folds-{level}")["md"].read_text()
        md += said.level_lines(level, paths["md"].read_text(), folds_md, diverged, multi)
        if params["legs"]:
            md += _legs_section(per_run, inputs["metrics"], params["legs"], level, name, st,
                                out)
        md += _selection_section(inputs["metrics"], level, name, st, out)
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
    md += said.footer(multi)
    (out / SUMMARY.summary()).write_text("\n".join(md))
