"""The metrics stage: one run's error rates at one level.

The test scores are the train entry's, or, for cross-dataset testing, those of a cross
entry (input ``scores``: the model's scores on another database). The threshold is
chosen by ``params["threshold_from"]``: ``devel`` (the training database's devel set,
the default and the only choice that never looks at the test set), ``target-devel``
(the cross target's own devel set) or ``test`` (the scored test set itself: the
literature's "test EER" convention, optimistic; the result says so).

When the train entry holds per-epoch scores (``train.score_every``) and the test scores
are its own, ``selection`` reports every selection rule's test metrics and the optimism
of the literature's rule (:mod:`biorepro.evaluate.selection`), whatever
``threshold_from`` is; a diverged run, or scores of another database, have none.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from biorepro.evaluate import selection
from biorepro.evaluate.bobcsv import write_scores
from biorepro.evaluate.seed import evaluate, read_frame_scores, scores_at_level
from biorepro.joblog import Log
from biorepro.store.layouts import METRICS, TRAIN

# What the training entry reports that users publish next to the error rates.
TRAIN_FIELDS = ("status", "epochs_trained", "best_epoch", "train_accuracy")
# threshold_from -> (entry, split) of the scores the threshold is chosen on
THRESHOLD_SCORES = {"devel": lambda train, scored: (train, "devel"),
                    "target-devel": lambda train, scored: (scored, "devel"),
                    "test": lambda train, scored: (scored, "test")}


def build(job: dict, out: Path, log: Log) -> None:
    """Evaluate the train entry's scores at the entry's level into ``out``."""
    params, train_entry = job["ingredients"]["params"], Path(job["inputs"]["train"])
    scored = Path(job["inputs"].get("scores", train_entry))
    trained = json.loads((train_entry / TRAIN.result()).read_text())
    threshold_from = params["threshold_from"]
    devel = read_frame_scores(*THRESHOLD_SCORES[threshold_from](train_entry, scored))
    test = read_frame_scores(scored, "test")
    level, fusion = params["level"], params["fusion"] or "mean"
    result = evaluate(devel, test, level=level, fusion=fusion, criterion=params["criterion"],
                      target=params["target"], operating_points=params["operating_points"])
    result = {"seed": params["seed"], **params["sources"],
              **{k: trained.get(k) for k in TRAIN_FIELDS},
              "threshold_from": threshold_from, **result}
    if scored == train_entry and trained.get("status") == "ok" and (
            train_entry / TRAIN.epoch_scores(split="test")).is_file():
        rows = _selection(train_entry, trained["best_epoch"], params)
        result["selection"] = {"rules": rows, "optimism": selection.optimism(rows)}
        log(f"metrics: selection rules over {len(_scored(train_entry))} scored epochs; "
            f"optimism of the literature's rule {_pct(result['selection']['optimism'])}")
    log(f"metrics: seed {params['seed']} {level} level: devel EER "
        f"{_pct(result['devel_eer'])}, test HTER {_pct(result['test_hter'])} "
        f"({trained.get('status')})")
    (out / METRICS.metrics()).write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    for split, frames in (("devel", devel), ("test", test)):
        write_scores(scores_at_level(frames, level, fusion, split),
                     out / METRICS.bob_scores(split=split))


def _scored(train_entry: Path) -> list[int]:
    history = pd.read_csv(train_entry / TRAIN.history())
    return history.loc[history["scored"] == 1, "epoch"].tolist()


def _selection(train_entry: Path, best_epoch: int, params: dict) -> list[dict]:
    """Every selection rule evaluated on the train entry's per-epoch scores, the epoch
    training kept taking the entry's own scores (its restored weights)."""
    epochs, tables = _scored(train_entry), {}
    for split in ("devel", "test"):
        final = read_frame_scores(train_entry, split)
        tables[split] = selection.epoch_tables(
            final, epochs, np.load(train_entry / TRAIN.epoch_scores(split=split)))
        tables[split][best_epoch] = final
    return selection.rules(tables["devel"], tables["test"], best_epoch,
                           level=params["level"], fusion=params["fusion"] or "mean",
                           criterion=params["criterion"], target=params["target"])


def _pct(x: float) -> str:
    return "nan" if x is None or math.isnan(x) else f"{100 * x:.2f}%"
