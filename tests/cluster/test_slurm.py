"""The tiny config through --profile profiles/slurm on a real (local) SLURM cluster."""

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.workflow.smk import make_workdir, snakemake

pytestmark = pytest.mark.slow

SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")


def fingerprints(work: Path) -> dict[int, str]:
    out = {}
    for result in (work / ".biorepro" / "store" / "train").glob("*/result.json"):
        r = json.loads(result.read_text())
        out[r["seeds"]["init"]] = r["weights_sha256"]
    return out


def test_slurm_run_submits_every_job_and_matches_a_local_run(slurm_cluster, tmp_path):
    local = make_workdir(tmp_path / "local")
    start = time.monotonic()
    snakemake(local)
    t_local = time.monotonic() - start
    cluster = make_workdir(tmp_path / "cluster")
    start = time.monotonic()
    proc = snakemake(cluster, "--profile", "profiles/slurm",
                     "--slurm-init-seconds-before-status-checks", "2",
                     "--slurm-keep-successful-logs",
                     "--default-resources", "mem_mb=1000", "runtime=30", timeout=1800)
    t_slurm = time.monotonic() - start
    log = proc.stdout + proc.stderr
    job_ids = SUBMITTED.findall(log)
    # extraction (grouped), split, tensors, 2 x train, 4 x metrics, summary
    assert len(job_ids) >= 9, log[-3000:]
    assert len(set(job_ids)) == len(job_ids)
    print(f"tiny config: local {t_local:.0f} s, SLURM {t_slurm:.0f} s "
          f"({t_slurm / t_local:.2f}x), {len(job_ids)} sbatch submissions")
    slurm_logs = list((cluster / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in slurm_logs} >= set(job_ids)
    assert fingerprints(cluster) == fingerprints(local) and len(fingerprints(local)) == 2
    for level in ("frame", "video"):
        a = pd.read_csv(local / "results" / "tiny" / f"per_seed_{level}.csv")
        b = pd.read_csv(cluster / "results" / "tiny" / f"per_seed_{level}.csv")
        pd.testing.assert_frame_equal(a, b)
