"""Run the real workflow in a scratch working directory and count the jobs it plans."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = ("Snakefile", "rules", "scripts", "config", "profiles", "report")


def make_workdir(path: Path) -> Path:
    """A working directory that sees the repository's workflow through symlinks."""
    path.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        link = path / name
        if not link.exists():
            link.symlink_to(REPO / name)
    return path


def synth(workdir: Path, configfiles=("config/tiny.yaml",)) -> None:
    """Generate the configured synthetic dataset, as ``make demo`` does before snakemake."""
    bindir = Path(sys.executable).parent
    subprocess.run([str(bindir / "biorepro"), "synth", "--configfile",
                    *[str(c) for c in configfiles]], cwd=workdir, check=True,
                   capture_output=True)


def copy_library(folder: Path) -> dict[str, str]:
    """A copy of the ``biorepro`` package in ``folder``, to edit (beside links to the
    repository's files it reads: the config schema, the locks); the environment that
    makes every process of a run import it."""
    shutil.copytree(REPO / "biorepro", folder / "biorepro",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config", "requirements.lock", "requirements-gpu.lock"):
        (folder / name).symlink_to(REPO / name)
    return {"PYTHONPATH": str(folder)}


def snakemake(workdir: Path, *args: str, configfiles=("config/tiny.yaml",), check=True,
              timeout=900, generate=True, env=None) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` (the synthetic dataset generated first, unless not
    ``generate``), with ``env`` added to the environment."""
    bindir = Path(sys.executable).parent
    if generate:
        synth(workdir, configfiles)
    cmd = [str(bindir / "snakemake"), *args, "--cores", "2",
           "--configfile", *[str(c) for c in configfiles]]
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", **(env or {})}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def override(work: Path, name: str, data: dict) -> tuple[str, str]:
    """The config files of the tiny configuration with ``data`` written over it."""
    (work / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return ("config/tiny.yaml", f"{name}.yaml")


def status(work: Path, *configfiles: str, env=None) -> str:
    """What ``biorepro status`` prints in ``work`` (tiny configuration by default)."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "biorepro"), "status", "--configfile",
         *(configfiles or ("config/tiny.yaml",))],
        cwd=work, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


JOB_ROW = re.compile(r"^(\S+)\s+(\d+)$")


def planned_jobs(workdir: Path, *args: str, configfiles=("config/tiny.yaml",),
                 env=None) -> dict[str, int]:
    """Jobs a dry run plans, per rule (a frames job extracts a batch of videos)."""
    out = snakemake(workdir, "-n", *args, configfiles=configfiles, env=env)
    text = out.stdout + out.stderr
    counts: dict[str, int] = {}
    if "Job stats:" not in text:
        assert "Nothing to be done" in text, text[-3000:]
        return counts
    table = text.split("Job stats:", 1)[1]
    for line in table.splitlines():
        m = JOB_ROW.match(line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
        elif line.strip().startswith("total"):
            break
    return counts


def extracted_videos(workdir: Path, configfiles=("config/tiny.yaml",)) -> int:
    """Videos the planned extraction jobs would extract (the dry run's count of frames
    entries to build)."""
    out = snakemake(workdir, "-n", "--quiet", "reason", configfiles=configfiles)
    m = re.search(r"entries to build \([^)]*\bframes (\d+)", out.stdout + out.stderr)
    return int(m.group(1)) if m else 0


def finished_tiny_run(tmp_path_factory) -> tuple[Path, str]:
    """A working directory where ``config/tiny.yaml`` ran in full, and the run's console
    output: made once per test session, by the first process that asks (the workers of
    ``pytest -n`` share it, under a lock)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    work = shared / "tiny-run"
    with open(shared / "tiny-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (work / "console.txt").is_file():
            shutil.rmtree(work, ignore_errors=True)
            proc = snakemake(make_workdir(work))
            (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work, (work / "console.txt").read_text()


def tiny_workdir(tmp_path_factory, name: str) -> Path:
    """A new working directory whose store holds every entry of ``config/tiny.yaml``
    (copied from :func:`finished_tiny_run`, without its roots) and whose results view
    is published by a run that builds nothing else."""
    built, _console = finished_tiny_run(tmp_path_factory)
    work = make_workdir(tmp_path_factory.mktemp(name))
    for folder in (".biorepro/store", "data"):
        shutil.copytree(built / folder, work / folder, symlinks=True,
                        ignore=shutil.ignore_patterns(".roots"))
    proc = snakemake(work, generate=False)
    assert "entries to build" not in proc.stderr, proc.stderr[-3000:]
    return work
