"""Assigning train/devel/test to videos whose dataset does not fix the split.

Splits are subject-disjoint (all videos of a subject land in one split) and stratified:
subjects are grouped by which labels they have (bona fide only, attack only, both) and
each group is divided by the configured fractions. The order within a group comes from
a hash of (split seed, subject), so the assignment is reproducible and does not depend
on the order in which files were listed.

Every split then needs both classes, whoever assigned it (``require_classes``): train to
learn, devel to choose the threshold, test to report APCER and BPCER.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict

from biorepro.data.records import LABELS, SPLITS, VideoRecord
from biorepro.errors import Refusal


class SplitError(Refusal, ValueError):
    """The videos cannot be split, or a split lacks a class it needs."""


NAMES = {"bonafide": "bona fide", "attack": "attack"}
USES = {"train": "training needs both classes",
        "devel": "the threshold is chosen on devel from both classes",
        "test": "the error rates reported on test (APCER, BPCER) need both classes"}


def _rank(seed: int, subject: str) -> str:
    return hashlib.sha256(f"{seed}:{subject}".encode()).hexdigest()


def _allocate(n: int, fractions: dict[str, float]) -> list[str]:
    """Split names for ``n`` ordered subjects (largest remainders, train first)."""
    exact = {s: n * fractions[s] for s in SPLITS}
    counts = {s: int(exact[s]) for s in SPLITS}
    by_remainder = sorted(SPLITS, key=lambda s: (-(exact[s] - counts[s]), SPLITS.index(s)))
    for s in by_remainder[: n - sum(counts.values())]:
        counts[s] += 1
    return [s for s in SPLITS for _ in range(counts[s])]


def assign_splits(records: list[VideoRecord], fractions: dict[str, float],
                  seed: int) -> list[VideoRecord]:
    """Records with ``split`` filled in; records that already have one are kept as is."""
    fixed = [r for r in records if r.split]
    if fixed and len(fixed) != len(records):
        free = next(r for r in records if not r.split)
        raise SplitError(f"some videos have a split and others do not (e.g. {free.path}); "
                         "give every video a split or none")
    if fixed:
        return list(records)
    labels_of: dict[str, set[str]] = defaultdict(set)
    for r in records:
        labels_of[r.subject].add(r.label)
    strata: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for subject, labels in labels_of.items():
        strata[tuple(sorted(labels))].append(subject)
    split_of: dict[str, str] = {}
    for subjects in strata.values():
        ordered = sorted(subjects, key=lambda s: _rank(seed, s))
        split_of.update(zip(ordered, _allocate(len(ordered), fractions)))
    missing = [s for s in SPLITS if s not in split_of.values()]
    if missing:
        raise SplitError(f"only {len(labels_of)} subjects: splits {missing} would be empty; "
                         "add subjects or change dataset.split_fractions")
    return [dataclasses.replace(r, split=split_of[r.subject]) for r in records]


def require_classes(records: list[VideoRecord]) -> list[VideoRecord]:
    """``records`` (with splits assigned) unchanged, or ``SplitError`` naming every split
    that lacks bona fide or attack videos, with its counts."""
    counts = {(s, label): 0 for s in SPLITS for label in LABELS}
    for r in records:
        counts[r.split, r.label] += 1
    missing = {s: [label for label in LABELS if not counts[s, label]] for s in SPLITS}
    problems = [f"split '{s}' has {counts[s, 'bonafide']} bona fide and "
                f"{counts[s, 'attack']} attack videos: {USES[s]}; add "
                f"{' and '.join(NAMES[label] for label in missing[s])} videos to it"
                for s in SPLITS if missing[s]]
    if problems:
        raise SplitError("\n  ".join([*problems, "(where biorepro assigns the splits: add "
                                       "subjects that have such videos, or change "
                                       "dataset.split_seed or dataset.split_fractions)"]))
    return records
