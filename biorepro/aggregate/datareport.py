"""The data report: what went into an experiment, per split, and what was left out.

``bad_videos.csv`` (written by the split stage, copied as is) has the columns
``video_id`` (the path relative to the dataset root), ``split``, ``label``, ``reason``:
a video is never named by its path on the machine that ran the job.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from biorepro.store.layouts import SPLIT, SUMMARY


def data_report(split_entry: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts per split/label/attack type, and per source domain in a multi-source
    experiment, bad videos) of a split-folders entry: ``frames`` with an image,
    ``fta_frames`` without (no face: failures to acquire)."""
    split_entry = Path(split_entry)
    frames = pd.read_csv(split_entry / SPLIT.table(), keep_default_na=False,
                         dtype={"domain": str})
    frames["acquired"] = 1 - frames["fta"]
    by = ["split", *(["domain"] if (frames["domain"] != "").any() else []), "label",
          "attack_type"]
    counts = (frames.groupby(by)
              .agg(videos=("video_id", "nunique"), frames=("acquired", "sum"),
                   fta_frames=("fta", "sum"), subjects=("subject", "nunique"))
              .reset_index())
    bad = pd.read_csv(split_entry / SPLIT.bad_videos(), keep_default_na=False, dtype=str)
    return counts, bad


def write_data_report(split_entry: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``data_report.csv`` (counts), ``bad_videos.csv`` (the split entry's, as is)
    and ``data_report.md``."""
    out_dir = Path(out_dir)
    counts, bad = data_report(split_entry)
    counts.to_csv(out_dir / SUMMARY.data_report(ext="csv"), index=False)
    shutil.copyfile(Path(split_entry) / SPLIT.bad_videos(), out_dir / SUMMARY.bad_videos())
    domains = "domain" in counts
    lines = ["# Data report", "", "Videos, frames and subjects per split, "
             + ("source domain, " if domains else "") + "label and attack type "
             "(FTA frames: no face found, no image; scored NaN).", "",
             "| split | " + ("domain | " if domains else "")
             + "label | attack type | videos | frames | FTA frames | subjects |",
             "|---|" + ("---|" if domains else "") + "---|---|---:|---:|---:|---:|"]
    lines += [f"| {r.split} | " + (f"{r.domain} | " if domains else "")
              + f"{r.label} | {r.attack_type or '-'} | {r.videos} | {r.frames} | "
              f"{r.fta_frames} | {r.subjects} |" for r in counts.itertuples()]
    lines += ["", f"## Videos left out ({len(bad)})", ""]
    if len(bad):
        lines += ["| video | split | label | reason |", "|---|---|---|---|"]
        lines += [f"| {r.video_id} | {r.split} | {r.label} | {r.reason} |"
                  for r in bad.itertuples()]
    else:
        lines.append("None: every video was usable.")
    (out_dir / SUMMARY.data_report(ext="md")).write_text("\n".join(lines) + "\n")
    return [out_dir / SUMMARY.data_report(ext="csv"), out_dir / SUMMARY.bad_videos(),
            out_dir / SUMMARY.data_report(ext="md")]
