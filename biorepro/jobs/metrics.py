"""The metrics stage: one seed's error rates at one level, the threshold from devel."""

from __future__ import annotations

import json
import math
from pathlib import Path

from biorepro.evaluate.bobcsv import write_scores
from biorepro.evaluate.seed import evaluate, read_frame_scores, scores_at_level
from biorepro.joblog import Log
from biorepro.store.layouts import METRICS, TRAIN

# What the training entry reports that users publish next to the error rates.
TRAIN_FIELDS = ("status", "epochs_trained", "best_epoch", "train_accuracy")


def build(job: dict, out: Path, log: Log) -> None:
    """Evaluate the train entry's scores at the entry's level into ``out``."""
    params, train_entry = job["ingredients"]["params"], Path(job["inputs"]["train"])
    trained = json.loads((train_entry / TRAIN.result()).read_text())
    devel, test = (read_frame_scores(train_entry, s) for s in ("devel", "test"))
    level, fusion = params["level"], params["fusion"] or "mean"
    # params.get: a key without operating points takes evaluate's defaults
    result = evaluate(devel, test, level=level, fusion=fusion, criterion=params["criterion"],
                      target=params["target"], operating_points=params.get("operating_points"))
    result = {"seed": params["seed"], **{k: trained.get(k) for k in TRAIN_FIELDS}, **result}
    log(f"metrics: seed {params['seed']} {level} level: devel EER "
        f"{_pct(result['devel_eer'])}, test HTER {_pct(result['test_hter'])} "
        f"({trained.get('status')})")
    (out / METRICS.metrics()).write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    for split, frames in (("devel", devel), ("test", test)):
        write_scores(scores_at_level(frames, level, fusion, split),
                     out / METRICS.bob_scores(split=split))


def _pct(x: float) -> str:
    return "nan" if x is None or math.isnan(x) else f"{100 * x:.2f}%"
