"""``biorepro archive``: one deterministic ``.tar.gz`` from which a reviewer reruns a paper.

Layout (every member under one folder named after the archive, ``paper/`` for
``paper.tar.gz``)::

    REPRODUCE.md            the commands: install, ``biorepro reproduce``, or by hand
    biorepro-archive.json   the manifest (``FORMAT``): config files, experiments and
                            datasets, environment, and every entry of the results' closure
                            (stage, key, what, roles, the SHA-256 and size of each file as
                            its provenance records; a metrics entry's ``metrics.json``)
    config.merged.yaml      the validated configuration (defaults filled in)
    configfiles/<name>      the ``--configfile`` files as given
    requirements.lock       pinned packages (requirements-gpu.lock: their CUDA builds)
    Snakefile rules/ scripts/ report/ biorepro/ config/ profiles/ envs/ pyproject.toml
    Makefile README.md      the workflow and library (``SOURCES``)
    results/<experiment>/   the results views as files (``results/comparisons/`` too)

Sources come from the project holding the imported ``biorepro`` package: in a git
checkout the files git tracks or would track (ignored ones, such as ``.venv``, never),
as they are on disk; elsewhere every file under ``SOURCES`` but ``__pycache__``. The
store, the videos and everything else stay out.

Same inputs, same bytes: members sorted by name, mtime 0, uid/gid 0 with no owner
names, modes 0644 (0755 for executables), no folder members, GNU tar format, and a
gzip header with mtime 0 and no file name.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import platform
import re
import subprocess
import tarfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

from biorepro import config as cfg
from biorepro.plan import Plan
from biorepro.store.invocation import Invocation
from biorepro.store.layouts import METRICS
from biorepro.store.stages import NAMES

FORMAT = "biorepro-archive/1"
MANIFEST = "biorepro-archive.json"
INSTRUCTIONS = "REPRODUCE.md"
MERGED_CONFIG = "config.merged.yaml"
CONFIGFILES = "configfiles"
LOCK = "requirements.lock"
PROJECT = Path(__file__).resolve().parent.parent  # the tree the library is imported from
SOURCES = ("Snakefile", "rules", "scripts", "report", "biorepro", "config", "profiles",
           "envs", "pyproject.toml", "Makefile", "README.md", LOCK, "requirements-gpu.lock")
VIEW_SKIP = (".snakemake_timestamp",)  # Snakemake's marker in an output folder


class ArchiveError(ValueError):
    """The results cannot be archived, or a file is no biorepro archive."""


@dataclass(frozen=True)
class Member:
    """One file of the archive: its path inside the archive's folder and its bytes
    (``data``) or the file holding them (``source``)."""

    name: str
    source: Path | None = None
    data: bytes | None = None

    def payload(self) -> tuple[int, io.BufferedIOBase, bool]:
        """(size, readable stream, whether executable)."""
        if self.data is not None:
            return len(self.data), io.BytesIO(self.data), False
        st = os.stat(self.source)
        return st.st_size, open(self.source, "rb"), bool(st.st_mode & 0o100)


def _git(root: Path, *args: str) -> str | None:
    """The output of ``git args`` in the checkout whose top is ``root`` (``None`` when
    ``root`` is no checkout's top, or git is not there)."""
    def run(*cmd: str) -> str:
        return subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True,
                              check=True).stdout

    try:
        if Path(run("rev-parse", "--show-toplevel").strip()).resolve() != root.resolve():
            return None
        return run(*args)
    except (OSError, subprocess.CalledProcessError):
        return None


def source_files(root: Path = PROJECT) -> list[str]:
    """The workflow and library files of ``root`` (relative POSIX paths, sorted): those
    git tracks or would track when ``root`` is a git checkout's top, else those on disk."""
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                  "--", *SOURCES)
    if listed is not None:
        files = {f for f in listed.split("\0") if f and (root / f).is_file()}
    else:
        files = set()
        for name in SOURCES:
            path = root / name
            if path.is_file():
                files.add(name)
            for dirpath, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                files |= {(Path(dirpath) / n).relative_to(root).as_posix() for n in names
                          if not n.endswith(".pyc")}
    return sorted(files)


def entry_roles(plan: Plan) -> dict[tuple[str, str], list[str]]:
    """``{(stage, key): roles}``: what each entry is for, named independently of keys
    (``<experiment>: seed 0 video``), so that entries of two runs whose keys differ can
    be matched."""
    roles: dict[tuple[str, str], list[str]] = {}

    def add(e, role):
        roles.setdefault((e.stage, e.key), []).append(role)

    for name, exp in plan.experiments.items():
        for video_id, e in exp.frames.items():
            add(e, f"{name}: video {video_id}")
        for fold in exp.folds:
            add(exp.split[fold], f"{name}: split, fold {fold}")
            add(exp.tensors[fold], f"{name}: tensors, fold {fold}")
        for split_seed, (splits, tensors) in exp.split_seeds.items():
            for fold in exp.folds:
                add(splits[fold], f"{name}: split, fold {fold}, split seed {split_seed}")
                add(tensors[fold], f"{name}: tensors, fold {fold}, split seed {split_seed}")
        for (fold, seed), e in exp.train.items():
            add(e, f"{name}: fold {fold} seed {seed}")
        for (fold, seed, level), e in exp.metrics.items():
            add(e, f"{name}: fold {fold} seed {seed} {level}")
        for (target, fold, seed), e in exp.cross.items():
            add(e, f"{name}: {target}, fold {fold} seed {seed}")
            tensors = e.deps["tensors"]
            split = tensors.deps["split"]
            if (tensors.stage, tensors.key) not in roles:
                add(tensors, f"{name}: {target}, tensors")
                add(split, f"{name}: {target}, split")
                for video_id, f in split.deps["frames"].items():
                    add(f, f"{name}: {target}, video {video_id}")
        for (target, fold, seed, level), e in exp.cross_metrics.items():
            add(e, f"{name}: {target}, fold {fold} seed {seed} {level}")
        add(exp.summary, f"{name}: summary")
    if plan.compare is not None:
        add(plan.compare, "comparison")
    return roles


def entries_manifest(plan: Plan) -> list[dict]:
    """One record per entry of the plan, sorted by stage (data-flow order) and key:
    ``stage``, ``key``, ``what``, ``roles``, ``files`` (``{path: {"sha256", "size"}}``
    from its provenance) and, for metrics entries, ``metrics`` (its ``metrics.json``).

    Refuses (:class:`ArchiveError`) a plan with entries missing from the store or
    damaged (checked as ``biorepro status`` does: names, sizes, records)."""
    missing = plan.missing()
    if missing:
        shown = "\n".join(f"  {e.stage}/{e.key or '(key not known yet)'} ({e.what})"
                          for e in missing[:5])
        raise ArchiveError(
            f"{len(missing)} entries of the results are not in the store {plan.store}, e.g.\n"
            f"{shown}\nrun the workflow first "
            f"(`{Invocation.current().snakemake('--cores', 'all')}`), then archive")
    damaged = plan.damaged()
    if damaged:
        raise ArchiveError(
            f"{len(damaged)} entries of the results are damaged:\n" + "\n".join(
                f"  {c.path}: {'; '.join(c.problems)}" for c in damaged)
            + f"\nrun `{Invocation.current().biorepro('fsck', '--repair')}`, then the workflow "
            "(they are rebuilt), then archive")
    roles = entry_roles(plan)
    order = {stage: i for i, stage in enumerate(NAMES)}
    out = []
    for e in sorted(plan.entries(), key=lambda e: (order[e.stage], e.key)):
        record = json.loads((Path(e.path) / "provenance.json").read_text())
        item = {"stage": e.stage, "key": e.key, "what": e.what,
                "roles": roles[(e.stage, e.key)], "files": record["files"]}
        if e.stage == "metrics":
            item["metrics"] = _finite(json.loads((Path(e.path) / METRICS.metrics()).read_text()))
        out.append(item)
    return out


def _finite(values: dict) -> dict:
    """``values`` with NaN and infinities as ``None`` (JSON has no such numbers)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in values.items()}


def view_members(plan: Plan, results: str | os.PathLike) -> list[Member]:
    """The files of every results view (``results/<experiment>/``, ``results/comparisons/``)
    that the plan publishes, read through any link; refuses a view that is missing or
    shows another entry than the plan's."""
    views = {name: exp.summary for name, exp in plan.experiments.items()}
    if plan.compare is not None:
        views["comparisons"] = plan.compare
    members = []
    for name, e in views.items():
        folder = Path(results) / name
        try:
            shown = (folder / "STORE_ENTRY").read_text().strip()
        except OSError:
            shown = None
        if shown != os.path.realpath(e.path):
            raise ArchiveError(
                f"{folder}/ does not show the entry the configuration plans ({e.path}): "
                "run the workflow (`snakemake --cores N` with the same --configfile "
                "options) to refresh it, then archive")
        for dirpath, _dirs, names in os.walk(folder, followlinks=True):
            for n in names:
                if n not in VIEW_SKIP:
                    path = Path(dirpath) / n
                    rel = path.relative_to(folder).as_posix()
                    members.append(Member(f"results/{name}/{rel}", source=path))
    return members


def configfile_names(configfiles: list[str]) -> list[str]:
    """Where each ``--configfile`` goes in the archive: ``configfiles/<file name>``
    (``configfiles/<i>-<file name>`` when two files share a name)."""
    names = [Path(c).name for c in configfiles]
    return [f"{CONFIGFILES}/{n}" if names.count(n) == 1 else f"{CONFIGFILES}/{i}-{n}"
            for i, n in enumerate(names, 1)]


def installed_packages(lock: str) -> dict[str, str]:
    """``{name: installed version}`` of the packages that the lock file text pins
    (``None`` for one not installed)."""
    out = {}
    for line in lock.splitlines():
        name = re.match(r"[A-Za-z0-9_.-]*", line.strip()).group()
        if name:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                out[name] = None
    return out


def _git_state(root: Path) -> dict | None:
    """The commit of ``root``'s checkout and whether its sources differ from it."""
    commit = _git(root, "rev-parse", "HEAD")
    changes = _git(root, "status", "--porcelain", "--", *SOURCES)
    if commit is None or changes is None:
        return None
    return {"commit": commit.strip(), "uncommitted_changes": bool(changes.strip())}


def build_manifest(plan: Plan, configfiles: list[str], lock: str,
                   root: Path = PROJECT) -> dict:
    """The archive's manifest (see the module docstring)."""
    experiments = {name: {"dataset": exp.config["dataset"],
                          "cross": exp.config["evaluate"]["cross"],
                          "results": exp.config["results"]}
                   for name, exp in plan.experiments.items()}
    return {
        "format": FORMAT,
        "configfiles": [{"given": str(c), "archived": a}
                        for c, a in zip(configfiles, configfile_names(configfiles))],
        "experiments": experiments,
        "git": _git_state(root),
        "python": platform.python_version(),
        "packages": installed_packages(lock),
        "entries": entries_manifest(plan),
    }


def archived_locations(manifest: dict) -> list[tuple[str, str, str, str]]:
    """``(experiment, config key, dataset kind, path)`` of every dataset folder or file the
    archived experiments read (:func:`biorepro.config.data_locations`)."""
    return [(name, *location) for name, exp in manifest["experiments"].items()
            for location in cfg.data_locations(cfg.validate(
                {"dataset": exp["dataset"], "evaluate": {"cross": exp.get("cross", [])}}))]


def instructions(manifest: dict, archive_name: str) -> str:
    """``REPRODUCE.md``: how to rerun the archived workflow and compare."""
    configs = " ".join(c["archived"] for c in manifest["configfiles"])
    cf = f" --configfile {configs}" if configs else ""
    locations = archived_locations(manifest)
    kinds = {kind for _, _, kind, _ in locations}
    synthetic = kinds == {"synthetic"}
    outside = {path: key for _, key, kind, path in locations if kind != "synthetic"}
    data = "".join(f" --data-root {path}=/path/to/your/copy" for path in outside) \
        if len(outside) > 1 else " --data-root /path/to/the/dataset" if outside else ""
    counts: dict[str, int] = {}
    for e in manifest["entries"]:
        counts[e["stage"]] = counts.get(e["stage"], 0) + 1
    lines = [
        "# Reproducing these results",
        "",
        f"Experiments: {', '.join(manifest['experiments'])}. The manifest "
        f"`{MANIFEST}` lists {len(manifest['entries'])} store entries "
        f"({', '.join(f'{n} {s}' for s, n in counts.items())}) with the SHA-256 of every "
        "file; `results/` holds the results as published.",
        "",
        "## 1. Install (Python " + manifest["python"].rsplit(".", 1)[0] + ")",
        "",
        "```sh",
        f"tar xzf {archive_name} && cd {archive_name.removesuffix('.tar.gz')}",
        "python3 -m venv .venv",
        f".venv/bin/python -m pip install -r {LOCK}",
        ".venv/bin/python -m pip install --no-deps -e .",
        'export PATH="$PWD/.venv/bin:$PATH"',
        "```",
        "",
        "## 2. Rerun and compare, in one command",
        "",
        "```sh",
        f"biorepro reproduce ../{archive_name}{data} --cores all",
        "```",
        "",
        "It unpacks the archive into a new folder, runs this workflow with this library "
        "on a fresh store there" + (", regenerating the synthetic dataset"
                                    if synthetic else "")
        + ", and compares every entry with the manifest: `reproduce-report.md` / `.json` "
        "there; exit status 0 when every file is bit-identical.",
        "",
        "## Or by hand, in this folder",
        "",
        "```sh",
    ]
    if "synthetic" in kinds:
        lines.append(f"biorepro synth{cf}")
    lines += [f"snakemake --cores all{cf}", "```", ""]
    if outside:
        lines += ["The videos are not archived: set "
                  + ", ".join(f"`{key}` (archived: `{path}`)" for path, key in outside.items())
                  + " to your copy (in a file of your own, given last to `--configfile`), "
                  "e.g. `dataset: {root: /data/replayattack}`.", ""]
    lines += ["The results views are written to `results/`, over the archived ones (copy "
              "those first to compare), and the entries to the configuration's `store`; "
              f"`{MERGED_CONFIG}` shows every key's value."]
    return "\n".join(lines) + "\n"


def write_tar(members: list[Member], out: str | os.PathLike, prefix: str) -> None:
    """Write ``members`` under ``prefix/`` as a deterministic ``.tar.gz`` (see the module
    docstring), atomically (a temporary file renamed into place)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for m in sorted(members, key=lambda m: m.name):
                size, stream, executable = m.payload()
                info = tarfile.TarInfo(f"{prefix}/{m.name}")
                info.size, info.mtime, info.mode = size, 0, 0o755 if executable else 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with stream:
                    tar.addfile(info, stream)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def archive(plan: Plan, configfiles: list[str], out: str | os.PathLike,
            root: Path = PROJECT) -> dict:
    """Archive the results of ``plan`` (planned with ``configfiles``) into ``out``;
    returns the manifest."""
    out = Path(out)
    if not out.name.endswith(".tar.gz"):
        raise ArchiveError(f"-o {out}: the archive's name must end in .tar.gz")
    names = source_files(root)
    members = [Member(n, source=root / n) for n in names]
    if LOCK in names:
        lock = (root / LOCK).read_text()
    else:  # not a checkout: pin what is installed
        lock = "".join(f"{d.name}=={d.version}\n" for d in sorted(
            metadata.distributions(), key=lambda d: d.name.lower()))
        members.append(Member(LOCK, data=lock.encode()))
    manifest = build_manifest(plan, configfiles, lock, root)
    base = next(iter(plan.experiments.values())).config
    members += [Member(c["archived"], source=Path(c["given"]))
                for c in manifest["configfiles"]]
    members += view_members(plan, base["results"])
    members += [
        Member(MANIFEST, data=(json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()),
        Member(MERGED_CONFIG, data=yaml.safe_dump(base, sort_keys=True).encode()),
        Member(INSTRUCTIONS, data=instructions(manifest, out.name).encode()),
    ]
    write_tar(members, out, out.name.removesuffix(".tar.gz"))
    return manifest


def read_manifest(path: str | os.PathLike) -> tuple[str, dict]:
    """(the archive's folder name, its manifest); :class:`ArchiveError` when ``path`` is
    no biorepro archive."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            first = tar.next()
            prefix = first.name.split("/", 1)[0] if first is not None else ""
            try:
                f = tar.extractfile(f"{prefix}/{MANIFEST}")
                manifest = json.loads(f.read()) if f is not None else None
            except KeyError:
                manifest = None
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ArchiveError(f"{path} is not a biorepro archive (not a readable .tar.gz: "
                           f"{err})") from None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not a biorepro archive: it holds no {MANIFEST} of "
                           f"format {FORMAT} (make one with `biorepro archive`)")
    return prefix, manifest
