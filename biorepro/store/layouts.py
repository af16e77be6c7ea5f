"""What each stage's entry holds, declared once: its files, their formats and meaning.

A file is named by a pattern relative to the entry (``scores_{split}.csv``); its fields
are filled by calling it (``TRAIN.scores(split="test")``). The code that writes an
entry and the code that reads it take every name from here, ``biorepro fsck`` checks a
published entry's files against its stage's layout (a required file missing, a file
no layout declares), and ``biorepro recheck`` names a differing file by its role.
Every entry also holds ``provenance.json`` (see :mod:`biorepro.store.entries`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class File:
    """One file (or a family of files) of an entry."""

    pattern: str        # relative POSIX path; ``{field}`` parts vary
    doc: str            # what it holds, in which format (documentation: not in keys)
    required: bool = True
    each: tuple[str, tuple[str, ...]] | None = None  # (field, values): one file per value

    def __call__(self, **fields: object) -> str:
        """The file's relative path with ``fields`` filled in."""
        return self.pattern.format(**fields)

    def stem(self, **fields: object) -> str:
        """The path without its ``.{ext}`` suffix, for a file written in several formats."""
        return self.pattern.removesuffix(".{ext}").format(**fields)

    @property
    def glob(self) -> str:
        """The pattern with each ``{field}`` replaced by ``*`` (an fnmatch pattern)."""
        return re.sub(r"\{[^}]*\}", "*", self.pattern)

    def matches(self, rel: str) -> bool:
        """Whether the relative path ``rel`` is one of this family's files."""
        return fnmatch.fnmatchcase(rel, self.glob) and rel.count("/") == self.glob.count("/")


class Layout:
    """The files of one stage's entries, each reachable as an attribute by its role."""

    def __init__(self, stage: str, **files: File):
        self.stage, self.files = stage, files
        for role, f in files.items():
            setattr(self, role, f)

    def identity(self) -> dict[str, list]:
        """What of the layout enters its stage's keys: each file's pattern, whether it is
        required, its family (not its description). This module is no part of any code
        fingerprint, so a stage's keys change with its own layout only."""
        return {role: [f.pattern, f.required, list(f.each) if f.each else None]
                for role, f in self.files.items()}

    def role(self, rel: str) -> str | None:
        """The role of the entry file ``rel`` (``None`` when no file of the layout)."""
        return next((role for role, f in self.files.items() if f.matches(rel)), None)

    def problems(self, rels: list[str]) -> list[str]:
        """What is wrong with an entry holding the files ``rels`` (provenance aside)."""
        out = [f"{rel} is no file of a {self.stage} entry" for rel in rels
               if self.role(rel) is None]
        for f in self.files.values():
            if f.each is not None and f.required:
                field, values = f.each
                out += [f"it has no {f(**{field: v})} ({f.doc})" for v in values
                        if f(**{field: v}) not in rels]
            elif f.required and not any(f.matches(rel) for rel in rels):
                out.append(f"it has no {f.pattern} ({f.doc})")
        return out


FRAMES = Layout(
    "frames",
    meta=File("frames.json", doc="JSON: frame_indices, frame_times (s), source_frames, fps, "
                             "width, height, rotation, faces_missed, fta_frames, bad (and "
                             "reason)"),
    image=File("frames/{index:05d}.png", doc="the chosen frames, cropped and resized (PNG, BGR "
                                         "as OpenCV writes it); none for a bad video or "
                                         "for a frame without a face (FTA)",
               required=False),
)
SPLIT = Layout(
    "split",
    table=File("split.csv", doc="CSV: split, label, attack_type, subject, video_id, frame, file, "
                            "fta (1: no face, no file)"),
    bad_videos=File("bad_videos.csv", doc="CSV: video_id, split, label, reason (videos left out)"),
    image=File("{split}/{label}/{video_id}__{frame:05d}.png",
               doc="a frame, in the folder of its split and label (PNG)", required=False),
)
SPLITS = ("train", "devel", "test")  # as biorepro.data.records.SPLITS
SCORED = ("devel", "test")  # the splits a model is scored on


def _per_split(name: str, what: str) -> File:
    """A file of the tensor cache, one in each split's folder."""
    return File(f"{{split}}/{name}", doc=what, each=("split", SPLITS))


TENSORS = Layout(
    "tensors",
    images=_per_split("images.npy", "uint8 N×H×W×3 RGB, rows ordered by (video_id, frame)"),
    labels=_per_split("labels.npy", "uint8 N, 1 = bona fide, 0 = attack"),
    video_index=_per_split("video_index.npy", "int32 N, row of videos.csv"),
    frame_index=_per_split("frame_index.npy", "int32 N, frame number in its video"),
    videos=_per_split("videos.csv", "CSV: video_id, subject, label, attack_type"),
    fta=_per_split("fta.npy", "int32 M×2, (row of videos.csv, frame) of each frame without "
                              "a face (no image row)"),
)
TRAIN = Layout(
    "train",
    architecture=File("model.json", doc="Keras model architecture (JSON)"),
    weights=File("model.safetensors", doc="weights, safetensors format, in model.weights order"),
    history=File("history.csv", doc="CSV: one row per epoch (epoch, phase, loss, accuracy, "
                                    "val_loss, ...; scored: 1 for the epochs of "
                                    "epoch_scores_{split}.npy, with train.score_every)"),
    scores=File("scores_{split}.csv", doc="CSV: video_id, subject, label, attack_type, frame, "
                                      "score (probability of bona fide)", each=("split", SCORED)),
    result=File("result.json", doc="JSON: status, epochs_trained, best_epoch, train_accuracy, "
                               "weights_sha256"),
    epoch_scores=File("epoch_scores_{split}.npy", doc="with train.score_every: float32 E×N, the "
                                                  "scores at each scored epoch, columns the "
                                                  "rows of scores_{split}.csv",
                      required=False, each=("split", SCORED)),
)
METRICS = Layout(
    "metrics",
    metrics=File("metrics.json", doc="JSON: the seed's error rates at one level, threshold "
                                 "from devel"),
    bob_scores=File("scores_{split}.bob.csv", doc="bob.pad.base CSV scores at the entry's level",
                    each=("split", SCORED)),
)
CROSS = Layout(
    "cross",
    scores=TRAIN.scores,  # a model's scores on another database's devel and test splits
)
SUMMARY = Layout(
    "summary",
    summary=File("summary.md", doc="Markdown: every level's table and diverged seeds"),
    table=File("summary_{level}.{ext}", doc="metrics across seeds (csv, md, tex); with folds, "
                                        "each seed's value is its mean over the folds"),
    selection=File("selection_{level}.{ext}", doc="with train.score_every: each selection rule's "
                                              "test metrics across seeds and the optimism "
                                              "of the literature's rule (csv, md, tex)",
                   required=False),
    folds=File("folds_{level}.{ext}", doc="with folds: per fold, across folds, all runs (csv, md, "
                                      "tex)", required=False),
    legs=File("legs_{level}.{ext}", doc="with a benchmark (dataset.kind ocim): a column per "
                                    "leg, HTER, AUC and TPR@FPR=1% across seeds, and with "
                                    "train.score_every the literature's rule and its optimism "
                                    "(csv, md, tex)", required=False),
    per_seed=File("per_seed_{level}.csv", doc="CSV: one row per (fold, seed) run"),
    cross=File("cross_{level}.{ext}", doc="with evaluate.cross: train x test metrics across seeds "
                                      "(csv, md, tex)", required=False),
    paper=File("paper.{ext}", doc="with paper: each published number beside the reproduced "
                              "one (csv, md, tex)", required=False),
    variance=File("variance_{level}.csv", doc="with randomness: each metric's variance by "
                                          "source, with bootstrap CIs", required=False),
    sampling=File("sampling_{level}.csv", doc="test metrics with intervals over training runs, "
                                          "test-set sampling, and both"),
    expected_best=File("expected_best_{level}.csv", doc="expected best devel EER of k runs and "
                                                    "the test HTER of that run"),
    why=File("why.html", doc="why do results change? every level's answer and figures"),
    landing=File("landing.rst", doc="the report's landing section: headline table, answer, "
                                "figure"),
    figure=File("figures/{name}.{ext}", doc="figures (svg, png)"),
    data_report=File("data_report.{ext}", doc="counts per split, label, attack type (csv, md)"),
    bad_videos=SPLIT.bad_videos,
    split_table=SPLIT.table,
    entries=File("entries.json", doc="JSON: the content digests of the entries summarised, "
                                 "by role (what its key is taken over)"),
    fold_data=File("folds/{fold}/{name}", doc="with folds: each fold's data report, bad videos "
                                          "and split table", required=False),
)
COMPARE = Layout(
    "compare",
    summary=File("comparisons.md", doc="Markdown: every level's comparison table"),
    table=File("comparison_{level}.{ext}", doc="paired comparisons (csv, md, tex)"),
    landing=File("landing.rst", doc="the report's landing section: the headline metric's "
                                "verdicts and power"),
)

LAYOUTS = {layout.stage: layout for layout in (FRAMES, SPLIT, TENSORS, TRAIN, CROSS, METRICS,
                                               SUMMARY, COMPARE)}
