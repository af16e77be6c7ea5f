"""Fingerprints of the code a stage runs, found from the code itself.

A stage names its job module. The fingerprint covers that module and every
``biorepro`` module it imports, transitively (found by parsing ``import`` statements,
not from a hand-kept list). Each module contributes the dump of its syntax tree reduced
to what computes (:func:`computation`): comments, formatting, docstrings, log and console
lines, the text of raised errors, ``doc=`` descriptions and ``__version__`` are left out,
so editing them reruns nothing, while any change to what the code does does.
Third-party packages imported by those modules are reported with their installed
versions, which also enter keys. Modules that never decide what an entry's files hold
(``NOT_FINGERPRINTED``) are left out, with what only they import.

Both are cached across processes in ``CACHE`` (relative to the working directory), and
a cached answer is only ever given for exactly what it was computed from: a module's
digest and imports under its file's path, size, mtime, ctime and inode and the Python
version (whose ``ast`` made the dump); the distributions providing a top-level module,
and their versions, under the identity (path, size, mtime, ctime, inode) of every
installed distribution's metadata folder and of the files in it, in ``sys.path`` order.
Nothing changed less than ``RACY_NS`` before it is read is cached (an edit within the
same timestamp tick could leave a stat unchanged). The cache is written atomically and
only when it grew; a working directory that cannot hold it only loses the speed-up.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from biorepro.store.hashing import settled, stat_stamp, write_cache

PACKAGE = "biorepro"
CACHE = Path(".biorepro") / "cache" / "fingerprint.json"

# Modules kept out of every fingerprint (and whose imports are not followed): they
# decide how a job logs and how its entry is staged, published, recorded and checked,
# never what the entry's files hold. Deliberately short; tests/test_house.py checks that
# none of them imports a stage's computation.
NOT_FINGERPRINTED = {
    "biorepro.joblog": "progress and log lines",
    "biorepro.errors": "the refusal's type: how an error is shown",
    "biorepro.store.entries": "staging, atomic publication, provenance records, checks",
    "biorepro.store.hashing": "digests of files and caches of them (inputs' identity)",
    "biorepro.store.fingerprint": "code fingerprints (the code ingredient itself)",
    "biorepro.store.layouts": "the files of every stage's entries: each stage's key takes "
                              "its own layout instead (biorepro.plan.stage_code)",
    "biorepro.jobs.run": "the job adapter: inputs verified, entry published, receipt",
    "biorepro.train.device": "which device a job uses and its record (the platform is "
                             "provenance, compared by verify)",
    "biorepro.train.backend": "which framework builds are installed, what they see",
    "biorepro.train.kernels": "a check that refuses ops without a deterministic kernel",
}


@dataclass(frozen=True)
class CodeFingerprint:
    """The digest of a stage's code, per module, and the packages that code imports."""

    digest: str
    parts: tuple[tuple[str, str], ...]     # (module, its digest), sorted
    packages: tuple[tuple[str, str], ...]  # (distribution, version), sorted

    def as_dict(self) -> dict:
        """The ``code`` ingredient: the overall digest and one digest per part, so that
        ``biorepro status`` can name the module whose change makes an entry rerun."""
        return {"digest": self.digest, "parts": dict(self.parts)}

    def versions(self) -> dict[str, str]:
        """The ``versions`` ingredient: ``{distribution: version}``."""
        return dict(self.packages)


PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _file_in(folder: Path, name: str) -> Path | None:
    """Source file of module ``name`` (dotted) under ``folder``, found without importing."""
    if not name:
        return None
    rel = Path(*name.split("."))
    for candidate in (folder / rel / "__init__.py", folder / rel.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _own_file(name: str) -> Path | None:
    """Source file of ``biorepro`` module ``name``."""
    if not (name == PACKAGE or name.startswith(PACKAGE + ".")):
        return None
    return _file_in(PACKAGE_DIR.parent, name)


LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def _is_text_output(node: ast.stmt) -> bool:
    """A statement that only writes text for people: ``log(...)`` (a job's log),
    ``<logger>.<level>(...)``, ``warnings.warn(...)``, ``print(...)`` to the console."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    f, call = node.value.func, node.value
    if isinstance(f, ast.Name):
        if f.id == "print":
            to = next((k.value for k in call.keywords if k.arg == "file"), None)
            return to is None or ast.unparse(to) in ("sys.stderr", "sys.stdout")
        return f.id == "log"
    return isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (
        f.attr in LOG_METHODS or (f.value.id, f.attr) == ("warnings", "warn"))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


class _Computation(ast.NodeTransformer):
    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = [s for i, s in enumerate(body) if not _is_text_output(s) and not (
                    i == 0 and name == "body" and _is_docstring(s) and isinstance(
                        node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                               ast.AsyncFunctionDef)))]
                setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
        return node

    def visit_Raise(self, node: ast.Raise) -> ast.Raise:
        for sub in ast.walk(node):  # the error's text: its type and structure stay
            if isinstance(sub, ast.Call):
                sub.args = [ast.Constant("") if isinstance(a, (ast.Constant, ast.JoinedStr))
                            and not isinstance(getattr(a, "value", ""), (int, float))
                            else a for a in sub.args]
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.keyword | None:
        return None if node.arg == "doc" else self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> ast.Assign | None:
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return None if names == ["__version__"] else self.generic_visit(node)


def computation(tree: ast.AST) -> ast.AST:
    """``tree`` without what only speaks to people: docstrings, statements that only
    write text (:func:`_is_text_output`), the text arguments of raised errors, ``doc=``
    keyword arguments (descriptions, e.g. of a layout's files) and the ``__version__``
    assignment. What is left computes (a log line's f-string arguments are dropped with
    it: they must not have side effects)."""
    return _Computation().visit(tree)


def _parse_source(path: Path, name: str, is_package: bool) -> tuple[str, frozenset[str]]:
    """(digest of the normalised tree dump, imported module names) of the Python file
    ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imports: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(name, is_package, node)
            imports.add(base)
            imports.update(f"{base}.{alias.name}" for alias in node.names)
    dump = ast.dump(computation(tree))
    return hashlib.sha256(dump.encode()).hexdigest()[:16], frozenset(imports)


def _resolve_from(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


# The cache holds what this module's code computed: another version of it starts afresh.
_OWN_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


class _DiskCache:
    """The cache file's content, read once per process; ``save`` writes it back when
    something was added."""

    def __init__(self, path: Path):
        self.path = path
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = None
        if not (isinstance(data, dict) and data.get("python") == sys.version
                and data.get("code") == _OWN_CODE and isinstance(data.get("modules"), dict)
                and isinstance(data.get("packages"), dict)):
            data = {"modules": {}, "environment": None, "packages": {}}
        self.modules: dict[str, list] = data["modules"]
        self.environment: str | None = data["environment"]
        self.packages: dict[str, dict[str, str]] = data["packages"]
        self.grown = False

    def save(self) -> None:
        if not self.grown:
            return
        self.grown = False
        write_cache(self.path, {"python": sys.version, "code": _OWN_CODE,
                                "modules": self.modules, "environment": self.environment,
                                "packages": self.packages})


@functools.lru_cache(maxsize=1)
def _disk_cache() -> _DiskCache:
    return _DiskCache(CACHE)


def _module(path: Path, name: str, is_package: bool) -> tuple[str, frozenset[str]]:
    """:func:`_parse_source` of ``path``, from the cache while the file's stat is the one
    recorded (stat first, then read: an edit in between is seen next time)."""
    st = os.stat(path)
    key = f"{name}:{path}"
    cache = _disk_cache()
    hit = cache.modules.get(key)
    if isinstance(hit, list) and len(hit) == 3 and hit[0] == stat_stamp(st):
        return hit[1], frozenset(hit[2])
    digest, imports = _parse_source(path, name, is_package)
    if settled(st):
        cache.modules[key] = [stat_stamp(st), digest, sorted(imports)]
        cache.grown = True
    return digest, imports


@functools.cache
def _parse(name: str, path: Path) -> tuple[str, frozenset[str]]:
    return _module(path, name, path.name == "__init__.py")


def _closure(roots, locate) -> CodeFingerprint:
    """Fingerprint of modules ``roots``, of the modules they import that ``locate(name)``
    finds a file for (transitively, with the packages holding them, whose ``__init__``
    runs on import; ``NOT_FINGERPRINTED`` left out), and the versions of the third-party
    packages they import."""
    seen: dict[str, Path] = {}
    third_party: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name in NOT_FINGERPRINTED:
            continue
        path = locate(name)
        if path is None:
            top = name.split(".")[0]
            if top and top != PACKAGE and top not in sys.stdlib_module_names:
                third_party.add(top)
            continue
        seen[name] = path
        todo.extend(_parse(name, path)[1])
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    ordered = tuple(sorted((name, _parse(name, path)[0]) for name, path in seen.items()))
    digest = hashlib.sha256("".join(f"{n}:{d}\n" for n, d in ordered).encode()).hexdigest()
    packages = _versions(third_party)
    _disk_cache().save()
    return CodeFingerprint(digest, ordered, packages)


@functools.cache
def code_fingerprint(*roots: str) -> CodeFingerprint:
    """Fingerprint of the ``biorepro`` modules ``roots`` (``biorepro.jobs.train``) and
    their transitive ``biorepro`` imports."""
    return _closure(roots, _own_file)


def file_fingerprint(path: str | os.PathLike) -> CodeFingerprint:
    """Fingerprint of a user's Python file, of the modules of its folder it imports
    (found in that folder as an import would, with the folder first on ``sys.path``)
    and of the ``biorepro`` modules it imports; modules are named as imported (the
    file by its stem)."""
    path = Path(path).resolve()
    folder = path.parent

    def locate(name: str) -> Path | None:
        if name == path.stem:
            return path
        return _file_in(folder, name) or _own_file(name)

    return _closure([path.stem], locate)


def _versions(top_level_modules: set[str]) -> tuple[tuple[str, str], ...]:
    """(distribution, version) of every installed distribution providing one of
    ``top_level_modules``, from the cache while the installed metadata is unchanged."""
    cache = _disk_cache()
    environment = _environment()
    if environment is None or environment != cache.environment:
        cache.environment, cache.packages = environment, {}
    for module in sorted(top_level_modules - cache.packages.keys()):
        found = {}
        for dist in _distributions_by_module().get(module, ()):
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        cache.packages[module] = found
        cache.grown = cache.grown or environment is not None
    found = {}
    for module in top_level_modules:
        found.update(cache.packages[module])
    return tuple(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def _environment() -> str | None:
    """Digest of the identity of every installed distribution's metadata folder and of
    the files in it, in the order ``importlib.metadata`` finds them; None when one is not
    a folder on disk or changed less than ``RACY_NS`` ago (then nothing is cached)."""
    h = hashlib.sha256()
    for dist in importlib.metadata.distributions():
        folder = getattr(dist, "_path", None)
        try:
            stats = [(str(folder), os.stat(folder))]
            stats += sorted((e.path, e.stat()) for e in os.scandir(folder))
        except (OSError, TypeError):
            return None
        for path, st in stats:
            if not settled(st):
                return None
            h.update(f"{path}\0{stat_stamp(st)}\n".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _distributions_by_module() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()
