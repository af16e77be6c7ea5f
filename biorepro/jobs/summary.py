"""The summary stage job: everything ``results/<experiment>/`` shows, as one entry.

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
from biorepro.evaluate.seed import is_rate, scores_at_level, split_classes
from biorepro.joblog import Log
from biorepro.jobs.metrics import read_frame_scores
from biorepro.store.entries import staging, write_provenance

# Metrics shown first (in this order) in tables and figures; every other numeric metric
# (e.g. per-attack-type APCER) follows in the CSV files.
HEADLINE = ("test_hter", "test_apcer_ap", "test_bpcer", "test_acer", "test_auc",
            "devel_eer", "test_accuracy", "train_accuracy", "epochs_trained")
FIGURE_METRICS = ("test_hter", "test_acer", "test_apcer_ap", "test_bpcer", "devel_eer",
                  "test_auc")
NOT_METRICS = ("seed", "target", "best_epoch")


def per_seed_table(metric_entries: list[dict], level: str) -> pd.DataFrame:
    rows = [json.loads((Path(m["path"]) / "metrics.json").read_text())
            for m in metric_entries if m["level"] == level]
    return pd.DataFrame(rows).sort_values("seed").reset_index(drop=True)


def metric_columns(per_seed: pd.DataFrame) -> list[str]:
    numeric = [c for c in per_seed.select_dtypes("number").columns if c not in NOT_METRICS]
    return [m for m in HEADLINE if m in numeric] + sorted(set(numeric) - set(HEADLINE))


def summarize_level(per_seed: pd.DataFrame, st: dict) -> pd.DataFrame:
    summary = stats.summarize_seeds(per_seed, metrics=metric_columns(per_seed),
                                    n_boot=st["n_boot"], ci=st["ci"], seed=st["bootstrap_seed"])
    summary["seeds_needed"] = [  # for rates only: the half-width is a rate
        stats.seeds_needed(s, st["target_half_width"], st["ci"])
        if is_rate(m) and math.isfinite(s) and s > 0 else float("nan")
        for m, s in zip(summary["metric"], summary["std"])]
    return summary


def _train_entries(spec: dict) -> list[tuple[int, Path]]:
    """``(seed, train entry)`` in increasing seed order."""
    return sorted((int(seed), Path(path)) for seed, path in spec["train"].items())


def _figures(spec: dict, level: str, fusion: str, per_seed: pd.DataFrame, out: Path,
             log: Log) -> None:
    shown = [m for m in FIGURE_METRICS if m in per_seed.columns]
    scored = f"{level} level" + (f", {fusion} of frames" if level == "video" else "")
    plots.plot_metric_seeds(per_seed, shown, out / f"metrics_{level}",
                            title=f"{spec['experiment']}: {level} level, every seed")
    curves = {}
    for seed, train_path in _train_entries(spec):
        test = scores_at_level(read_frame_scores(train_path, "test"), level, fusion, "test")
        attacks, bonafide, _ = split_classes(test)
        pooled = pd.concat([pd.Series(v) for v in attacks.values()]).to_numpy()
        curves[f"seed {seed}"] = (pooled, bonafide)
    plots.plot_det(curves, out / f"det_{level}", title=f"DET on test, {scored}")
    seed, train_path = _train_entries(spec)[0]
    threshold = per_seed.set_index("seed").loc[seed, "threshold"]
    devel, test = (scores_at_level(read_frame_scores(train_path, s), level, fusion, s)
                   for s in ("devel", "test"))
    plots.plot_score_histograms(devel, test, threshold, out / f"scores_{level}_seed{seed}",
                                title=f"Scores of seed {seed}, {scored}")
    log(f"summary: figures for the {level} level written")


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    name, params = spec["experiment"], ingredients["params"]
    st = params["stats"]
    log(f"summary: experiment {name}, {len(spec['train'])} seeds")
    with staging(out) as tmp:
        write_data_report(spec["split"], tmp)
        shutil.copyfile(Path(spec["split"]) / "split.csv", tmp / "split.csv")
        (tmp / "entries.json").write_text(
            json.dumps(spec["entries"], indent=2, sort_keys=True) + "\n")
        figures = tmp / "figures"
        figures.mkdir()
        histories = {s: pd.read_csv(p / "history.csv") for s, p in _train_entries(spec)}
        plots.plot_training_curves(histories, figures / "training_curves",
                                   title=f"{name}: loss and val_loss of every seed")
        md = [f"# Experiment `{name}`", ""]
        for level in sorted({m["level"] for m in spec["metrics"]}):
            per_seed = per_seed_table(spec["metrics"], level)
            per_seed.to_csv(tmp / f"per_seed_{level}.csv", index=False)
            summary = summarize_level(per_seed, st)
            paths = tables.write_summary(
                summary, tmp / f"summary_{level}", ci=st["ci"], n_boot=st["n_boot"],
                caption=f"{name}: metrics across seeds, {level} level",
                label=f"tab:{name}-{level}")
            _figures(spec, level, params["fusion"], per_seed, figures, log)
            diverged = stats.diverged_seeds(per_seed)
            md += [f"## {level.capitalize()} level", "", paths["md"].read_text(), "",
                   f"Diverged seeds: {', '.join(map(str, diverged)) if diverged else 'none'}.",
                   ""]
            log(f"summary: {level} level over {len(per_seed)} seeds written")
        md += ["Figures are in `figures/`; data in `data_report.md`; per-seed values in "
               "`per_seed_<level>.csv`.", ""]
        (tmp / "summary.md").write_text("\n".join(md))
        write_provenance(tmp, ingredients)
    log(f"summary: published {out}")
