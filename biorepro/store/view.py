"""``results/<experiment>/``: the readable view of an experiment's summary entry.

The view is a folder of copies of the files of the summary entry in the store: copies,
not links, so that editing a file of the view can never change the store (summary
entries are small). It is replaced as a whole whenever it shows another entry than the
configuration plans (e.g. after a revert); reports written into it by other commands
(``determinism.json``, ``recheck.*``) go with the entry they checked.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from biorepro.store.entries import PROVENANCE

VIEW_MARKER = "STORE_ENTRY"  # the view's file naming the store entry it shows


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy the files' bytes (new, writable files: not the entry's read-only modes)."""
    for dirpath, _dirs, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copyfile(Path(dirpath) / name, dst / rel / name)


def publish_view(summary_entry: str | os.PathLike, view_dir: str | os.PathLike) -> Path:
    """Make ``view_dir`` show the files of ``summary_entry`` (replacing what it showed)."""
    src, view = Path(summary_entry), Path(view_dir)
    if not (src / PROVENANCE).is_file():
        raise FileNotFoundError(f"summary entry {src} is not in the store")
    view.parent.mkdir(parents=True, exist_ok=True)
    fresh = view.parent / f".{view.name}.new-{uuid.uuid4().hex[:8]}"
    _copy_tree(src, fresh)
    (fresh / VIEW_MARKER).write_text(f"{src.resolve()}\n")
    old = view.parent / f".{view.name}.old-{uuid.uuid4().hex[:8]}"
    if view.exists():
        view.rename(old)
    fresh.rename(view)
    shutil.rmtree(old, ignore_errors=True)
    return view


# The report's sections of a view, by the pattern wildcard that matched its file (see
# rules/views.smk): figures, the "why" page, the stage graph, and CSV tables by name.
TABLE_SECTIONS = (("summary", "summary"), ("folds", "summary"), ("cross", "summary"),
                  ("paper", "summary"), ("per_seed", "per-seed tables"),
                  ("sampling", "why do results change?"), ("variance", "why do results change?"),
                  ("expected_best", "why do results change?"), ("data_report", "data"),
                  ("bad_videos", "data"), ("split", "data"), ("comparison", "comparisons"),
                  ("recheck", "checks"))


def report_section(wildcards: dict[str, str]) -> str:
    """The report subcategory of a view's file from its pattern's wildcards."""
    if "figure" in wildcards:
        return "figures"
    if "page" in wildcards:
        return "why do results change?"
    if "graph" in wildcards:
        return "workflow"
    table = wildcards["table"]
    return next((section for prefix, section in TABLE_SECTIONS if table.startswith(prefix)),
                "tables")
