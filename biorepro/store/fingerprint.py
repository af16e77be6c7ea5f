"""Fingerprints of the code a stage runs, found from the code itself.

A stage names its entry module(s). The fingerprint covers that module and every
``biorepro`` module it imports, transitively (found by parsing ``import`` statements,
not from a hand-kept list). Each module contributes the dump of its syntax tree with
docstrings removed, so comments, formatting and docstring edits do not invalidate the
store while any change to what the code does does. Third-party packages imported by
those modules are reported with their installed versions, which also enter keys.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "biorepro"


@dataclass(frozen=True)
class CodeFingerprint:
    digest: str
    parts: tuple[tuple[str, str], ...]     # (module or script file, its digest), sorted
    packages: tuple[tuple[str, str], ...]  # (distribution, version), sorted

    def as_dict(self) -> dict:
        """The ``code`` ingredient: the overall digest and one digest per part, so that
        ``biorepro status`` can name the module whose change makes an entry rerun."""
        return {"digest": self.digest, "parts": dict(self.parts)}

    def versions(self) -> dict[str, str]:
        return dict(self.packages)


PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _own_file(name: str) -> Path | None:
    """Source file of ``biorepro`` module ``name``, found on disk without importing it."""
    if not (name == PACKAGE or name.startswith(PACKAGE + ".")):
        return None
    parts = name.split(".")[1:]
    if not parts:
        return PACKAGE_DIR / "__init__.py"
    rel = Path(*parts)
    for candidate in (PACKAGE_DIR / rel / "__init__.py", PACKAGE_DIR / rel.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _parse_source(path: Path, name: str, is_package: bool) -> tuple[str, frozenset[str]]:
    """(normalised tree dump, imported module names) of the Python file ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imports: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(name, is_package, node)
            imports.add(base)
            imports.update(f"{base}.{alias.name}" for alias in node.names)
    return ast.dump(_strip_docstrings(tree)), frozenset(imports)


@functools.lru_cache(maxsize=None)
def _parse(name: str) -> tuple[str, frozenset[str]]:
    path = _own_file(name)
    if path is None:
        raise ModuleNotFoundError(f"cannot find module {name!r} to fingerprint")
    return _parse_source(path, name, path.name == "__init__.py")


def _resolve_from(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


@functools.lru_cache(maxsize=None)
def code_fingerprint(*roots: str) -> CodeFingerprint:
    """Fingerprint of ``roots`` and their transitive ``biorepro`` imports.

    A root is a module name (``biorepro.jobs.train``) or the path of a Python file
    (a stage's thin Snakemake script), whose imports are followed the same way.
    """
    seen: set[str] = set()
    third_party: set[str] = set()
    dumps: dict[str, str] = {}
    todo: list[str] = []
    for root in roots:
        if root.endswith(".py"):
            dumps[Path(root).name], imports = _parse_source(Path(root), "__script__", False)
            todo.extend(imports)
        else:
            todo.append(root)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if _own_file(name) is None:
            top = name.split(".")[0]
            if top and top != PACKAGE and top not in sys.stdlib_module_names:
                third_party.add(top)
            continue
        seen.add(name)
        todo.extend(_parse(name)[1])
    dumps.update((name, _parse(name)[0]) for name in seen)
    parts = tuple(sorted((name, hashlib.sha256(dump.encode()).hexdigest()[:16])
                         for name, dump in dumps.items()))
    digest = hashlib.sha256("".join(f"{n}:{d}\n" for n, d in parts).encode()).hexdigest()
    return CodeFingerprint(digest, parts, _versions(third_party))


def _versions(top_level_modules: set[str]) -> tuple[tuple[str, str], ...]:
    dists = _distributions_by_module()
    found: dict[str, str] = {}
    for module in top_level_modules:
        for dist in dists.get(module, ()):
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    return tuple(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def _distributions_by_module() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()
