"""``python -m biorepro.jobs``: run one job in its own process.

    python -m biorepro.jobs --job JSON|@FILE [--receipt FILE] [--log FILE]
        build and publish the job's entry (what the train rule runs); a JSON list of
        jobs builds each in turn in this one process, then writes the receipt
    python -m biorepro.jobs --job JSON|@FILE --into DIR [--report FILE] [--log FILE]
        rebuild the entry into DIR, outside the store (``biorepro recheck``); with
        ``--report``, also compare it with the stored entry (the ``verify`` rule)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from biorepro.joblog import job_logger
from biorepro.jobs.run import (
    read_job,
    rebuild,
    reexec_if_needed,
    refusals_end_the_job,
    run_jobs,
    stage_module,
)
from biorepro.store import receipts
from biorepro.store.entries import verify_entry


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the job (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m biorepro.jobs",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--job", required=True, help="the job, as JSON or @file")
    ap.add_argument("--receipt", help="written once the entry is published")
    ap.add_argument("--into", type=Path, help="rebuild into this folder, not the store")
    ap.add_argument("--report", type=Path, help="with --into: compare with the stored entry")
    ap.add_argument("--log", help="log file (default: stderr)")
    args = ap.parse_args(argv)
    job = read_job(args.job)
    jobs = job if isinstance(job, list) else [job]
    if args.into is None:
        run_jobs(jobs, args.receipt, args.log)
        return 0
    if len(jobs) > 1:
        ap.error("--into rebuilds one job, not a list")
    reexec_if_needed(jobs, sys.argv[1:] if argv is None else argv)
    with job_logger(args.log) as log, refusals_end_the_job(log):
        job = receipts.resolve(jobs[0])
        if args.report:  # the stored entry compared with must be intact, file by file
            verify_entry(job["out"])
        rebuilt = rebuild(job, args.into, log)
        if args.report:
            report = stage_module(job["stage"]).compare(Path(job["out"]), rebuilt)
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(report, indent=2) + "\n")
            log(f"verify: {report['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
