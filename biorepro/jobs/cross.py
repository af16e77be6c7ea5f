"""The cross stage: a trained model's scores on another database (cross-dataset testing).

The model of a train entry scores the devel and test splits of the target's tensor
cache, in the files of :data:`biorepro.store.layouts.CROSS` (the train entry's score
format). A user's model file is imported first (its layers may be its own), after
checking that it is the one the model was trained with. The metrics stage then picks
the threshold by the declared rule. The job runs with the training's determinism
settings (``missing_environment``, as training's), so scores are bit-identical when rebuilt on the
same machine and software.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from biorepro.joblog import Log
from biorepro.jobs.train import check_sources, missing_environment  # noqa: F401 (as train)
from biorepro.store.entries import PROVENANCE
from biorepro.store.layouts import CROSS, TRAIN


def build(job: dict, out: Path, log: Log) -> dict:
    """Score the target's devel and test tensors with the train entry's model into ``out``."""
    p, inputs = job["ingredients"]["params"], job["inputs"]
    from biorepro.train.determinism import configure
    from biorepro.train.fit import score_split
    from biorepro.train.model import import_file
    from biorepro.train.weights import load_model

    trained_with = json.loads((Path(inputs["train"]) / PROVENANCE).read_text())
    sources = check_sources(trained_with["ingredients"]["params"], job["runtime"])
    if job["runtime"]["model_file"]:
        import_file(job["runtime"]["model_file"])
    configure(p["determinism"], p["threads"], p["backend"]["name"])
    start = time.perf_counter()
    trained = json.loads((Path(inputs["train"]) / TRAIN.result()).read_text())
    model = load_model(inputs["train"])
    for split in ("devel", "test"):
        scores = score_split(model, inputs["tensors"], split, nan=trained["status"] == "diverged")
        scores.to_csv(out / CROSS.scores(split=split), index=False)
        log(f"cross: {p['target']} {split}: {len(scores)} frames scored")
    return {**sources, "duration_s": round(time.perf_counter() - start, 2)}
