"""``biorepro fsck``: verify store entries file by file, and quarantine damaged ones.

Which entries: the published entries a configuration reaches, or (``--all``) every
folder under ``<store>/<stage>/`` (temporary folders of running jobs excepted), where a
folder without ``provenance.json`` counts as damaged. Each entry is checked deeply
(:func:`biorepro.store.entries.check_entry`: every file's SHA-256 and size, no missing or extra
file, the record's own digest, the key). Entries are hashed in parallel threads
(hashing releases the GIL), so checking costs about what ``sha256sum`` of the same files
costs. ``repair`` moves each damaged entry, and only those, to ``<store>/.quarantine/``:
the next run rebuilds it under the same key. Its descendants are kept: every job
verifies the entries it reads, so none was computed from damaged data.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from biorepro.joblog import Log
from biorepro.store.entries import EntryCheck, check_entry, quarantine
from biorepro.store.keys import KEY_PATTERN

PROGRESS_EVERY_S = 5.0
KEY_RE = re.compile(KEY_PATTERN)


@dataclass
class FsckReport:
    """Result of :func:`fsck`: entries ``checked``, the ``damaged`` ones (in input order),
    and with ``repair`` where each was moved (entry path -> quarantine path)."""

    checked: int = 0
    damaged: list[EntryCheck] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # entry -> where it went


def store_entries(store: str | os.PathLike) -> list[Path]:
    """Every entry folder (named by a key) of every stage of ``store`` (``--all``);
    other folders (``.quarantine``, ``lost+found``, temporaries) are not entries."""
    out = []
    root = Path(store)
    if not root.is_dir():
        return out
    for stage in sorted(os.scandir(root), key=lambda d: d.name):
        if stage.name.startswith(".") or not stage.is_dir():
            continue
        try:
            names = sorted(d.name for d in os.scandir(stage.path) if d.is_dir())
        except OSError:
            continue
        out += [Path(stage.path) / n for n in names if KEY_RE.fullmatch(n)]
    return out


def fsck(entries: Iterable[str | os.PathLike], *, repair: bool = False, threads: int = 2,
         log: Log = print) -> FsckReport:
    """Check ``entries`` deeply; with ``repair``, quarantine the damaged ones."""
    entries = list(entries)
    report = FsckReport()
    last = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for check in pool.map(check_entry, entries):
            report.checked += 1
            if not check.ok:
                report.damaged.append(check)
                log(f"DAMAGED {check.path}")
                for problem in check.problems:
                    log(f"    {problem}")
            if time.monotonic() - last > PROGRESS_EVERY_S:
                last = time.monotonic()
                log(f"... {report.checked}/{len(entries)} entries checked")
    if repair:
        for check in report.damaged:
            report.quarantined[check.path] = str(quarantine(check.path))
            log(f"moved {check.path} to {report.quarantined[check.path]}")
    return report
