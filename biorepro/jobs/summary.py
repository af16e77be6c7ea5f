"""The summary stage job: everything ``results/<experiment>/`` shows, as one entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from biorepro.datareport import write_data_report
from biorepro.joblog import Log
from biorepro.store import staging, write_provenance


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    log(f"summary: experiment {spec['experiment']}")
    with staging(out) as tmp:
        write_data_report(spec["split"], tmp)
        shutil.copyfile(Path(spec["split"]) / "split.csv", tmp / "split.csv")
        (tmp / "entries.json").write_text(json.dumps(spec["entries"], indent=2) + "\n")
        write_provenance(tmp, ingredients)
    log(f"summary: published {out}")
