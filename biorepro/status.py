"""Why would an entry run? Compare its key's ingredients with what the store holds.

For each planned entry missing from the store, the entry the configuration used last for
the same role (same stage and description, from its root in the store, see
:mod:`biorepro.store.roots`) is compared with it; without one (a first run, or that entry
is gone), the nearest published entry of the same stage (fewest differing ingredients).
The ingredients that differ are reported: ``params.size: 128 -> 64``, ``inputs.video:
<digest> -> <digest>``, a code change (``code.digest``) or a package upgrade
(``versions.tensorflow``). An entry whose key waits for an input that is not in the
store is not explained but said to *may rerun*: its job builds it only when that input
is rebuilt with other content (early cutoff, :mod:`biorepro.store.receipts`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from biorepro.plan import Entry, Plan
from biorepro.store.entries import PROVENANCE
from biorepro.store.keys import flatten
from biorepro.store.receipts import OUTCOMES
from biorepro.store.stages import NAMES


@dataclass
class Explanation:
    """Why ``entry`` would run: the differing ingredients (None where one side lacks it)
    against the nearest published entry; ``nearest`` None when its stage has none."""

    entry: Entry
    nearest: str | None          # key of the store entry compared with, if any
    changes: list[tuple[str, object, object]]  # (ingredient, in store, planned)
    last_run: bool = False       # nearest is what this configuration used last

    @property
    def may_rerun(self) -> bool:
        """Its key waits for inputs not in the store (:attr:`Entry.waits_for`)."""
        return self.entry.key is None


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
        if e.key is None:
            out.append(Explanation(e, None, []))
            continue
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


def format_explanations(plan: Plan, explanations: list[Explanation],
                        ran: tuple[tuple[str, str, str, str], ...] = ()) -> str:
    """Human-readable report: a summary line, then each entry with at most 6 changes
    (values cut to 40 characters), and what the configuration's last run did (``ran``:
    its root's record)."""
    total = len(plan.by_recipe)
    waiting = [x for x in explanations if x.may_rerun]
    lines = [f"{total - len(explanations)} of {total} planned entries are in the store "
             f"({plan.store}); {len(explanations) - len(waiting)} would run"
             + (f", {len(waiting)} may rerun (each is rebuilt only if what it waits for is "
                "rebuilt with other content)" if waiting else "") + "."]
    for x in explanations:
        if x.may_rerun:
            lines.append(f"{x.entry.stage:8s} {'(key not known yet)':24s}  {x.entry.what}\n"
                         f"    may rerun: waits for {', '.join(x.entry.waits_for)}")
            continue
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
    if ran:
        lines.append(format_last_run(ran))
    return "\n".join(lines)


def by_stage(stages: list[str]) -> str:
    """``stages`` (one per entry) counted, in data-flow order: ``split 1, train 2``."""
    return ", ".join(f"{s} {stages.count(s)}" for s in NAMES if s in stages)


def format_pending(plan: Plan) -> str | None:
    """One line on what a run of ``plan`` will do (None when nothing): the entries it
    will build, and those that may rerun (their key waits for an input not in the store,
    so each is built only if that input is rebuilt with other content)."""
    missing = plan.missing()
    if not missing:
        return None
    build = [e.stage for e in missing if e.key is not None]
    wait = [e.stage for e in missing if e.key is None]
    return (f"{len(build)} entries to build ({by_stage(build)})"
            + (f"; {len(wait)} may rerun, only if what they wait for is rebuilt with "
               f"other content ({by_stage(wait)})" if wait else ""))


def format_last_run(ran: tuple[tuple[str, str, str, str], ...]) -> str:
    """What the configuration's last run did: entries built, cut off (their key waited
    for inputs that were rebuilt with the same content) and found (published meanwhile
    by another run), by stage; the cut-off entries named."""
    ran = sorted(ran, key=lambda r: NAMES.index(r[0]))
    said = [f"{len(stages)} {outcome} ({by_stage(stages)})" for outcome in OUTCOMES
            if (stages := [r[0] for r in ran if r[3] == outcome])]
    lines = [f"Last run of this configuration: {'; '.join(said)}."]
    cut = [(stage, key, what) for stage, key, what, outcome in ran if outcome == "cut off"]
    if cut:
        lines.append("Cut off (their inputs were rebuilt with the same content, so they "
                     "were not):")
        lines += [f"  {stage:8s} {key}  {what}" for stage, key, what in cut]
    return "\n".join(lines)
