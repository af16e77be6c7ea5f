"""``determinism.json``: did retraining each checked seed reproduce it bit for bit?

Per seed, the verify job's report (:func:`biorepro.jobs.train.compare_with`): weights,
scores and every file of the entry but its provenance. ``all_identical`` when all are
identical for every seed.
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
                             and not s["differing_files"] for s in seeds),
        "seeds": seeds,
    }
    Path(out).write_text(json.dumps(report, indent=2) + "\n")
    for s in seeds:
        log(f"seed {s['seed']}: weights identical {s['weights_identical']}, scores identical "
            f"{s['scores_identical']}, max |dw| {s['max_abs_weight_diff']:.3g}, differing "
            f"files {', '.join(s['differing_files']) or 'none'}")
    return report
