"""The one adapter between the workflow and the stage jobs.

A *job* (``Entry.job`` in :mod:`biorepro.plan`) is a JSON-able dict: ``stage``, ``out``
(the entry's store path), ``ingredients`` (its key's), ``inputs`` (the paths it is built
from, shaped as the ingredients' ``inputs``: nothing reaches a job without entering its
key), ``entries`` (the store entries among them, verified before building) and
``runtime`` (how it runs, e.g. the device: no ingredient of what it computes).

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
    """Whether ``job["out"]`` must be built: no when another run published it meanwhile
    (it is then checked, cheaply). Before a build, every input entry is verified file by
    file, so that nothing is computed from damaged data."""
    out = job["out"]
    if is_published(out):
        check = check_entry(out, deep=False)
        if not check.ok:
            raise DamagedEntryError(out, list(check.problems))
        log(f"{out} is already in the store (published by another run)")
        return False
    _verify_inputs(job)
    return True


def _verify_inputs(job: dict) -> None:
    for path in job["entries"]:
        verify_entry(path)


def produce(job: dict, log: Log) -> None:
    """Build and publish the entry of ``job`` unless it is in the store already."""
    if not needs_building(job, log):
        return
    with staging(job["out"]) as tmp:
        observed = stage_module(job["stage"]).build(job, tmp, log)
        write_provenance(tmp, job["ingredients"], observed)
    log(f"{job['stage']}: published {job['out']}")


def rebuild(job: dict, into: str | os.PathLike, log: Log) -> Path:
    """Build the entry of ``job`` again into the folder ``into`` (not the store), from
    its verified inputs; what ``biorepro recheck`` and ``verify`` compare."""
    into = Path(into)
    _verify_inputs(job)
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    observed = stage_module(job["stage"]).build(job, into, log)
    write_provenance(into, job["ingredients"], observed)
    return into


def write_receipt(receipt: str | os.PathLike, *entries: str | os.PathLike) -> None:
    """Write a job's receipt (its output for Snakemake, in the working directory) once
    its ``entries`` are published, one path per line: Snakemake may delete a receipt,
    never a store entry."""
    for entry in entries:
        if not is_published(entry):
            raise RuntimeError(f"the job ended without publishing {entry}")
    receipt = Path(receipt)
    receipt.parent.mkdir(parents=True, exist_ok=True)
    receipt.write_text("".join(f"{Path(e).resolve()}\n" for e in entries))


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


def run_jobs(jobs: list[dict], receipts: list[str], log_path: str | None) -> None:
    """What a rule runs: produce every job (a batch for ``frames``), then its receipt."""
    with job_logger(log_path) as log, refusals_end_the_job(log):
        for job in jobs:
            if _missing_environment(job):
                raise RuntimeError(f"a {job['stage']} job needs variables set before Python "
                                   "starts: run it with python -m biorepro.jobs")
        for n, (job, receipt) in enumerate(zip(jobs, receipts, strict=True), start=1):
            if len(jobs) > 1:
                log(f"{job['stage']} {n}/{len(jobs)}: {job['out']}")
            produce(job, log)
            write_receipt(receipt, job["out"])


def reexec_if_needed(jobs: list[dict]) -> None:
    """Re-execute this process with the variables the stages of ``jobs`` need before
    Python starts (e.g. ``PYTHONHASHSEED`` for a strict training job) when they are not
    set; the jobs must need the same ones."""
    needs = [_missing_environment(job) for job in jobs]
    if any(n != needs[0] for n in needs):
        raise RuntimeError("jobs run in one process must need the same environment variables")
    missing = needs[0]
    if missing and os.environ.get(REEXEC_MARK) != "1":
        env = {**os.environ, **missing, REEXEC_MARK: "1"}
        os.execve(sys.executable, [sys.executable, "-m", "biorepro.jobs", *sys.argv[1:]], env)
    if missing:
        raise RuntimeError(f"variables not in effect after re-executing the job: {missing}")


def _missing_environment(job: dict) -> dict[str, str]:
    return getattr(stage_module(job["stage"]), "missing_environment", lambda j: {})(job)


def read_job(text: str) -> dict:
    """A job from JSON text, or from a file when ``text`` is ``@path``."""
    return json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
