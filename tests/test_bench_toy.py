"""Every benchmark of bench/ in its toy mode (``--toy``: the same measurements at the
smallest sizes): it runs to the end in a scratch folder and prints its ratios, each a
finite positive number. bench/gpu.py's toy run is checked by tests/test_bench_gpu.py.

Run with the longer checks (``make test-slow``); about 8 minutes in all on 2 cores.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NUM = r"([-+]?(?:\d+(?:\.\d*)?|nan|inf))"  # a number as the benchmarks print it

pytestmark = pytest.mark.slow


def run_toy(tmp_path: Path, script: str, *args: str, timeout: int = 900) -> str:
    """Run ``bench/<script> --toy`` in ``tmp_path`` (temporary files there too, this
    checkout's code first on the path); its standard output, after checking it exited 0."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "TMPDIR": str(tmp_path),
           "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [
               os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--toy", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n" \
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def numbers(pattern: str, text: str, count: int, minimum: float = 0.0,
            strict: bool = True) -> list[float]:
    """Every number captured by ``pattern`` in ``text`` (``count`` of them), each finite
    and above ``minimum`` (``strict``) or at least ``minimum``."""
    values = [float(v) for match in re.findall(pattern, text, re.M)
              for v in (match if isinstance(match, tuple) else (match,))]
    assert len(values) == count, f"{count} numbers expected for {pattern!r}, got " \
        f"{values} in:\n{text}"
    for v in values:
        assert math.isfinite(v) and (v > minimum if strict else v >= minimum), (pattern, v)
    return values


def test_extract(tmp_path):
    out = run_toy(tmp_path, "extract.py", "--workdir", str(tmp_path / "work"))
    numbers(rf"^  ratio workflow / full decode: {NUM}x", out, 2)
    numbers(rf"^  (?:PyAV|read_frames).*: wall {NUM}x, CPU {NUM}x", out, 12)
    numbers(rf"^planning 78 videos: .*\(warm/cold {NUM}x\)$", out, 1)
    assert "MJPEG decoders on 5 videos" in out and "H.264 decoders on 5 videos" in out
    assert "frame counts differ" not in out


def test_fsck(tmp_path):
    out = run_toy(tmp_path, "fsck.py", "--workdir", str(tmp_path / "work"))
    numbers(rf"^fsck \(library call, .*ratio {NUM}x$", out, 1)
    numbers(rf"^biorepro fsck --all \(command\): .*ratio {NUM}x$", out, 1)


def test_plan(tmp_path):
    out = run_toy(tmp_path, "plan.py", "--workdir", str(tmp_path / "work"))
    assert out.startswith("78 videos, 2 seeds: ")
    numbers(rf"^snakemake -n \(nothing to do\): .*ratio {NUM}x \(goal <= 1\.3x\), "
            rf"CPU {NUM}x$", out, 2)


def test_plan_oulu_npu(tmp_path):
    out = run_toy(tmp_path, "plan.py", "--case", "oulu-npu", "--workdir", str(tmp_path / "work"))
    numbers(r"^36 videos, Protocol_3 \(6 folds\), 2 seeds: \d+ entries, none built; "
            rf"build_plan {NUM} s$", out, 1)
    numbers(rf"^snakemake -n \(everything to do\): .*ratio {NUM}x \(goal <= 2\.0x\), "
            rf"CPU {NUM}x$", out, 2)


def test_epoch_scores(tmp_path):
    out = run_toy(tmp_path, "epoch_scores.py", "--workdir", str(tmp_path / "work"))
    numbers(rf"^ratio every epoch/not scored {NUM}; default \(every 5\)/not scored {NUM} "
            r"\(goal <= 1\.1\); same weights: True$", out, 2)


def test_seeds_per_process(tmp_path):
    out = run_toy(tmp_path, "seeds_per_process.py")
    numbers(rf"^batched/loop {NUM} \(goal <= 1\.1\), separate/loop {NUM}; batched entries "
            r"bit-identical to separate ones: True$", out, 2)


def test_summary(tmp_path):
    out = run_toy(tmp_path, "summary.py", "--keep", str(tmp_path / "work"))
    numbers(rf"^summary of 8 runs x 2 levels: .*full/without {NUM}$", out, 1)


def test_train_input(tmp_path):
    out = run_toy(tmp_path, "train_input.py")
    # images/s of memmap, numpy and constant, then memmap over numpy and over constant
    numbers(rf"^xception_small +64 +32 +{NUM} +{NUM} +{NUM} +{NUM} +(?:met|MISS) +{NUM} "
            r"+(?:met|MISS)$", out, 5)
    numbers(rf"^xception_small 64 px: memmap / image_dataset_from_directory \({NUM} "
            rf"images/s\): {NUM}x; strict / seeded determinism \({NUM} images/s\): {NUM}x",
            out, 4)
    # the large cache: memory growth over its size (none is the goal), peak over the budget
    growth, budget = numbers(rf"^large cache: .*\({NUM}x the cache size\); peak .* = {NUM}x "
                             r"the budget$", out, 2, strict=False)
    assert budget > 0
