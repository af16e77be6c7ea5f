"""The content-addressed store: ``<store>/<stage>/<key>/``, published atomically.

An entry is written under a temporary sibling name and renamed into place only when
complete, so a reader never sees a half-written entry and a killed job leaves nothing
but a temporary directory that the next run ignores. An entry is never modified after
publication. When two runs publish the same key, the first rename wins and the second
run's copy (identical by construction) is discarded.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

PROVENANCE = "provenance.json"
TMP_PREFIX = ".tmp-"


def entry_path(store: str | os.PathLike, stage: str, key: str) -> Path:
    """Path of the entry ``key`` of ``stage`` in ``store``."""
    return Path(store) / stage / key


def is_published(path: str | os.PathLike) -> bool:
    """True when ``path`` is a complete entry (it has its provenance record)."""
    return (Path(path) / PROVENANCE).is_file()


@contextlib.contextmanager
def staging(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``final`` when the block succeeds.

    On an exception the temporary directory is removed and ``final`` is untouched.
    If ``final`` already exists when publishing (another run got there first), the
    new copy is discarded and the existing entry kept.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        yield tmp
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, final: Path) -> None:
    if not (tmp / PROVENANCE).is_file():
        raise RuntimeError(f"refusing to publish {final}: no {PROVENANCE} was written")
    _fsync_tree(tmp)
    if final.exists() and not is_published(final):
        # An empty directory left by a scheduler (e.g. Snakemake creating output
        # parents) is not an entry: replace it.
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.rename(tmp, final)
    except OSError:
        if not is_published(final):
            raise


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def observed_environment() -> dict[str, object]:
    """What is recorded about the machine a job ran on (not part of any key)."""
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pid": os.getpid(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_provenance(
    entry_dir: str | os.PathLike,
    ingredients: dict,
    observed: dict | None = None,
) -> Path:
    """Write ``provenance.json``: the key's ``ingredients`` and what was ``observed``."""
    record = {
        "ingredients": ingredients,
        "observed": {**observed_environment(), **(observed or {})},
    }
    path = Path(entry_dir) / PROVENANCE
    path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_provenance(entry_dir: str | os.PathLike) -> dict:
    return json.loads((Path(entry_dir) / PROVENANCE).read_text())
