"""Warnings where a number cannot be trusted: each rule and its threshold, declared once.

A warning says what is wrong, why the numbers suffer, and what to do. The summary shows
them first (a ``## Warnings`` section of ``summary.md``, ``why.html``, the report's landing
page); the workflow prints them, read back from ``summary.md``, when it ends. Rules
(thresholds below):

- ``few_subjects``: a class with fewer than :data:`MIN_SUBJECTS` subjects in the devel or
  the test set. Error rates of that set rest on a few people, and the test set's sampling
  (a bootstrap over subjects) cannot be estimated: its share of the variance is "not
  estimable", never 0%.
- ``chance``: every run at chance on a set: train accuracy at most :data:`CHANCE_ACCURACY`,
  or devel EER / test HTER at least :data:`CHANCE_ERROR` (50% is a coin).
- ``overfitting``: the median over runs of train accuracy minus devel accuracy at the EER
  threshold (1 − devel EER) above :data:`OVERFIT_GAP`.
- ``class_balance``: a split whose bona fide share differs from another split's by more than
  a factor :data:`BALANCE_FACTOR` (thresholds chosen on devel then meet other base rates).
- ``bad_videos``: videos left out (unreadable, truncated, too short), with their reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from biorepro.evaluate import registry

MIN_SUBJECTS = 3
CHANCE_ACCURACY = 0.6
CHANCE_ERROR = 0.4
OVERFIT_GAP = 0.25
BALANCE_FACTOR = 2.0
BONAFIDE = "bonafide"  # the label of bona fide presentations in the split table


@dataclass(frozen=True)
class Caution:
    """One warning: the ``rule`` that fired, what it found, and what to do."""

    rule: str
    found: str
    advice: str

    def line(self) -> str:
        """``**rule**: found. advice``, for Markdown."""
        return f"**{self.rule}**: {self.found}. {self.advice}"


HEADING = "## Warnings"


def section(cautions: list[Caution]) -> list[str]:
    """The Markdown section of ``cautions`` (none: no section), one bullet each."""
    if not cautions:
        return []
    return [HEADING, "", *[f"- {c.line()}" for c in cautions], ""]


def subjects_per_class(split_table: pd.DataFrame, split: str) -> dict[str, int]:
    """Subjects of each label in ``split`` of a split table (``split``, ``label``,
    ``subject`` columns); a label with no video there is absent."""
    rows = split_table[split_table["split"] == split]
    return rows.groupby("label")["subject"].nunique().to_dict()


def test_sampling_estimable(split_table: pd.DataFrame) -> bool:
    """Whether the test set has :data:`MIN_SUBJECTS` subjects of every class: what a
    bootstrap over subjects needs to estimate the test set's sampling."""
    counts = subjects_per_class(split_table, "test")
    return len(counts) >= 2 and min(counts.values()) >= MIN_SUBJECTS


def data_warnings(split_table: pd.DataFrame, bad_videos: pd.DataFrame) -> list[Caution]:
    """Warnings about the data of one split table (with its left-out videos)."""
    out = []
    for split in ("devel", "test"):
        counts = subjects_per_class(split_table, split)
        few = {label: n for label, n in sorted(counts.items()) if n < MIN_SUBJECTS}
        if few:
            what = ", ".join(f"{n} {label}" for label, n in few.items())
            out.append(Caution(
                "few_subjects", f"the {split} set has {what} subject(s) (fewer than "
                f"{MIN_SUBJECTS} per class)",
                ("Its error rates rest on a few people and the test set's sampling cannot be "
                 "estimated (its share of the variance is not estimable): add subjects to "
                 "the test set before adding seeds" if split == "test" else
                 "The threshold chosen on devel rests on a few people: add devel subjects")))
    shares = {s: (g["label"] == BONAFIDE).mean()
              for s, g in split_table.drop_duplicates("video_id").groupby("split")}
    positive = {s: v for s, v in shares.items() if v > 0}
    if len(positive) >= 2:
        low, high = min(positive, key=positive.get), max(positive, key=positive.get)
        if positive[high] > BALANCE_FACTOR * positive[low]:
            out.append(Caution(
                "class_balance", f"bona fide videos are {positive[high]:.0%} of {high} but "
                f"{positive[low]:.0%} of {low}",
                "Rates at a threshold chosen on one split meet another base rate: read HTER "
                "and ACER (class-balanced), not accuracy, and check the split"))
    if len(bad_videos):
        reasons = bad_videos["reason"].value_counts()
        listed = "; ".join(f"{n} × {reason}" for reason, n in reasons.items())
        out.append(Caution("bad_videos", f"{len(bad_videos)} video(s) left out ({listed})",
                           "They are listed in `bad_videos.csv`: re-copy or re-encode them, "
                           "or accept their absence"))
    return out


def run_warnings(per_run: pd.DataFrame, level: str) -> list[Caution]:
    """Warnings about the training runs of one level's per-run table (ok runs only)."""
    ok = per_run[per_run["status"] == "ok"]
    if not len(ok):
        return []
    out = []
    at_chance = []
    if "train_accuracy" in ok and (ok["train_accuracy"] <= CHANCE_ACCURACY).all():
        at_chance.append(f"train accuracy ≤ {CHANCE_ACCURACY:.0%}")
    for name in (registry.SELECTION, registry.PRIMARY):
        if name in ok and (ok[name] >= CHANCE_ERROR).all():
            at_chance.append(f"{registry.metric(name).label} ≥ {CHANCE_ERROR:.0%}")
    if at_chance:
        out.append(Caution(
            "chance", f"every run is at chance at the {level} level ({', '.join(at_chance)} "
            f"in all {len(ok)} runs)",
            "Training did not learn to generalise: check the labels and the data report, "
            "train longer or with another learning rate, before reading any comparison"))
    if {"train_accuracy", "devel_eer"} <= set(ok):
        gap = (ok["train_accuracy"] - (1 - ok["devel_eer"])).median()
        if math.isfinite(gap) and gap > OVERFIT_GAP:
            out.append(Caution(
                "overfitting", f"train accuracy exceeds devel accuracy (1 − EER) by "
                f"{gap:.0%} (median over runs, {level} level)",
                "The model memorises the training subjects: more data or augmentation, "
                "fewer parameters, more dropout or early stopping"))
    return out


def read(summary_md: str | Path) -> list[str]:
    """The warnings of a ``summary.md`` as plain lines (``rule: found. advice``); none
    when the file or its section is absent."""
    path = Path(summary_md)
    lines = path.read_text().splitlines() if path.is_file() else []
    if HEADING not in lines:
        return []
    found = []
    for line in lines[lines.index(HEADING) + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("- "):
            found.append(line[2:].replace("**", ""))
    return found
