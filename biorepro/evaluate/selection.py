"""Selection rules: the threshold and the checkpoint a reported test number is taken at.

A run trained with ``train.score_every`` records its devel and test scores at the end of
its scored epochs (the train entry's ``epoch_scores_{split}.npy``, rows in the order of
``scores_{split}.csv``; ``history.csv`` marks them). Each rule pairs a threshold with a
checkpoint:

- threshold ``devel``: chosen with the evaluation criterion (EER by default) on the
  source's devel scores of that checkpoint, the honest default; ``test``: on the test
  scores themselves (the "test EER" of SSDG's ``utils/evaluate.py`` and the codebases
  built on it), optimistic;
- checkpoint ``last``: the last epoch trained; ``best-devel``: the epoch training keeps
  (lowest devel loss: early stopping restores its weights, and the entry's
  ``scores_{split}.csv`` are its scores); ``best-test``: the scored epoch with the lowest
  test HTER under that threshold (what SSDG and FLIP keep), optimistic. Ties go to the
  earlier epoch; an epoch whose HTER cannot be computed is never best.

The *optimism* of the literature's rule (``test`` threshold, ``best-test`` checkpoint) is
the honest rule's test HTER (``devel``, ``best-devel``) minus its own: how much lower a
number selected on the test set is reported (positive: the literature's rule flatters).
Rates are fractions in [0, 1], as in :mod:`biorepro.evaluate.seed`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from biorepro.evaluate.seed import evaluate

THRESHOLDS = ("devel", "test")
CHECKPOINTS = ("last", "best-devel", "best-test")
HONEST = ("devel", "best-devel")
LITERATURE = ("test", "best-test")
REPORTED = ("test_hter", "test_auc", "test_apcer_ap", "test_bpcer")


def epoch_tables(table: pd.DataFrame, epochs, scores: np.ndarray) -> dict[int, pd.DataFrame]:
    """The frame score table of each scored epoch: ``table`` (a ``scores_{split}.csv``)
    with its ``score`` column replaced by that epoch's row of ``scores`` (E × len(table))."""
    scores = np.asarray(scores)
    if scores.shape != (len(epochs), len(table)):
        raise ValueError(f"per-epoch scores of shape {scores.shape}: expected "
                         f"({len(epochs)} epochs, {len(table)} rows of the score table)")
    return {int(e): table.assign(score=row.astype(np.float64)) for e, row in zip(epochs, scores)}


def rules(devel: dict[int, pd.DataFrame], test: dict[int, pd.DataFrame], best_devel: int, *,
          level: str, fusion: str, criterion: str = "eer",
          target: float | None = None) -> list[dict]:
    """Each rule's test metrics (:data:`REPORTED`), the epoch it takes and the score
    threshold it chose, one dict per rule (``threshold``, ``checkpoint``, ``epoch``,
    ``score_threshold``, ...), thresholds then checkpoints in declaration order.
    ``devel``/``test``: frame score tables by epoch (the same epochs, ``best_devel``
    among them)."""
    if set(devel) != set(test) or best_devel not in devel:
        raise ValueError(f"per-epoch scores: devel epochs {sorted(devel)}, test epochs "
                         f"{sorted(test)}, the epoch training kept {best_devel}")
    epochs = sorted(devel)
    out = []
    for threshold in THRESHOLDS:
        at = {e: evaluate(devel[e] if threshold == "devel" else test[e], test[e], level=level,
                          fusion=fusion, criterion=criterion, target=target)
              for e in epochs}
        best_test = min(epochs, key=lambda e: (_or_inf(at[e]["test_hter"]), e))
        for checkpoint, epoch in zip(CHECKPOINTS, (epochs[-1], best_devel, best_test)):
            out.append({"threshold": threshold, "checkpoint": checkpoint, "epoch": epoch,
                        "score_threshold": float(at[epoch]["threshold"]),
                        **{k: float(at[epoch][k]) for k in REPORTED}})
    return out


def optimism(rows: list[dict]) -> float:
    """The honest rule's test HTER minus the literature's rule's (NaN when either is)."""
    hter = {(r["threshold"], r["checkpoint"]): r["test_hter"] for r in rows}
    return hter[HONEST] - hter[LITERATURE]


def _or_inf(x: float) -> float:
    return math.inf if x is None or math.isnan(x) else x
