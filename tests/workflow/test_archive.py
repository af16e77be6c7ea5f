"""A paper's round trip on config/tiny.yaml: run, archive, reproduce into a fresh folder
with the archived library, every entry bit-identical."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biorepro.archive import read_manifest
from tests.workflow.smk import make_workdir, snakemake


def biorepro(cwd: Path, *args: str, timeout=900) -> subprocess.CompletedProcess:
    bindir = Path(sys.executable).parent
    return subprocess.run([str(bindir / "biorepro"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow  # about 5 minutes: two whole runs; archive logic: tests/test_archive.py
def test_archive_then_reproduce_every_entry_bit_for_bit(tmp_path):
    work = make_workdir(tmp_path / "wf")
    snakemake(work)
    paper, again = tmp_path / "paper.tar.gz", tmp_path / "again" / "paper.tar.gz"
    for out in (paper, again):
        proc = biorepro(work, "archive", "--configfile", "config/tiny.yaml", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
    assert paper.read_bytes() == again.read_bytes()
    _prefix, manifest = read_manifest(paper)
    n = len(manifest["entries"])

    start = time.monotonic()
    proc = biorepro(tmp_path, "reproduce", str(paper), "--workdir", "rerun", "--cores", "2")
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"comparing {n} entries" in proc.stdout
    assert f"All {n} entries reproduced bit for bit" in proc.stdout
    report = json.loads((tmp_path / "rerun" / "reproduce-report.json").read_text())
    assert report["all_identical"] and report["counts"]["identical"] == n
    assert (tmp_path / "rerun" / ".biorepro" / "store" / "train").is_dir()  # a fresh store
    # The archived library ran: outside git, it archived the reproduction without a commit.
    assert read_manifest(tmp_path / "rerun" / "reproduced.tar.gz")[1]["git"] is None
    print(f"\ntiny config: archive {paper.stat().st_size / 1e6:.2f} MB, {n} entries; "
          f"reproduce {seconds:.0f} s")

    proc = biorepro(tmp_path, "reproduce", str(paper), "--workdir", "rerun")
    assert proc.returncode == 2 and "is not empty" in proc.stderr
