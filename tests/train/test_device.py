"""Device choice with a fake GPU list (no GPU on the test machines)."""

import subprocess
import sys
import time

import pytest

from biorepro.train.device import GpuUnavailable, assign_device, share_mb, visible_gpus

HOLD = """
import sys, time
from biorepro.train.device import assign_device
env = {"BIOREPRO_FAKE_GPUS": sys.argv[5], "BIOREPRO_FAKE_GPU_MB": "80000"}
a = assign_device("auto", sys.argv[1], wait_s=float(sys.argv[2]), environ=env, poll_s=0.05,
                  slots=int(sys.argv[4]))
print(a.device, env["CUDA_VISIBLE_DEVICES"], a.memory_mb, flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold(lock_dir, wait_s=0.0, seconds=3.0, slots=1, gpus="0,1"):
    return subprocess.Popen([sys.executable, "-c", HOLD, str(lock_dir), str(wait_s), str(seconds),
                             str(slots), gpus], stdout=subprocess.PIPE, text=True)


def test_fake_gpu_list():
    assert visible_gpus({"BIOREPRO_FAKE_GPUS": "0, 1"}) == ["0", "1"]
    assert visible_gpus({"BIOREPRO_FAKE_GPUS": ""}) == []


def test_two_concurrent_jobs_get_different_gpus_third_falls_back(tmp_path):
    first, second = hold(tmp_path, seconds=4), hold(tmp_path, seconds=4)
    got = {first.stdout.readline().split()[0], second.stdout.readline().split()[0]}
    assert got == {"gpu:0", "gpu:1"}
    env = {"BIOREPRO_FAKE_GPUS": "0,1"}
    start = time.monotonic()
    third = assign_device("auto", tmp_path, wait_s=0.5, environ=env, poll_s=0.05)
    assert third.device == "cpu" and "fell back" in third.how
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert time.monotonic() - start >= 0.5
    with pytest.raises(GpuUnavailable, match="gpu_wait_s"):
        assign_device("gpu", tmp_path, wait_s=0.2, environ=dict(env), poll_s=0.05)
    first.wait()
    second.wait()


def test_a_waiting_job_takes_the_gpu_freed_by_another(tmp_path):
    first, second = hold(tmp_path, seconds=1), hold(tmp_path, seconds=1)
    first.stdout.readline()
    second.stdout.readline()
    env = {"BIOREPRO_FAKE_GPUS": "0,1"}
    got = assign_device("gpu", tmp_path, wait_s=20, environ=env, poll_s=0.05)
    assert got.device in ("gpu:0", "gpu:1") and got.lock is not None
    first.wait()
    second.wait()


def test_cpu_slurm_and_no_gpu_cases(tmp_path):
    env = {"BIOREPRO_FAKE_GPUS": "0"}
    assert assign_device("cpu", tmp_path, 0, environ=env).device == "cpu"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    slurm = {"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "3", "BIOREPRO_FAKE_GPUS": "0"}
    assert assign_device("auto", tmp_path, 0, environ=slurm).device == "gpu:3"
    none = {"BIOREPRO_FAKE_GPUS": ""}
    assert assign_device("auto", tmp_path, 0, environ=none).device == "cpu"
    with pytest.raises(GpuUnavailable, match="no GPU is visible"):
        assign_device("gpu", tmp_path, 0, environ={"BIOREPRO_FAKE_GPUS": ""})
    with pytest.raises(ValueError, match="train.device"):
        assign_device("tpu", tmp_path, 0, environ={})


def test_seeds_per_gpu_packs_jobs_each_with_its_memory_share(tmp_path):
    """Three slots on each of two GPUs: six concurrent jobs fill both GPUs evenly, each
    capped at a third of 95% of the memory; a seventh falls back to the CPU."""
    jobs = [hold(tmp_path, seconds=6, slots=3) for _ in range(6)]
    lines = [j.stdout.readline().split() for j in jobs]
    assert sorted(line[0] for line in lines) == ["gpu:0"] * 3 + ["gpu:1"] * 3
    assert {line[2] for line in lines} == {str(int(80000 * 0.95 / 3))}
    env = {"BIOREPRO_FAKE_GPUS": "0,1", "BIOREPRO_FAKE_GPU_MB": "80000"}
    assert assign_device("auto", tmp_path, 0.2, environ=env, poll_s=0.05, slots=3).device == "cpu"
    for j in jobs:
        j.wait()
    alone = assign_device("auto", tmp_path, 0, environ=env, slots=1)
    assert alone.memory_mb is None, "a GPU of its own: memory grows as needed"


def test_memory_share():
    assert share_mb(80000, 4) == 19000
    assert share_mb(80000, 1) is None and share_mb(None, 4) is None
