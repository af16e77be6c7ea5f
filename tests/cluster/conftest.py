"""The local SLURM cluster for the cluster tests (tests/cluster/start-slurm.sh)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def slurm_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                             timeout=20)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and any(s in out.stdout for s in ("idle", "mixed", "alloc"))


@pytest.fixture(scope="session")
def slurm_cluster():
    """Skip (saying why) unless a SLURM controller with a usable node answers."""
    if not slurm_answers() and os.environ.get("BIOREPRO_START_SLURM") == "1":
        subprocess.run(["bash", str(HERE / "start-slurm.sh")], check=True, timeout=600)
    if not slurm_answers():
        pytest.skip("SLURM is not available here: no controller answers `sinfo`. Start the "
                    "local test cluster with tests/cluster/start-slurm.sh (as root) or set "
                    "BIOREPRO_START_SLURM=1.")
    return True
