"""Roots of a store: who still uses which entries, so that gc removes only what no one does.

As Nix's garbage-collector roots. A root is one JSON file, ``<store>/.roots/<id>.json``,
listing store entries (stage, key, what) to keep, with who recorded it, where and when:

- ``config``: a configuration run on the store, i.e. its working directory and config
  files (absolute) and ``--config`` overrides. It is recorded when a run starts (not by a
  dry run) and holds every entry of that configuration's plan; a later run of the same
  configuration in the same working directory replaces it, so it is also what the
  configuration used last (``biorepro status`` compares with it).
- ``view``: a published ``results/<name>/`` folder and the closure of the entry it shows.

A root is *live* while its working directory (config) or its folder, still showing its
entry (view), exists; ``gc --older-than`` also ages out roots recorded before a date.
Roots of several users and working directories live side by side (their ids differ);
each file is written under a temporary name and renamed, so a reader never sees half of
one and concurrent runs never clash.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from biorepro.store.view import VIEW_MARKER

ROOTS = ".roots"


@dataclass(frozen=True)
class Root:
    """A recorded root: ``kind`` (config or view), ``path`` (the working directory or the
    view folder), the ``entries`` it keeps as (stage, key, what), and its record."""

    id: str
    kind: str
    path: str
    entries: tuple[tuple[str, str, str], ...]
    configfiles: tuple[str, ...] = ()
    overrides: str = ""
    shows: str = ""  # a view root: the store entry the view shows
    # a config root: what its last run's jobs did, (stage, key, what, outcome) with the
    # outcome of biorepro.store.receipts (built, cut off, found)
    ran: tuple[tuple[str, str, str, str], ...] = ()
    user: str = ""
    host: str = ""
    time: float = 0.0

    def dead_because(self, older_than: float | None = None) -> str | None:
        """Why this root no longer protects its entries (None while it is live);
        ``older_than`` is a time (seconds since the epoch) before which roots expire."""
        if older_than is not None and self.time < older_than:
            return f"recorded {describe_time(self.time)}, before the --older-than limit"
        if not Path(self.path).is_dir():
            return f"{self.path} no longer exists"
        if self.kind == "view":
            marker = Path(self.path) / VIEW_MARKER
            shown = marker.read_text().strip() if marker.is_file() else ""
            if shown != self.shows:
                return f"{self.path} now shows another entry"
        return None

    def describe(self) -> str:
        """One line: kind, where, who and when, how many entries."""
        what = (f"configuration {', '.join(self.configfiles) or '(defaults)'}"
                + (f" --config {self.overrides}" if self.overrides not in ("", "{}") else "")
                + f" in {self.path}") if self.kind == "config" else f"results view {self.path}"
        return (f"{what} (run by {self.user}@{self.host}, {describe_time(self.time)}; "
                f"{len(self.entries)} entries)")


def describe_time(t: float) -> str:
    """``t`` (seconds since the epoch) as local ISO date and time."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def plain(value):
    """``value`` with every mapping (Snakemake's immutable ones too) as a dict."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def config_identity(workdir: str | os.PathLike, configfiles: list[str],
                    overrides: dict | None) -> dict:
    """What names a configuration: its working directory and config files as absolute
    paths (in the order given) and its ``--config`` overrides."""
    workdir = Path(workdir).resolve()
    return {"workdir": str(workdir),
            "configfiles": [str((workdir / f).resolve()) for f in configfiles],
            "overrides": json.dumps(overrides or {}, sort_keys=True)}


def _id(kind: str, identity: dict) -> str:
    text = json.dumps({"kind": kind, **identity}, sort_keys=True)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _write(store: str | os.PathLike, root: Root) -> Path:
    folder = Path(store) / ROOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{root.id}.json"
    tmp = folder / f".{root.id}.{uuid.uuid4().hex[:12]}.tmp"
    record = {**root.__dict__, "entries": [list(e) for e in root.entries],
              "configfiles": list(root.configfiles), "ran": [list(r) for r in root.ran]}
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def _who() -> dict:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "time": time.time()}


def record_config(store: str | os.PathLike, identity: dict,
                  entries: list[tuple[str, str, str]],
                  ran: list[tuple[str, str, str, str]] = ()) -> Path:
    """Record (or replace) the root of the configuration ``identity``
    (:func:`config_identity`) keeping ``entries``; ``ran``: what its run's jobs did."""
    root = Root(_id("config", identity), "config", identity["workdir"],
                tuple(tuple(e) for e in entries), tuple(identity["configfiles"]),
                identity["overrides"], ran=tuple(tuple(r) for r in ran), **_who())
    return _write(store, root)


def record_view(store: str | os.PathLike, view: str | os.PathLike, shows: str,
                entries: list[tuple[str, str, str]]) -> Path:
    """Record (or replace) the root of the results view folder ``view``, which shows the
    store entry ``shows`` (its path, as the view's marker names it), keeping ``entries``."""
    path = str(Path(view).resolve())
    root = Root(_id("view", {"path": path}), "view", path, tuple(tuple(e) for e in entries),
                shows=shows, **_who())
    return _write(store, root)


def load(store: str | os.PathLike) -> list[Root]:
    """Every root of ``store``, oldest first; an unreadable root file is an error naming
    it (never silently dropped: its entries would be collected)."""
    folder = Path(store) / ROOTS
    roots = []
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(f.read_text())
            data["entries"] = tuple(tuple(e) for e in data["entries"])
            data["configfiles"] = tuple(data.get("configfiles", ()))
            data["ran"] = tuple(tuple(r) for r in data.get("ran", ()))
            roots.append(Root(**data))
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise ValueError(f"store root {f} cannot be read ({err}): fix or delete it "
                             "before collecting garbage") from None
    return sorted(roots, key=lambda r: r.time)


def find_config(store: str | os.PathLike, identity: dict) -> Root | None:
    """The root of the configuration ``identity``, if it ever ran on ``store``."""
    wanted = _id("config", identity)
    return next((r for r in load(store) if r.id == wanted), None)


def forget(store: str | os.PathLike, dead: list[Root]) -> None:
    """Delete the files of ``dead`` roots (after gc removed what only they kept)."""
    for root in dead:
        (Path(store) / ROOTS / f"{root.id}.json").unlink(missing_ok=True)
