"""How a job finds its inputs and its key, and what it tells the jobs after it.

A derived entry's key is taken over its inputs' *content* (:func:`content_digest`), not
over their keys: an input rebuilt with the same files (after a refactor, a new log text,
a package upgrade that computes the same bytes) leaves the key, and so the entry, as it
was (*early cutoff*). The key is therefore known at planning only when every input is in
the store. Until then the plan names the entry by its *recipe*, the key taken over its
inputs' recipes (a function of the configuration alone, the same in every process that
plans the run), and its job resolves the key once its inputs exist.

A job's inputs are leaves, nested as the ingredients' ``inputs``:

- ``["source", path, digest]``: a file outside the store (a video), by content digest;
- ``["entry", path]``: a store entry whose key was known at planning;
- ``["pending", receipt, recipe]``: an entry built earlier in the same run, found in the
  receipt of the job that built it.

A *receipt* is a job's output for Snakemake, in the working directory: a JSON list of the
entries the job left in the store, each with its recipe, key, path, description and what
happened (``built``, or ``cut off``: its key was not known at planning and the store held
it already, or ``found``: another run published it meanwhile). Snakemake may delete a
receipt, never a store entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from biorepro.errors import Refusal
from biorepro.store.entries import (
    content_digest,
    entry_path,
    is_published,
    require_published,
    verify_entry,
)
from biorepro.store.keys import derive_key, map_tree

OUTCOMES = ("built", "cut off", "found")


class StalePlan(Refusal, RuntimeError):
    """A job's inputs are not what the workflow planned (changed since planning)."""


def find(receipt: str | os.PathLike, recipe: str) -> str:
    """The store path of the entry of ``recipe`` listed in ``receipt``."""
    try:
        listed = json.loads(Path(receipt).read_text())
    except (OSError, ValueError) as err:
        raise StalePlan(f"the receipt {receipt} of an input cannot be read ({err}): run the "
                        "workflow again") from None
    for item in listed:
        if item["recipe"] == recipe:
            return item["path"]
    raise StalePlan(f"the receipt {receipt} lists no entry of recipe {recipe}: run the "
                    "workflow again")


def input_path(leaf: list) -> str:
    """The path a job's input leaf names (a pending entry's, from its receipt)."""
    kind = leaf[0]
    if kind == "pending":
        return find(leaf[1], leaf[2])
    if kind in ("source", "entry"):
        return leaf[1]
    raise ValueError(f"not an input of a job: {leaf!r}")


def resolve(job: dict) -> dict:
    """``job`` with its inputs found: ``inputs`` as paths, the entries among them
    (``entries``), the key's ``ingredients`` with each input's content digest, its
    ``key`` and ``out`` (the entry's store path). A key known at planning must be the
    one its inputs give now (:class:`StalePlan` otherwise)."""
    entries: list[str] = []

    def leaf(value: list) -> tuple[str, str]:
        path = input_path(value)
        if value[0] == "source":
            return path, value[2]
        require_published(path)
        entries.append(path)
        try:
            return path, content_digest(path)
        except (OSError, ValueError, KeyError):
            verify_entry(path)  # names the damage
            raise

    found = map_tree(job["inputs"], leaf)
    ingredients = {**job["ingredients"], "inputs": map_tree(found, lambda pd: pd[1])}
    key = derive_key(ingredients)
    if job["key"] is not None and job["key"] != key:
        raise StalePlan(
            f"the inputs of {job['what']} changed since the workflow was planned (its key "
            f"{job['key']} is now {key}): run the workflow again")
    return {**job, "inputs": map_tree(found, lambda pd: pd[0]), "ingredients": ingredients,
            "entries": entries, "key": key, "planned_key": job["key"],
            "out": str(entry_path(job["store"], job["stage"], key))}


def outcome(job: dict, built: bool) -> dict:
    """The receipt's item of a resolved ``job`` whose entry is published now."""
    if not is_published(job["out"]):
        raise RuntimeError(f"the job ended without publishing {job['out']}")
    happened = "built" if built else "cut off" if job.get("planned_key") is None else "found"
    return {"stage": job["stage"], "recipe": job["recipe"], "key": job["key"],
            "path": str(Path(job["out"]).resolve()), "what": job["what"], "outcome": happened}


def write(receipt: str | os.PathLike, items: list[dict]) -> None:
    """Write a job's receipt (``items``: :func:`outcome`)."""
    receipt = Path(receipt)
    receipt.parent.mkdir(parents=True, exist_ok=True)
    tmp = receipt.with_name(f".{receipt.name}.tmp")
    tmp.write_text(json.dumps(items, indent=1) + "\n")
    os.replace(tmp, receipt)


def record_progress(receipt: str | os.PathLike, item: dict) -> None:
    """Record one entry a job of several left in the store, beside the run's receipts
    (``ran/``, no output of Snakemake's, so kept when a later entry of the job fails):
    :func:`read_run` reads it, and the configuration's root keeps the entry."""
    run_dir = Path(receipt).parent.parent
    write(run_dir / "ran" / f"{item['stage']}-{item['recipe']}", [item])


def read_run(run_dir: str | os.PathLike,
             pending: set[tuple[str, str]] = frozenset()) -> list[dict]:
    """Every item of the receipts of one run (its folder of receipts), each once. An
    entry ``found`` in the store whose (stage, recipe) is in ``pending`` (its key was not
    known when the run was planned) was cut off: a cluster job plans again once its
    inputs exist, and then knows its key."""
    items: dict[tuple[str, str], dict] = {}
    for dirpath, _dirs, files in os.walk(run_dir):
        for name in files:
            if name.startswith("."):
                continue
            try:
                listed = json.loads(Path(dirpath, name).read_text())
            except (OSError, ValueError):
                continue  # not a job's receipt (a marker, a batch list)
            if isinstance(listed, list):
                for item in listed:
                    if isinstance(item, dict) and "recipe" in item:
                        if (item["outcome"] == "found"
                                and (item["stage"], item["recipe"]) in pending):
                            item = {**item, "outcome": "cut off"}
                        items[item["stage"], item["recipe"]] = item
    return list(items.values())


def last_change(run_dir: str | os.PathLike) -> float:
    """When anything under a run's folder of receipts last changed (a run still going
    writes receipts: its folder is not stale)."""
    return max(os.stat(os.path.join(top, name)).st_mtime
               for top, dirs, files in os.walk(run_dir) for name in [".", *dirs, *files])
