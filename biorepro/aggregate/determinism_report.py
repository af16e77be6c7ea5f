"""``determinism.json``: did retraining each checked seed reproduce it bit for bit?

Per seed, the verify job's report (``compare`` of the train job): weights, scores and
every file of the entry but its provenance, and the platforms of both runs.
``all_identical`` when all are identical for every seed, each retrained on the platform
it was trained on; ``not_comparable`` lists the seeds retrained on another platform (GPU
model, driver, CUDA/cuDNN, framework versions), whose differences say nothing about
determinism.
"""

from __future__ import annotations

import json
from pathlib import Path

from biorepro.joblog import Log


def write_report(verify_files: list[str], out: str | Path, log: Log) -> dict:
    """Write ``determinism.json`` from the seeds' verify reports (in the given order),
    log one line per seed, and return the report."""
    seeds = [json.loads(Path(f).read_text()) for f in verify_files]
    report = {
        "all_identical": all(s["weights_identical"] and s["scores_identical"]
                             and s["same_platform"] and not s["differing_files"] for s in seeds),
        "not_comparable": [s["seeds"] for s in seeds if not s["same_platform"]],
        "seeds": seeds,
    }
    Path(out).write_text(json.dumps(report, indent=2) + "\n")
    for s in seeds:
        log(f"seeds {s['seeds']}: {s['summary']}")
    return report
