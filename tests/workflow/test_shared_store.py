"""Two concurrent runs on one shared store finish with identical, whole entries."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from biorepro.store.entries import TMP_PREFIX, is_published
from tests.workflow.smk import make_workdir, synth


@pytest.mark.slow  # about 4 minutes: two whole runs at once
def test_two_concurrent_runs_share_one_store(tmp_path):
    shared = tmp_path / "shared"
    override = {"store": str(shared / "store"), "stat_cache": str(shared / "statcache.sqlite"),
                "dataset": {"root": str(shared / "data")}}
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    procs, works = [], []
    for name in ("a", "b"):
        work = make_workdir(tmp_path / name)
        (work / "shared.yaml").write_text(yaml.safe_dump(override))
        works.append(work)
    synth(works[0], ("config/tiny.yaml", "shared.yaml"))
    for work in works:
        procs.append(subprocess.Popen(
            [str(bindir / "snakemake"), "--cores", "1", "--configfile", "config/tiny.yaml",
             "shared.yaml"], cwd=work, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-4000:]
    for entry in (shared / "store").glob("[!.]*/*"):
        assert entry.name.startswith(TMP_PREFIX) or is_published(entry), entry
    for level in ("frame", "video"):
        a, b = (pd.read_csv(w / "results" / "tiny" / f"per_seed_{level}.csv") for w in works)
        pd.testing.assert_frame_equal(a, b)
