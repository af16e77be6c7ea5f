"""Garbage collection: remove store entries that no live root reaches.

The store's roots (:mod:`biorepro.store.roots`) are every configuration run on it and
every results view published from it, by any user in any working directory. An entry is
kept when the configuration gc is given plans it, or a live root lists it; with
``only_config`` the configuration alone decides (roots are ignored: for a store that is
yours alone). Stale temporary directories and quarantined entries go too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from biorepro.plan import Plan
from biorepro.store import roots
from biorepro.store.entries import QUARANTINE, TMP_PREFIX, remove_tree
from biorepro.store.stages import NAMES

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


@dataclass
class Roots:
    """The roots gc honours (``live``) and those it does not (``dead``: root, why)."""

    live: list[roots.Root]
    dead: list[tuple[roots.Root, str]]


def honoured_roots(store: str, older_than: float | None = None) -> Roots:
    """The store's roots, split into live and dead (see
    :meth:`biorepro.store.roots.Root.dead_because`)."""
    live, dead = [], []
    for root in roots.load(store):
        why = root.dead_because(older_than)
        if why is None:
            live.append(root)
        else:
            dead.append((root, why))
    return Roots(live, dead)


def find_garbage(plan: Plan, *, keep: list[roots.Root] = (),
                 now: float | None = None) -> list[Garbage]:
    """Entries of known stages neither in ``plan`` nor listed by a root of ``keep``,
    stale temporary directories, and quarantined (damaged) entries."""
    now = time.time() if now is None else now
    reachable = {(e.stage, e.key) for e in plan.entries() if e.key is not None}
    reachable |= {(stage, key) for root in keep for stage, key, _ in root.entries}
    out = []
    for stage in NAMES:
        stage_dir = Path(plan.store) / stage
        if not stage_dir.is_dir():
            continue
        for d in sorted(os.scandir(stage_dir), key=lambda d: d.name):
            path = Path(d.path)
            if d.name.startswith(TMP_PREFIX):
                if now - d.stat().st_mtime > TMP_GRACE_S:
                    out.append(Garbage(path, _size(path), "unfinished (temporary)"))
            elif (stage, d.name) not in reachable:
                out.append(Garbage(path, _size(path), "reached by no live root"))
    quarantined = Path(plan.store) / QUARANTINE
    for path in sorted(quarantined.glob("*/*")) if quarantined.is_dir() else []:
        out.append(Garbage(path, _size(path), "quarantined by biorepro fsck --repair"))
    return out


def collect(garbage: list[Garbage]) -> int:
    """Delete ``garbage``; return the bytes freed."""
    for g in garbage:
        remove_tree(g.path)
    return sum(g.size for g in garbage)
