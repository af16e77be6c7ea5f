"""The keys of a plan, per stage, recorded so that a change to them is made on purpose.

An upgrade of biorepro reruns, for every user, the stages whose keys it changes (and,
after them, what then holds other bytes). A *key table* holds for each stage of a plan
what its keys are made of besides the data: the digest of each module of its code
fingerprint, the versions of the packages that code imports, and a digest over its
entries' recipes (which follow the parameters too). :func:`differences` names what
changed between two tables, stage by stage, in words for a changelog.

    python -m biorepro.keytable TABLE CONFIG... [--write]
        compare the plan of the CONFIG files with TABLE (exit 1 on a difference), or
        record it there with --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from biorepro import config as cfg
from biorepro.plan import build_plan, stage_code
from biorepro.store.keys import canonical_json
from biorepro.store.stages import NAMES


def key_table(plan) -> dict[str, dict]:
    """The key table of ``plan`` (a :class:`biorepro.plan.Plan`), stages in data-flow
    order."""
    recipes: dict[str, list[str]] = {}
    for e in plan.entries():
        recipes.setdefault(e.stage, []).append(e.recipe)
    table = {}
    for stage in (s for s in NAMES if s in recipes):
        code = stage_code(stage)
        digest = hashlib.sha256(canonical_json(sorted(recipes[stage])).encode()).hexdigest()
        table[stage] = {"modules": code["code"]["parts"], "versions": code["versions"],
                        "entries": len(recipes[stage]), "recipes": digest[:16]}
    return table


def differences(recorded: dict[str, dict], now: dict[str, dict]) -> list[str]:
    """What differs from the ``recorded`` table ``now``, one line per stage that changed:
    its modules (changed, new, gone), package versions, and otherwise its recipes: they
    follow a stage before it that changed (its keys stay when that stage's bytes do:
    early cutoff), or its parameters."""
    out, changed = [], []
    for stage in [*recorded, *(s for s in now if s not in recorded)]:
        old, new = recorded.get(stage), now.get(stage)
        if old == new:
            continue
        if old is None or new is None:
            out.append(f"{stage}: stage {'new' if old is None else 'gone'}")
            continue
        said = []
        for what in ("modules", "versions"):
            a, b = old[what], new[what]
            said += [f"{what[:-1]} {n} " + ("new" if n not in a else "gone" if n not in b else
                                            f"{a[n]} -> {b[n]}")
                     for n in sorted(a.keys() | b.keys()) if a.get(n) != b.get(n)]
        if not said:
            said.append(f"recipes follow {', '.join(changed)} (keys unchanged where their "
                        "bytes are)" if changed else "parameters changed")
        changed.append(stage)
        out.append(f"{stage}: {'; '.join(said)}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Compare or record a key table (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m biorepro.keytable",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("table", type=Path)
    ap.add_argument("configfile", nargs="+")
    ap.add_argument("--write", action="store_true", help="record the table")
    args = ap.parse_args(argv)
    now = key_table(build_plan(cfg.load(args.configfile)))
    if args.write:
        args.table.write_text(json.dumps(now, indent=1) + "\n")
        print(f"key table of {', '.join(args.configfile)} written to {args.table}")
        return 0
    changed = differences(json.loads(args.table.read_text()), now)
    print("\n".join(changed) or f"keys as recorded in {args.table}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
