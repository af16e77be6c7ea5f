"""The one adapter between the workflow and the stage jobs.

A *job* (``Entry.job`` in :mod:`biorepro.plan`) is a JSON-able dict: ``stage``,
``store``, ``recipe`` (what names it), ``key`` (None when not known at planning),
``what``, ``ingredients`` (its key's, but the inputs), ``inputs`` (what it is built
from, shaped as the ingredients' ``inputs``: nothing reaches a job without entering its
key) and ``runtime`` (how it runs, e.g. the device: no ingredient of what it computes).
It is first resolved (:func:`biorepro.store.receipts.resolve`): its inputs become paths,
the entries among them (``entries``) are verified before building, the key is taken over
their content and ``out`` is the entry's store path. An entry already in the store under
that key is not built again (early cutoff).

The module ``biorepro.jobs.<stage>`` of each stage has ``build(job, out, log)``: it
writes the entry's files into the folder ``out`` and returns what it observed (recorded
in the provenance only). It may also have ``missing_environment(job)`` (variables that
must be set before Python starts: the job re-executes itself with them) and, for
``verify``, ``compare(stored, rebuilt)``. Staging, publication, provenance, receipts and
logging are done here, once, so that none of it enters a stage's code fingerprint.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from biorepro.errors import Refusal
from biorepro.joblog import Log, job_logger
from biorepro.store import receipts
from biorepro.store.entries import (
    DamagedEntryError,
    check_entry,
    is_published,
    staging,
    verify_entry,
    write_provenance,
)

REEXEC_MARK = "BIOREPRO_JOB_REEXEC"


def stage_module(stage: str) -> ModuleType:
    """The job module of ``stage`` (``biorepro.jobs.<stage>``)."""
    return importlib.import_module(f"biorepro.jobs.{stage}")


def needs_building(job: dict, log: Log) -> bool:
    """Whether the entry of a resolved ``job`` must be built: no when the store holds it
    (it is then checked, cheaply): its key was not known at planning and its inputs'
    content is what built it before (cut off), or another run published it meanwhile.
    Before a build, every input entry is verified file by file, so that nothing is
    computed from damaged data."""
    out = job["out"]
    if is_published(out):
        check = check_entry(out, deep=False)
        if not check.ok:
            raise DamagedEntryError(out, list(check.problems))
        log(f"{out} is already in the store " + (
            "(published by another run)" if job["planned_key"] is not None else
            "(cut off: its inputs were rebuilt with the content that built it)"))
        return False
    _verify_inputs(job)
    return True


def _verify_inputs(job: dict) -> None:
    for path in job["entries"]:
        verify_entry(path)


def produce(job: dict, log: Log) -> dict:
    """Build and publish the entry of ``job`` unless it is in the store already; its
    receipt's item (:func:`biorepro.store.receipts.outcome`)."""
    job = receipts.resolve(job)
    if not needs_building(job, log):
        return receipts.outcome(job, built=False)
    with staging(job["out"]) as tmp:
        _build(job, tmp, log)
    log(f"{job['stage']}: published {job['out']}")
    return receipts.outcome(job, built=True)


def _build(job: dict, out: Path, log: Log) -> None:
    """Write the entry of a resolved ``job`` into ``out``, then its provenance: what the
    stage observed, and the store entries it read as ``stage/key`` (the key's ingredients
    name them by content only)."""
    observed = stage_module(job["stage"]).build(job, out, log) or {}
    read = sorted("/".join(Path(p).parts[-2:]) for p in job["entries"])
    write_provenance(out, job["ingredients"], {**observed, "inputs": read})


def rebuild(job: dict, into: str | os.PathLike, log: Log) -> Path:
    """Build the entry of a resolved ``job`` again into the folder ``into`` (not the
    store), from its verified inputs; what ``biorepro recheck`` and ``verify`` compare."""
    into = Path(into)
    _verify_inputs(job)
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    _build(job, into, log)
    return into


@contextmanager
def refusals_end_the_job(log: Log) -> Iterator[None]:
    """A :class:`~biorepro.errors.Refusal` ends the job with its message, once, in the log
    and on the console, without a traceback (exit status 1)."""
    try:
        yield
    except Refusal as err:
        log(f"refused: {err}")
        print(f"biorepro: {err}", file=sys.stderr)
        raise SystemExit(1) from None


def run_jobs(jobs: list[dict], receipt: str | None, log_path: str | None) -> None:
    """What a rule runs (and ``python -m biorepro.jobs``): produce every job of a batch in
    turn in this one process, recording each entry as it is published, then write the
    batch's ``receipt`` (one item per job). A process whose jobs need variables set before
    Python starts first runs again with them (:func:`reexec_if_needed`), reading the jobs
    from a file in memory that it inherits (a command line's length is bounded)."""
    if any(_missing_environment(job) for job in jobs):
        fd = os.memfd_create("biorepro-jobs")
        os.set_inheritable(fd, True)  # the new process reads it, and no path is left behind
        with open(f"/proc/self/fd/{fd}", "w") as f:
            f.write(json.dumps(jobs))
        reexec_if_needed(jobs, ["--job", f"@/proc/self/fd/{fd}",
                                *(["--receipt", receipt] if receipt else []),
                                *(["--log", log_path] if log_path else [])])
    with job_logger(log_path) as log, refusals_end_the_job(log):
        items = []
        for n, job in enumerate(jobs, start=1):
            if len(jobs) > 1:
                log(f"{job['stage']} {n}/{len(jobs)}: {job['what']}")
            items.append(produce(job, log))
            if receipt:
                receipts.record_progress(receipt, items[-1])
        if receipt:
            receipts.write(receipt, items)


def reexec_if_needed(jobs: list[dict], options: list[str]) -> None:
    """Run ``jobs`` again in a new process, ``python -m biorepro.jobs`` with ``options``
    (this one ends with its exit status), with the variables their stages need set before
    Python starts (e.g. ``PYTHONHASHSEED`` for a strict training job), unless they are
    set; the jobs must need the same ones."""
    needs = [_missing_environment(job) for job in jobs]
    if any(n != needs[0] for n in needs):
        raise RuntimeError("jobs run in one process must need the same environment variables")
    missing = needs[0]
    if not missing:
        return
    if os.environ.get(REEXEC_MARK) == "1":
        raise RuntimeError(f"variables not in effect after re-executing the job: {missing}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "biorepro.jobs", *options],
              {**os.environ, **missing, REEXEC_MARK: "1"})


def _missing_environment(job: dict) -> dict[str, str]:
    return getattr(stage_module(job["stage"]), "missing_environment", lambda j: {})(job)


def read_job(text: str) -> dict:
    """A job from JSON text, or from a file when ``text`` is ``@path``."""
    return json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
