"""Garbage collection: remove store entries the current configuration no longer reaches."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from biorepro.plan import Plan
from biorepro.store.entries import QUARANTINE, TMP_PREFIX, remove_tree
from biorepro.store.layouts import STAGES

# A temporary directory younger than this may belong to a job still running.
TMP_GRACE_S = 6 * 3600


@dataclass
class Garbage:
    """A removable folder: its ``path``, ``size`` (bytes of the files under it) and why."""

    path: Path
    size: int
    reason: str


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def find_garbage(plan: Plan, *, now: float | None = None) -> list[Garbage]:
    """Entries of known stages not in ``plan``, stale temporary directories, and
    quarantined (damaged) entries."""
    now = time.time() if now is None else now
    reachable = {(s, k) for (s, k) in plan.by_key}
    out = []
    for stage in STAGES:
        stage_dir = Path(plan.store) / stage
        if not stage_dir.is_dir():
            continue
        for d in sorted(os.scandir(stage_dir), key=lambda d: d.name):
            path = Path(d.path)
            if d.name.startswith(TMP_PREFIX):
                if now - d.stat().st_mtime > TMP_GRACE_S:
                    out.append(Garbage(path, _size(path), "unfinished (temporary)"))
            elif (stage, d.name) not in reachable:
                out.append(Garbage(path, _size(path), "not reached by the configuration"))
    quarantined = Path(plan.store) / QUARANTINE
    for path in sorted(quarantined.glob("*/*")) if quarantined.is_dir() else []:
        out.append(Garbage(path, _size(path), "quarantined by biorepro fsck --repair"))
    return out


def collect(garbage: list[Garbage]) -> int:
    """Delete ``garbage``; return the bytes freed."""
    for g in garbage:
        remove_tree(g.path)
    return sum(g.size for g in garbage)
