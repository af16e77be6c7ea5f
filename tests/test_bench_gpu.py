"""bench/gpu.py: its toy run on the CPU with every installed backend, and its table."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "gpu.py"
BACKENDS = [b for b in ("tensorflow", "jax") if importlib.util.find_spec(b) is not None]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parent_imports_no_framework():
    """The parent process (caches, subprocesses, the table) imports neither framework."""
    code = (f"import runpy, sys; runpy.run_path({str(BENCH)!r}, run_name='bench_gpu'); "
            "print('tensorflow' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "KERAS_BACKEND": "jax"}, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_table_without_gpu_and_with_errors():
    bench = load_bench()
    error = {"error": "exit 1: boom | bang"}
    report = {"gpu_found": False, "gpu_total_mb": None, "threads": 2, "toy": True,
              "minutes": 0.5, "backends": {"jax": {
                  "probe": None, "device": "cpu",
                  "throughput": [{"model": "xception_small", "size": 16, "batch": 32, **error}],
                  "seeds_per_gpu": [{"k": 1, "model": "xception_small", "size": 16,
                                     "batch": 32, "memory_cap": "not applicable", **error}],
                  "precision": {"model": "xception_small", "size": 16, "batch": 32, "steps": 4,
                                "float32": error, "mixed_bfloat16": error,
                                "bf16_speedup": None},
                  "two_runs": error}}}
    text = bench.table(report)
    assert "No GPU found" in text
    assert text.count("error: exit 1: boom / bang") == 5


@pytest.mark.slow  # 5.7 minutes for both backends on a loaded 2-core machine
@pytest.mark.skipif(not BACKENDS, reason="neither TensorFlow nor JAX installed")
def test_toy_run_on_cpu(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "BIOREPRO_FAKE_GPUS": ""}
    proc = subprocess.run([sys.executable, str(BENCH), "--toy", "--backends",
                           ",".join(BACKENDS), "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_toy_report(tmp_path)


def check_toy_report(tmp_path: Path) -> None:
    report = json.loads((tmp_path / "gpu.json").read_text())
    headings = [line for line in (tmp_path / "gpu.md").read_text().splitlines()
                if line.startswith("## ")]
    assert len(headings) == len(BACKENDS)
    assert report["toy"] and not report["gpu_found"] and report["gpu_total_mb"] is None
    assert not report["parent_imported_tensorflow"]
    assert sorted(report["backends"]) == sorted(BACKENDS)
    for backend, res in report["backends"].items():
        assert res["device"] == "cpu" and res["probe"]["backend"] == backend
        assert res["probe"]["gpus"] == []
        (row,) = res["throughput"]
        assert "error" not in row, row
        assert row["cache_ips"] > 0 and row["constant_ips"] > 0 and row["ratio"] > 0
        assert [r["k"] for r in res["seeds_per_gpu"]] == [1, 2]
        for r in res["seeds_per_gpu"]:
            assert "error" not in r, r
            assert r["total_ips"] > 0 and len(r["per_job_ips"]) == r["k"]
            assert r["memory_cap"].startswith("not applicable")
        for policy in ("float32", "mixed_bfloat16"):
            assert "error" not in res["precision"][policy], res["precision"][policy]
            assert res["precision"][policy]["ips"] > 0
        assert res["precision"]["float32"]["identical"]  # CPU, strict
        two = res["two_runs"]
        assert two["identical"] and len(two["fingerprints"]) == 2
        assert two["fingerprints"][0] == two["fingerprints"][1]
        if backend == "jax":
            assert not res["tensorflow_imported"]


if __name__ == "__main__":  # check a toy run's output folder: python tests/... DIR
    check_toy_report(Path(sys.argv[1]))
