"""Device choice with a fake GPU list (no GPU on the test machines)."""

import subprocess
import sys
import time

import pytest

from biorepro.train.device import GpuUnavailable, assign_device, visible_gpus

HOLD = """
import sys, time
from biorepro.train.device import assign_device
env = {"BIOREPRO_FAKE_GPUS": "0,1"}
a = assign_device("auto", sys.argv[1], wait_s=float(sys.argv[2]), environ=env, poll_s=0.05)
print(a.device, env["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold(lock_dir, wait_s=0.0, seconds=3.0):
    return subprocess.Popen([sys.executable, "-c", HOLD, str(lock_dir), str(wait_s), str(seconds)],
                            stdout=subprocess.PIPE, text=True)


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
