"""Why would an entry run? Compare its key's ingredients with what the store holds.

For each planned entry missing from the store, the entry the configuration used last for
the same role (same stage and description, from its root in the store, see
:mod:`biorepro.store.roots`) is compared with it; without one (a first run, or that entry
is gone), the nearest published entry of the same stage (fewest differing ingredients).
The ingredients that differ are reported: ``params.size: 128 -> 64``, ``inputs.video:
<digest> -> <digest>``, a code change (``code.digest``) or a package upgrade
(``versions.tensorflow``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from biorepro.plan import Entry, Plan
from biorepro.store.entries import PROVENANCE
from biorepro.store.keys import flatten


@dataclass
class Explanation:
    """Why ``entry`` would run: the differing ingredients (None where one side lacks it)
    against the nearest published entry; ``nearest`` None when its stage has none."""

    entry: Entry
    nearest: str | None          # key of the store entry compared with, if any
    changes: list[tuple[str, object, object]]  # (ingredient, in store, planned)
    last_run: bool = False       # nearest is what this configuration used last


def _published(store: str, stage: str) -> dict[str, dict]:
    out = {}
    stage_dir = Path(store) / stage
    if not stage_dir.is_dir():
        return out
    for d in os.scandir(stage_dir):
        prov = Path(d.path) / PROVENANCE
        if d.is_dir() and prov.is_file():
            out[d.name] = flatten(json.loads(prov.read_text())["ingredients"])
    return out


def _diff(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """Differing ingredients; a code change (the stage's, or a user model file's under
    ``params.model``) is named by module (``code.parts.<module>``) rather than by the
    overall digest."""
    names = sorted(set(old) | set(new))
    changes = [(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)]
    named = {n.split("code.parts.")[0] for n, _, _ in changes if "code.parts." in n}
    return [c for c in changes if not (c[0].endswith("code.digest")
                                       and c[0][:-len("code.digest")] in named)]


def explain(plan: Plan, last: dict[tuple[str, str], str] | None = None) -> list[Explanation]:
    """One explanation per planned entry that is not in the store; ``last`` maps (stage,
    what) to the key this configuration used last (its root's entries)."""
    published: dict[str, dict[str, dict]] = {}
    out = []
    for e in plan.missing():
        if e.stage not in published:
            published[e.stage] = _published(plan.store, e.stage)
        planned = flatten(e.ingredients)
        before = (last or {}).get((e.stage, e.what))
        if before in published[e.stage]:
            out.append(Explanation(e, before, _diff(published[e.stage][before], planned), True))
            continue
        best: tuple[str | None, list] = (None, [])
        for key, ingr in published[e.stage].items():
            changes = _diff(ingr, planned)
            if best[0] is None or len(changes) < len(best[1]):
                best = (key, changes)
        out.append(Explanation(e, best[0], best[1]))
    return out


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def format_explanations(plan: Plan, explanations: list[Explanation]) -> str:
    """Human-readable report: a summary line, then each entry with at most 6 changes
    (values cut to 40 characters)."""
    total = len(plan.by_key)
    lines = [f"{total - len(explanations)} of {total} planned entries are in the store "
             f"({plan.store}); {len(explanations)} would run."]
    for x in explanations:
        head = f"{x.entry.stage:8s} {x.entry.key}  {x.entry.what}"
        if x.nearest is None:
            lines.append(f"{head}\n    new: the store has no {x.entry.stage} entry yet")
            continue
        basis = "the entry this configuration used last" if x.last_run else "store entry"
        lines.append(f"{head}\n    differs from {basis} {x.nearest} in:")
        for name, old, new in x.changes[:6]:
            lines.append(f"      {name}: {_short(old)} -> {_short(new)}")
        if len(x.changes) > 6:
            lines.append(f"      ... and {len(x.changes) - 6} more ingredients")
    return "\n".join(lines)
