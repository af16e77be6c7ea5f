"""The summary stage: everything ``results/<experiment>/`` shows, as one entry.

Per evaluation level: the per-seed metrics table, its summary across seeds (CSV,
Markdown, LaTeX), the number of seeds a target CI half-width needs, figures (metrics
across seeds, DET curves, score histograms; videos scored by the configured fusion,
``params["fusion"]``) and, once, the training curves of all seeds; plus the data report
and a ``summary.md`` that ties them together. Seeds are drawn in increasing order.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd

from biorepro.aggregate import plots, stats, tables
from biorepro.aggregate.datareport import write_data_report
from biorepro.evaluate.seed import is_rate, read_frame_scores, scores_at_level, split_classes
from biorepro.joblog import Log
from biorepro.store.layouts import SPLIT, SUMMARY, TRAIN

# Metrics shown first (in this order) in tables and figures; every other numeric metric
# (e.g. per-attack-type APCER) follows in the CSV files.
HEADLINE = ("test_hter", "test_apcer_ap", "test_bpcer", "test_acer", "test_auc",
            "devel_eer", "test_accuracy", "train_accuracy", "epochs_trained")
FIGURE_METRICS = ("test_hter", "test_acer", "test_apcer_ap", "test_bpcer", "devel_eer",
                  "test_auc")
NOT_METRICS = ("seed", "target", "best_epoch")


def metric_columns(per_seed: pd.DataFrame) -> list[str]:
    """The metric columns of a per-seed table: headline metrics first, then the rest."""
    numeric = [c for c in per_seed.select_dtypes("number").columns if c not in NOT_METRICS]
    return [m for m in HEADLINE if m in numeric] + sorted(set(numeric) - set(HEADLINE))


def summarize_level(per_seed: pd.DataFrame, st: dict) -> pd.DataFrame:
    """Every metric across seeds, with the seeds a target CI half-width needs (rates)."""
    summary = stats.summarize_seeds(per_seed, metrics=metric_columns(per_seed),
                                    n_boot=st["n_boot"], ci=st["ci"], seed=st["bootstrap_seed"])
    summary["seeds_needed"] = [  # for rates only: the half-width is a rate
        stats.seeds_needed(s, st["target_half_width"], st["ci"])
        if is_rate(m) and math.isfinite(s) and s > 0 else float("nan")
        for m, s in zip(summary["metric"], summary["std"])]
    return summary


def _train_entries(job: dict) -> list[tuple[int, Path]]:
    """``(seed, train entry)`` in increasing seed order."""
    return sorted((int(seed), Path(path)) for seed, path in job["inputs"]["train"].items())


def _figure(out: Path, name: str) -> Path:
    """The stem of figure ``name`` (its folder created)."""
    stem = out / SUMMARY.figure.stem(name=name)
    stem.parent.mkdir(exist_ok=True)
    return stem


def _figures(job: dict, level: str, per_seed: pd.DataFrame, out: Path, log: Log) -> None:
    params = job["ingredients"]["params"]
    name, fusion = params["experiment"], params["fusion"]
    shown = [m for m in FIGURE_METRICS if m in per_seed.columns]
    scored = f"{level} level" + (f", {fusion} of frames" if level == "video" else "")
    plots.plot_metric_seeds(per_seed, shown, _figure(out, f"metrics_{level}"),
                            title=f"{name}: {level} level, every seed")
    curves = {}
    for seed, train_path in _train_entries(job):
        test = scores_at_level(read_frame_scores(train_path, "test"), level, fusion, "test")
        attacks, bonafide, _ = split_classes(test)
        pooled = pd.concat([pd.Series(v) for v in attacks.values()]).to_numpy()
        curves[f"seed {seed}"] = (pooled, bonafide)
    plots.plot_det(curves, _figure(out, f"det_{level}"), title=f"DET on test, {scored}")
    seed, train_path = _train_entries(job)[0]
    threshold = per_seed.set_index("seed").loc[seed, "threshold"]
    devel, test = (scores_at_level(read_frame_scores(train_path, s), level, fusion, s)
                   for s in ("devel", "test"))
    plots.plot_score_histograms(devel, test, threshold, _figure(out, f"scores_{level}_seed{seed}"),
                                title=f"Scores of seed {seed}, {scored}")
    log(f"summary: figures for the {level} level written")


def build(job: dict, out: Path, log: Log) -> None:
    """Write the experiment's tables, figures and reports into ``out``."""
    params, inputs = job["ingredients"]["params"], job["inputs"]
    name, st = params["experiment"], params["stats"]
    log(f"summary: experiment {name}, {len(inputs['train'])} seeds")
    write_data_report(inputs["split"], out)
    shutil.copyfile(Path(inputs["split"]) / SPLIT.table(), out / SUMMARY.split_table())
    (out / SUMMARY.entries()).write_text(
        json.dumps(job["ingredients"]["inputs"], indent=2, sort_keys=True) + "\n")
    histories = {s: pd.read_csv(p / TRAIN.history()) for s, p in _train_entries(job)}
    plots.plot_training_curves(histories, _figure(out, "training_curves"),
                               title=f"{name}: loss and val_loss of every seed")
    md = [f"# Experiment `{name}`", ""]
    for level in stats.levels(inputs["metrics"]):
        per_seed = stats.per_seed_table(inputs["metrics"], level)
        per_seed.to_csv(out / SUMMARY.per_seed(level=level), index=False)
        summary = summarize_level(per_seed, st)
        paths = tables.write_summary(
            summary, out / SUMMARY.table.stem(level=level), ci=st["ci"],
            n_boot=st["n_boot"], caption=f"{name}: metrics across seeds, {level} level",
            label=f"tab:{name}-{level}")
        _figures(job, level, per_seed, out, log)
        diverged = stats.diverged_seeds(per_seed)
        md += [f"## {level.capitalize()} level", "", paths["md"].read_text(), "",
               f"Diverged seeds: {', '.join(map(str, diverged)) if diverged else 'none'}.", ""]
        log(f"summary: {level} level over {len(per_seed)} seeds written")
    md += ["Figures are in `figures/`; data in `data_report.md`; per-seed values in "
           "`per_seed_<level>.csv`.", ""]
    (out / SUMMARY.summary()).write_text("\n".join(md))
