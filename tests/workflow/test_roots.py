"""A shared store used from two working directories: one user's gc keeps the other
configuration's entries, status compares with what a configuration used last, and the
fixes biorepro prints run as printed."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workflow.smk import make_workdir, snakemake

pytestmark = pytest.mark.slow
TINY = "config/tiny.yaml"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
FIX = re.compile(r"`((?:cd |biorepro |snakemake )[^`]*)`")


def biorepro(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "biorepro"), *args], cwd=work, capture_output=True,
                          text=True, env=ENV, timeout=600)


def run_fix(text: str, work: Path) -> subprocess.CompletedProcess:
    """Run the first fix command in ``text`` exactly as printed, in ``work``."""
    found = FIX.findall(text)
    assert found, text[-3000:]
    return subprocess.run(found[0], shell=True, cwd=work, capture_output=True, text=True,
                          env=ENV, timeout=900)


def shared_workdirs(tmp_path):
    shared = tmp_path / "shared"
    override = {"store": str(shared / "store"), "stat_cache": str(shared / "stat.sqlite"),
                "dataset": {"root": str(shared / "data")}}
    works = []
    for name in ("a", "b"):
        work = make_workdir(tmp_path / name)
        (work / "shared.yaml").write_text(yaml.safe_dump(override))
        works.append(work)
    return shared, works


def test_gc_keeps_the_other_configuration_and_status_compares_with_the_last_run(tmp_path):
    shared, (a, b) = shared_workdirs(tmp_path)
    mine = (TINY, "shared.yaml", "own.yaml")
    own = {"experiment": "own", "train": {"epochs": 3, "learning_rate": 0.002, "patience": 1}}
    (b / "own.yaml").write_text(yaml.safe_dump(own))
    snakemake(a, configfiles=(TINY, "shared.yaml"))
    snakemake(b, configfiles=mine)

    out = biorepro(b, "gc", "--configfile", *mine).stdout
    assert f"in {a.resolve()}" in out and f"results view {a.resolve()}/results/tiny" in out
    assert "0 entries, 0.0 MB; dry run" in out, out
    narrow = biorepro(b, "gc", "--configfile", *mine, "--only-config").stdout
    assert narrow.count("would remove") > 0 and "/train/" in narrow

    # Another configuration's entries (epochs 2, lr 0.001, patience 2) are nearer to the
    # edited one than this configuration's last run; status names what was edited.
    (b / "own.yaml").write_text(yaml.safe_dump(
        {**own, "train": {"epochs": 2, "learning_rate": 0.001, "patience": 1}}))
    status = biorepro(b, "status", "--configfile", *mine).stdout
    assert "the entry this configuration used last" in status, status
    assert "params.epochs: 3 -> 2" in status and "params.learning_rate: 0.002 -> 0.001" in status
    (b / "own.yaml").write_text(yaml.safe_dump(own))

    shutil.rmtree(a)
    out = biorepro(b, "gc", "--configfile", *mine).stdout
    assert f"{a.resolve()} no longer exists" in out and "would remove" in out
    done = run_fix(out, b)
    assert done.returncode == 0 and "removed" in done.stdout, done.stdout + done.stderr
    assert biorepro(b, "fsck", "--configfile", *mine).returncode == 0
    assert "Nothing to be done" in snakemake(b, "-n", configfiles=mine).stdout


def test_the_fixes_biorepro_prints_work_as_printed(tmp_path):
    work = make_workdir(tmp_path / "w")
    (work / "my.yaml").write_text(yaml.safe_dump(
        {"store": str(tmp_path / "my-store"), "stat_cache": str(tmp_path / "stat.sqlite"),
         "dataset": {"root": str(tmp_path / "data")}}))
    mine = (TINY, "my.yaml")
    missing = snakemake(work, "-n", configfiles=mine, check=False, generate=False)
    assert missing.returncode != 0
    fixed = run_fix(missing.stdout + missing.stderr, work)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    snakemake(work, configfiles=mine, generate=False)

    [damaged] = list((tmp_path / "my-store" / "train").glob("*/history.csv"))[:1]
    damaged.chmod(0o644)
    damaged.write_text("damaged\n")
    refused = snakemake(work, "-n", configfiles=mine, check=False, generate=False)
    assert refused.returncode != 0 and "damaged" in refused.stdout + refused.stderr
    repaired = run_fix(refused.stdout + refused.stderr, work)
    assert "1 damaged, 1 moved to" in repaired.stdout, repaired.stdout + repaired.stderr
    snakemake(work, configfiles=mine, generate=False)
    assert biorepro(work, "fsck", "--configfile", *mine).returncode == 0
