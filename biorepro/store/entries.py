"""The content-addressed store: ``<store>/<stage>/<key>/``, published atomically.

An entry is written under a temporary sibling name and renamed into place only when
complete, so a reader never sees a half-written entry and a killed job leaves nothing
but a temporary directory that the next run ignores. An entry is never modified after
publication: its files and folders are made read-only, and its ``provenance.json``
records the SHA-256 and size of every other file of the entry, plus the SHA-256 of the
record itself (``record_sha256``, over the canonical JSON of the rest), so that damage
to any file, the record included, is detected (:func:`check_entry`). When two runs
publish the same key, the first rename wins and the second run's copy (identical by
construction) is discarded. Damaged entries are moved to ``<store>/.quarantine/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from biorepro.errors import Refusal
from biorepro.store.hashing import file_digest, settled, stat_stamp, write_cache
from biorepro.store.invocation import Invocation
from biorepro.store.keys import canonical_json, derive_key
from biorepro.store.stages import layout as stage_layout

PROVENANCE = "provenance.json"
TMP_PREFIX = ".tmp-"
QUARANTINE = ".quarantine"


def entry_path(store: str | os.PathLike, stage: str, key: str) -> Path:
    """Path of the entry ``key`` of ``stage`` in ``store``."""
    return Path(os.path.join(store, stage, key))


def is_published(path: str | os.PathLike) -> bool:
    """True when ``path`` is a complete entry (it has its provenance record)."""
    return os.path.isfile(os.path.join(path, PROVENANCE))


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
        remove_tree(tmp)  # read-only when another run published first


def _publish(tmp: Path, final: Path) -> None:
    if not (tmp / PROVENANCE).is_file():
        raise RuntimeError(f"refusing to publish {final}: no {PROVENANCE} was written")
    _fsync_tree(tmp)
    make_read_only(tmp)
    if final.exists() and not is_published(final):
        _set_aside(final)
    try:
        os.rename(tmp, final)
    except OSError:
        if not is_published(final):
            raise


def _set_aside(final: Path) -> None:
    """Remove a folder without provenance (a leftover, or damage) from ``final``.

    It is first renamed atomically, then checked: if another run published its entry
    there meanwhile, that entry is put back (never deleted).
    """
    aside = final.parent / f"{TMP_PREFIX}aside-{final.name}-{uuid.uuid4().hex[:12]}"
    try:
        os.rename(final, aside)
    except OSError:
        return  # moved or replaced by another run
    if is_published(aside):
        try:
            os.rename(aside, final)
            return
        except OSError:
            pass  # yet another copy is in place: this one is a duplicate
    remove_tree(aside)


def make_read_only(root: Path) -> None:
    """Remove every write permission from the files and folders under ``root``."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _drop_write(os.path.join(dirpath, name))
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        _drop_write(dirpath)


def _drop_write(path: str) -> None:
    mode = os.lstat(path).st_mode
    if not stat.S_ISLNK(mode):
        os.chmod(path, stat.S_IMODE(mode) & ~0o222)


def _make_writable(root: Path) -> None:
    """Give the owner write permission on ``root``'s folders again (to move or delete)."""
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, stat.S_IMODE(os.lstat(dirpath).st_mode) | stat.S_IWUSR)


def remove_tree(path: str | os.PathLike) -> None:
    """Delete a (possibly read-only) entry or temporary folder."""
    path = Path(path)
    if path.exists():
        _make_writable(path)
        shutil.rmtree(path, ignore_errors=True)


def quarantine(entry: str | os.PathLike) -> Path:
    """Move a damaged ``<store>/<stage>/<key>`` to ``<store>/.quarantine/<stage>/<key>-<id>``."""
    entry = Path(entry)
    store = entry.parent.parent
    dest = store / QUARANTINE / entry.parent.name / f"{entry.name}-{uuid.uuid4().hex[:8]}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    _make_writable(entry)
    os.rename(entry, dest)
    return dest


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


def file_manifest(entry_dir: str | os.PathLike) -> dict[str, dict]:
    """``{relative posix path: {"sha256", "size"}}`` of every file of an entry but its
    provenance record, sorted by path."""
    root = Path(entry_dir)
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel != PROVENANCE:
                out[rel] = {"sha256": file_digest(path), "size": path.stat().st_size}
    return dict(sorted(out.items()))


def _record_digest(record: dict) -> str:
    """Digest of a record as read back from its JSON, without its own digest."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def write_provenance(
    entry_dir: str | os.PathLike,
    ingredients: dict,
    observed: dict | None = None,
) -> Path:
    """Write ``provenance.json``: the key's ``ingredients``, what was ``observed``, the
    digest of every file of the entry (so call it last) and the record's own digest."""
    record = json.loads(json.dumps({
        "ingredients": ingredients,
        "observed": {**observed_environment(), **(observed or {})},
        "files": file_manifest(entry_dir),
    }, default=str))
    record["record_sha256"] = _record_digest(record)
    path = Path(entry_dir) / PROVENANCE
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def content_digest(entry: str | os.PathLike) -> str:
    """The digest of a published entry's content: of its files' names, sizes and SHA-256
    as its provenance record lists them (not of its ingredients, nor of what was observed
    when it was built). An entry derived from it is keyed by this digest, so that an
    entry rebuilt with the same files leaves its descendants' keys unchanged."""
    files = json.loads((Path(entry) / PROVENANCE).read_text())["files"]
    return hashlib.sha256(canonical_json(files).encode()).hexdigest()


def observed(entry: str | os.PathLike) -> dict:
    """What the provenance record of a published entry says was observed when it was
    built (host, time, e.g. the video's path): for messages, never for computing."""
    return json.loads((Path(entry) / PROVENANCE).read_text()).get("observed", {})


class DamagedEntryError(Refusal, RuntimeError):
    """A published entry whose files do not match its provenance record."""

    def __init__(self, entry: str | os.PathLike, problems: list[str]):
        self.entry, self.problems = str(entry), problems
        super().__init__(
            f"store entry {entry} is damaged: {'; '.join(problems)}. Run "
            f"`{Invocation.current().biorepro('fsck', '--repair')}` (it moves damaged entries "
            "to <store>/.quarantine/), then run again: the entry is rebuilt.")


@dataclass(frozen=True)
class EntryCheck:
    """What :func:`check_entry` found: ``problems`` is empty for an intact entry."""

    path: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def check_entry(entry: str | os.PathLike, *, deep: bool = True,
                verified: VerifiedRecords | None = None) -> EntryCheck:
    """Check a published entry against its provenance record.

    Always: the record parses, its own digest holds, its ingredients hash to the
    entry's key (the folder name) and name its stage (the parent folder), the files it
    lists are those of the stage's layout (:mod:`biorepro.store.layouts`), every listed
    file exists with its size and no other file is there. ``deep`` also compares every
    file's SHA-256 (reads the whole entry). With ``verified`` (and not ``deep``), a
    record already found intact under the same stat of ``provenance.json`` is not read
    again: only the entry's files and their sizes are.
    """
    where = os.path.normpath(entry)
    try:
        st = os.stat(os.path.join(where, PROVENANCE))
    except FileNotFoundError:
        return EntryCheck(where, (f"{PROVENANCE} is missing",))
    except OSError as err:
        return EntryCheck(where, (f"{PROVENANCE} is unreadable ({err})",))
    listed = None if deep or verified is None else verified.sizes(where, st)
    problems: list[str] = []
    if listed is None:
        record, problems = _check_record(where)
        if record is None:
            return EntryCheck(where, tuple(problems))
        listed = {rel: v["size"] for rel, v in record["files"].items()}
        digests = {rel: v["sha256"] for rel, v in record["files"].items()}
        if verified is not None and not problems:
            verified.add(where, st, listed)
    try:
        present = _entry_files(where)
    except OSError as err:
        return EntryCheck(where, (*problems, f"cannot list the entry ({err})"))
    present.pop(PROVENANCE, None)
    for rel in sorted(present.keys() - listed.keys()):
        problems.append(f"unexpected file {rel}")
    for rel, size in listed.items():
        problems += _file_problems(rel, present.get(rel), size, digests[rel] if deep else None)
    return EntryCheck(where, tuple(problems))


def _check_record(where: str) -> tuple[dict | None, list[str]]:
    """(the record, what is wrong with it); the record is None when it cannot be used."""
    key, stage = os.path.basename(where), os.path.basename(os.path.dirname(where))
    try:
        with open(os.path.join(where, PROVENANCE)) as f:
            record = json.loads(f.read())
    except (OSError, ValueError) as err:
        return None, [f"{PROVENANCE} is unreadable ({err})"]
    if not isinstance(record, dict) or "files" not in record or "record_sha256" not in record:
        return None, [f"{PROVENANCE} lists no file digests (written by an older biorepro, or "
                      "edited)"]
    problems = []
    if _record_digest(record) != record["record_sha256"]:
        problems.append(f"{PROVENANCE} was modified after publication")
    ingredients = record.get("ingredients", {})
    if derive_key(ingredients) != key:
        problems.append(f"the ingredients in {PROVENANCE} do not hash to the key {key}")
    elif ingredients.get("stage") != stage:
        problems.append(f"{PROVENANCE} names stage {ingredients.get('stage')!r}, not {stage!r}")
    listed = record["files"]
    if not isinstance(listed, dict) or not all(
            isinstance(v, dict) and "sha256" in v and "size" in v for v in listed.values()):
        return None, [*problems, f"{PROVENANCE} has a malformed file list"]
    layout = stage_layout(stage)
    if layout is not None:
        problems += layout.problems(sorted(listed))
    return record, problems


class VerifiedRecords:
    """Provenance records found intact, by entry, under the stat of the record file
    (``stat_stamp``), kept in ``VERIFIED_CACHE`` (relative to the working directory):
    planning at scale then reads no record it has read before. A record changed less
    than ``RACY_NS`` before it was read is not kept."""

    def __init__(self, path: str | os.PathLike = ".biorepro/cache/verified-records.json"):
        self.path, self.grown = Path(path), False
        try:
            self.known = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        if not isinstance(self.known, dict):
            self.known = {}

    def sizes(self, entry: str, st: os.stat_result) -> dict[str, int] | None:
        """The files and sizes of the intact record of ``entry``, if known for ``st``."""
        hit = self.known.get(entry)
        if isinstance(hit, list) and len(hit) == 2 and hit[0] == stat_stamp(st):
            return hit[1]
        return None

    def add(self, entry: str, st: os.stat_result, sizes: dict[str, int]) -> None:
        """Remember that the record of ``entry`` (stat ``st``) is intact."""
        if settled(st):
            self.known[entry] = [stat_stamp(st), sizes]
            self.grown = True

    def save(self) -> None:
        """Write the cache back (atomically) when it grew; a failure only loses speed."""
        if self.grown:
            write_cache(self.path, self.known)


def _entry_files(entry: str) -> dict[str, str]:
    """``{relative posix path: path}`` of every file and symbolic link under ``entry``
    (linked folders are not entered)."""
    files = {}
    todo = [(entry, "")]
    while todo:
        folder, prefix = todo.pop()
        with os.scandir(folder) as it:
            for item in it:
                if item.is_symlink() or item.is_file():
                    files[prefix + item.name] = item.path
                elif item.is_dir():
                    todo.append((item.path, f"{prefix}{item.name}/"))
    return files


def _file_problems(rel: str, path: str | None, size: int, sha256: str | None) -> list[str]:
    """What is wrong with the entry file ``rel`` (at ``path``, ``None`` when absent): its
    size, and its digest when ``sha256`` is given."""
    if path is None:
        return [f"{rel} is missing"]
    try:
        found = os.stat(path).st_size
        if found != size:
            return [f"{rel} has {found} bytes, {size} recorded"]
        if sha256 is not None and file_digest(path) != sha256:
            return [f"{rel} has other content than recorded (SHA-256 differs)"]
    except OSError as err:
        return [f"{rel} is unreadable ({err.strerror or err})"]
    return []


class EntryGone(Refusal, FileNotFoundError):
    """A store entry a job reads is no longer in the store."""


def require_published(entry: str | os.PathLike) -> None:
    """Raise :class:`EntryGone` unless ``entry`` is in the store (whole or damaged)."""
    if not Path(entry).is_dir():
        raise EntryGone(f"store entry {entry} is no longer in the store (removed after the "
                        "workflow was planned, e.g. by gc or fsck --repair); run the workflow "
                        "again: it is rebuilt")


def verify_entry(entry: str | os.PathLike) -> None:
    """Raise :class:`DamagedEntryError` unless ``entry`` is published and intact
    (every file's digest checked): what a job calls on the entries it reads."""
    require_published(entry)
    check = check_entry(entry, deep=True)
    if not check.ok:
        raise DamagedEntryError(entry, list(check.problems))
