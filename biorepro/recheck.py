"""``biorepro recheck``: rebuild sampled entries of every stage and compare bit for bit.

As ``nix-build --check`` does: an entry is rebuilt from its stored inputs (which are
verified first) into a scratch store, by the same job code, and the SHA-256 of every
file is compared with the digests recorded in the stored entry's ``provenance.json``
(the record itself is not compared: it holds what was observed, e.g. host and time).
A difference means the stage's output is not a pure function of its key on this
machine: the offending entry and files are named, and the rebuilt copy is kept for
inspection, unless the rebuild ran on another compute platform than the stored entry (GPU
model, driver, CUDA/cuDNN or framework versions, as training records them in ``compute``):
then the entry is "not comparable", never "different". Which entries: the first ``sample``
published entries of each stage of the plan, in key order (keys are hashes, so this is an
arbitrary but repeatable choice).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from biorepro.joblog import Log
from biorepro.plan import Entry, Plan
from biorepro.store.entries import PROVENANCE, entry_path, observed, remove_tree, verify_entry
from biorepro.store.stages import NAMES, STAGES
from biorepro.train.device import platform_differences

RECHECK_COLUMNS = ("stage", "key", "status", "differences", "seconds", "entry")

def sample_entries(plan: Plan, stages: list[str], sample: int) -> list[Entry]:
    """The first ``sample`` published entries of each of ``stages``, in key order."""
    out = []
    for stage in stages:
        published = sorted((e for e in plan.entries(stage) if e.published), key=lambda e: e.key)
        out += published[:sample]
    return out

def rebuild(e: Entry, out: Path, log: Log) -> None:
    """Build entry ``e`` again into ``out`` from its stored inputs, in a process of its
    own, as the workflow runs it (``python -m biorepro.jobs``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    job_file = out.parent / f"{out.name}.job.json"
    job_file.write_text(json.dumps(e.job()))
    try:
        proc = subprocess.run([sys.executable, "-m", "biorepro.jobs", "--job", f"@{job_file}",
                               "--into", str(out)], capture_output=True, text=True)
    finally:
        job_file.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"the rebuild failed:\n{proc.stderr[-3000:]}")
    log(f"recheck {e.stage} {e.key}: rebuilt into {out}")

def differences(stored: Path, rebuilt: Path) -> list[str]:
    """Files whose digests differ between two entries (or that only one has)."""
    a, b = (json.loads((d / PROVENANCE).read_text())["files"] for d in (stored, rebuilt))
    layout = STAGES[stored.parent.name].layout

    def named(f: str) -> str:
        return f"{f} ({layout.files[role].doc})" if (role := layout.role(f)) else f

    out = [f"{named(f)}: only in the stored entry" for f in sorted(set(a) - set(b))]
    out += [f"{named(f)}: only in the rebuilt entry" for f in sorted(set(b) - set(a))]
    out += [f"{named(f)}: SHA-256 {a[f]['sha256'][:12]}… stored, {b[f]['sha256'][:12]}… "
            "rebuilt" for f in sorted(set(a) & set(b)) if a[f]["sha256"] != b[f]["sha256"]]
    return out

def recheck(plan: Plan, *, stages: list[str] | None = None, sample: int = 1,
            scratch: str | os.PathLike = ".biorepro/recheck", log: Log = print) -> list[dict]:
    """Rebuild and compare; one record per entry (``status`` identical / different /
    error, the latter when the stored entry is damaged or the rebuild fails)."""
    scratch = Path(scratch)
    records = []
    for e in sample_entries(plan, list(stages or NAMES), sample):
        out = entry_path(scratch / "store", e.stage, e.key)
        remove_tree(out)
        log(f"recheck {e.stage} {e.key} ({e.what}): rebuilding")
        start = time.perf_counter()
        try:
            verify_entry(e.path)  # the stored files, not only their recorded digests
            rebuild(e, out, log)
            diff, status = differences(Path(e.path), out), None
            other = platform_differences(*(observed(d).get("compute") for d in (e.path, out)))
            if diff and other:
                diff, status = [f"other platform: {d}" for d in other] + diff, "not comparable"
        except Exception as err:  # recorded per entry: the other entries still get checked
            diff, status = [f"cannot recheck: {type(err).__name__}: {err}"], "error"
        status = status or ("different" if diff else "identical")
        records.append({"stage": e.stage, "key": e.key, "entry": e.path, "status": status,
                        "differences": diff, "seconds": round(time.perf_counter() - start, 2),
                        "rebuilt": str(out) if diff and out.exists() else None})
        log(f"recheck {e.stage} {e.key}: {status.upper()}" + (
            "\n    " + "\n    ".join(diff) if diff else ""))
        if not diff:
            remove_tree(out)
    return records

def write_records(records: list[dict], out_dir: str | os.PathLike) -> None:
    """``recheck.json`` (every record) and ``recheck.csv`` (one row per entry)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "recheck.json").write_text(json.dumps(
        {"all_identical": all(r["status"] == "identical" for r in records),
         "entries": records}, indent=2) + "\n")
    with open(out_dir / "recheck.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RECHECK_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**r, "differences": "; ".join(r["differences"])} for r in records)
