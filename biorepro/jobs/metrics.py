"""The metrics stage job: one seed's error rates at one level, threshold from devel."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from biorepro.evaluate.bobcsv import write_scores
from biorepro.evaluate.seed import evaluate, scores_at_level
from biorepro.joblog import Log
from biorepro.store.entries import staging, write_provenance

# What the training entry reports that users publish next to the error rates.
TRAIN_FIELDS = ("status", "epochs_trained", "best_epoch", "train_accuracy")


def read_frame_scores(train_entry: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(train_entry / f"scores_{split}.csv", keep_default_na=False,
                       na_values=["", "nan", "NaN"], dtype={"attack_type": str, "subject": str,
                                                            "video_id": str})


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    params = ingredients["params"]
    train_entry = Path(spec["train"])
    trained = json.loads((train_entry / "result.json").read_text())
    devel, test = (read_frame_scores(train_entry, s) for s in ("devel", "test"))
    level = params["level"]
    result = evaluate(devel, test, level=level, fusion=params["fusion"] or "mean",
                      criterion=params["criterion"], target=params["target"])
    result = {"seed": spec["seed"], **{k: trained.get(k) for k in TRAIN_FIELDS}, **result}
    log(f"metrics: seed {spec['seed']} {level} level: devel EER "
        f"{_pct(result['devel_eer'])}, test HTER {_pct(result['test_hter'])} "
        f"({trained.get('status')})")
    with staging(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
        for split, frames in (("devel", devel), ("test", test)):
            write_scores(scores_at_level(frames, level, params["fusion"] or "mean", split),
                         tmp / f"scores_{split}.bob.csv")
        write_provenance(tmp, ingredients)


def _pct(x: float) -> str:
    return "nan" if x is None or math.isnan(x) else f"{100 * x:.2f}%"
