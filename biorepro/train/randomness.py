"""The training runs of an experiment, each named by the seeds of its sources of randomness.

Sources (:data:`SOURCES`): ``init`` seeds the weight initialisation, ``order`` the order
in which training batches are drawn, ``noise`` the dropout masks and the augmentation,
``split`` the assignment of subjects to train/devel where the dataset has no fixed
split (``dataset.split_seed``). ``replicate`` numbers repeated runs with identical seeds:
what they differ by is hardware and library nondeterminism alone (none in ``strict``
mode).

- ``seeds: [s, ...]`` (``randomness`` null): one run per seed ``s``, every source seeded
  with ``s`` (the split with ``dataset.split_seed``). Its label is ``s``.
- ``randomness: {init, order, noise, split, design, repeats}``: the baseline run takes
  the first seed of every source; ``design: one-at-a-time`` adds, for each source, the
  runs that change that source only; ``crossed`` trains every combination. ``repeats: k``
  trains each combination ``k`` times (replicates ``0..k-1``). Labels read
  ``i<init>-o<order>-n<noise>[-s<split>][-r<replicate>]``.

A run's seeds, not its label, enter the training key: the baseline of a design with
equal seeds is the same entry as that seed's plain run.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

SOURCES = ("init", "order", "noise", "split", "replicate")
DESIGNS = ("one-at-a-time", "crossed")


@dataclass(frozen=True)
class Run:
    """One training run: the seed of each source, and its label in tables and roles
    (an int for a plain seed, a string for a run of a design)."""

    init: int
    order: int
    noise: int
    split: int | None  # None: the dataset's own ``split_seed``
    replicate: int
    label: int | str

    @property
    def seeds(self) -> dict:
        """What enters the training key: the seeds of the model's own sources and the
        replicate (the split enters through the tensors the run trains on)."""
        return {k: v for k, v in asdict(self).items() if k in ("init", "order", "noise",
                                                               "replicate")}

    @property
    def sources(self) -> dict:
        """Every source's seed (``split`` None when the dataset's own), for tables."""
        return {k: getattr(self, k) for k in SOURCES}


def runs(config: dict) -> list[Run]:
    """The runs of a validated config, in order: plain seeds, or the design of
    ``randomness`` (baseline first; one-at-a-time: then each source's runs in
    :data:`SOURCES` order; crossed: every combination, ``init`` slowest)."""
    spec = config["randomness"]
    if spec is None:
        seeds = config["seeds"]
        return [Run(s, s, s, None, 0, s)
                for s in (range(seeds) if isinstance(seeds, int) else seeds)]
    levels = {"init": spec["init"], "order": spec["order"], "noise": spec["noise"],
              "split": spec["split"] or [None], "replicate": list(range(spec["repeats"]))}
    if spec["design"] == "crossed":
        combos = [dict(zip(levels, values)) for values in itertools.product(*levels.values())]
    else:
        base = {k: v[0] for k, v in levels.items()}
        combos = [base] + [{**base, source: value} for source, values in levels.items()
                           for value in values[1:]]
    return [Run(**c, label=_label(c, spec)) for c in combos]


def _label(seeds: dict, spec: dict) -> str:
    label = f"i{seeds['init']}-o{seeds['order']}-n{seeds['noise']}"
    if spec["split"] is not None:
        label += f"-s{seeds['split']}"
    if spec["repeats"] > 1:
        label += f"-r{seeds['replicate']}"
    return label


def varied(config: dict) -> list[str]:
    """The sources a config varies (more than one seed), in :data:`SOURCES` order."""
    seen = {s: {getattr(r, s) for r in runs(config)} for s in SOURCES}
    return [s for s in SOURCES if len(seen[s]) > 1]
