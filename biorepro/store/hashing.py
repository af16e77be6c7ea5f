"""Content digests of source files, with a persistent stat cache.

A file's digest is the SHA-256 of its bytes. Reading every video at every workflow
start would be slow, so digests are cached in SQLite under the file's
``(path, size, mtime_ns, inode)``: an unchanged stat means the cached digest is
reused; any change (even a ``touch``) re-reads the file, and the digest, not the stat,
is what keys depend on. Several processes may share one cache file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of the bytes of ``path``."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class StatCache:
    """Digest cache keyed by absolute path and validated by the file's stat."""

    def __init__(self, db_path: str | os.PathLike):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.db_path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS digests (path TEXT PRIMARY KEY, size INTEGER,"
            " mtime_ns INTEGER, inode INTEGER, digest TEXT)"
        )
        self._pending: list[tuple] = []

    def digest(self, path: str | os.PathLike) -> str:
        """Digest of ``path``, read from the cache when its stat is unchanged."""
        apath = os.path.abspath(path)
        st = os.stat(apath)
        row = self._db.execute(
            "SELECT size, mtime_ns, inode, digest FROM digests WHERE path = ?", (apath,)
        ).fetchone()
        if row is not None and tuple(row[:3]) == (st.st_size, st.st_mtime_ns, st.st_ino):
            return row[3]
        digest = file_digest(apath)
        self._pending.append((apath, st.st_size, st.st_mtime_ns, st.st_ino, digest))
        return digest

    def digests(self, paths) -> dict[str, str]:
        """Digests of many files (one transaction for all new rows)."""
        try:
            return {str(p): self.digest(p) for p in paths}
        finally:
            self.flush()

    def flush(self) -> None:
        """Write the digests computed since the last flush to the database (one transaction)."""
        if self._pending:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", self._pending
                )
            self._pending.clear()

    def close(self) -> None:
        """Flush, then close the database; the cache is unusable afterwards."""
        self.flush()
        self._db.close()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# A cached answer is only given for a file's exact stat; nothing changed less than this
# before it is read is cached (an edit within one timestamp tick could keep its stat).
RACY_NS = 2_000_000_000


def stat_stamp(st: os.stat_result) -> list[int]:
    """The identity of a file's content as its stat shows it: size, mtime, ctime, inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def settled(st: os.stat_result) -> bool:
    """Whether the file's last change is at least ``RACY_NS`` old (safe to cache)."""
    return time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) >= RACY_NS


def write_cache(path: str | os.PathLike, value) -> None:
    """Write a cache file as JSON, atomically; a folder that cannot hold it only costs
    the speed-up (the error is not raised)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.time_ns()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(value))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
