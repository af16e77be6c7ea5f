"""Keras backends and devices: what a backend reports is what is recorded; the same
batches on TensorFlow and JAX; `biorepro doctor` with and without a usable GPU."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biorepro.train import backend
from biorepro.train.catalog import ModelError, check_backend
from biorepro.train.device import Assignment, GpuUnavailable, platform_differences, resolve
from biorepro.train.input import epoch_order
from tests.conftest import with_fake_smi

CPU_ONLY = {"devices": ["/device:CPU:0"], "gpus": [], "cuda_build": True, "cuda": "12.5.1",
            "cudnn": "9", "versions": {"tensorflow": "2.21.0"}}
A_GPU = {**CPU_ONLY, "gpus": [{"name": "NVIDIA H200", "compute_capability": "9.0"}]}


def test_key_part_names_the_backend_and_its_versions():
    assert backend.key_part("tensorflow")["versions"]["tensorflow"].startswith("2.")
    assert set(backend.key_part("jax")["versions"]) == {"jax", "jaxlib"}
    with pytest.raises(backend.BackendError, match="not one of"):
        backend.key_part("torch")


def test_a_gpu_the_backend_cannot_use_is_the_cpu_for_auto_and_an_error_for_gpu():
    held = Assignment("gpu:0", "free slot 1/1 of local GPU")
    env = {"CUDA_VISIBLE_DEVICES": "0"}
    got = resolve(held, "auto", "tensorflow", CPU_ONLY, env)
    assert got.device == "cpu" and "GPU 0 is listed by nvidia-smi" in got.how
    assert "tensorflow sees no GPU" in got.how and "pip install" in got.how
    with pytest.raises(GpuUnavailable, match="train.device is gpu.*pip install"):
        resolve(held, "gpu", "tensorflow", CPU_ONLY, env)
    assert resolve(held, "gpu", "tensorflow", A_GPU, env) is held
    cpu = Assignment("cpu", "train.device is cpu")
    assert resolve(cpu, "auto", "tensorflow", CPU_ONLY, env) is cpu


def test_why_no_gpu_names_the_cause():
    assert "CUDA_VISIBLE_DEVICES is empty" in backend.why_no_gpu(
        "tensorflow", CPU_ONLY, {"CUDA_VISIBLE_DEVICES": ""})
    assert "build without CUDA" in backend.why_no_gpu(
        "tensorflow", {**CPU_ONLY, "cuda_build": False}, {})
    assert "jax[cuda12]" in backend.why_no_gpu("jax", {**CPU_ONLY, "cuda_build": False}, {})


def test_fix_command_is_a_pip_install_of_the_gpu_lock_with_this_python():
    words = shlex.split(backend.fix_command("tensorflow"))
    assert words[:4] == [sys.executable, "-m", "pip", "install"]
    assert words[4:5] == ["-r"] and Path(words[5]).is_file()


def test_packed_cuda_versions_unpack():
    assert backend._dotted(12080, (1000, 10)) == "12.8"
    assert backend._dotted(90300, (10000, 100, 1)) == "9.3.0"
    assert backend._dotted(None, (1000, 10)) is None


def test_platforms_differ_by_gpu_driver_or_versions():
    a = {"device": "gpu", "gpu": "NVIDIA H200", "driver": "580.95", "cuda": "12.5",
         "versions": {"tensorflow": "2.21.0"}}
    assert platform_differences(a, dict(a)) == []
    assert platform_differences(a, {**a, "gpu": "NVIDIA A100"}) == [
        "gpu: NVIDIA H200 -> NVIDIA A100"]
    assert platform_differences(a, {**a, "versions": {"tensorflow": "2.20.0"}}) == [
        "versions.tensorflow: 2.21.0 -> 2.20.0"]
    assert platform_differences(a, None) == ["platform: unknown"]


def test_a_model_file_importing_the_other_framework_is_refused():
    check_backend({"builtin": "xception_small"}, "jax", "xception_small")
    user = {"function": "build", "versions": {"tensorflow": "2.21.0"}}
    check_backend(user, "tensorflow", "m.py:build")
    with pytest.raises(ModelError, match="imports tensorflow, but train.backend is jax"):
        check_backend(user, "jax", "m.py:build")


def test_epoch_orders_are_seeded_permutations_reshuffled_each_epoch():
    a, b = epoch_order(50, 3, 0), epoch_order(50, 3, 1)
    assert sorted(a) == list(range(50)) and not np.array_equal(a, b)
    assert np.array_equal(a, epoch_order(50, 3, 0))
    assert not np.array_equal(a, epoch_order(50, 4, 0))
    assert np.array_equal(epoch_order(5, None, 7), np.arange(5))


# A model run eagerly that records the sample ids (pixel 0 of each image) of every batch
# it trains on: what Keras' fit actually feeds, epoch by epoch, on a backend.
FED = """
import json, keras, numpy as np, pandas as pd
from biorepro.data.tensors import SplitTensors
from biorepro.train.input import CacheBatches

class Record(keras.layers.Layer):
    seen = []
    def call(self, x, training=None):
        if training:
            Record.seen.append(keras.ops.convert_to_numpy(x[:, 0, 0, 0]).astype(int).tolist())
        return keras.ops.mean(x, axis=(1, 2, 3))[:, None] * 0.0

n = 21
images = np.zeros((n, 2, 2, 1), np.uint8)
images[:, 0, 0, 0] = np.arange(n)
zeros = np.zeros(n, np.int64)
split = SplitTensors(images, np.arange(n) % 2, zeros, zeros, pd.DataFrame(), np.zeros((0, 2)))
inputs = keras.Input((2, 2, 1))
model = keras.Model(inputs, keras.layers.Dense(1)(Record()(inputs)))
model.compile("sgd", "mse", run_eagerly=True)
batches = CacheBatches(split, 4, shuffle_seed=7, epochs=3)
model.fit(batches, epochs=3, steps_per_epoch=batches.steps_per_epoch, verbose=0, shuffle=False)
print(json.dumps(Record.seen))
"""


@pytest.fixture(scope="module")
def fed():
    """The batches fit fed on each backend (three epochs of 21 samples, batch 4)."""
    out = {}
    for name in backend.BACKENDS:
        proc = subprocess.run([sys.executable, "-c", FED], capture_output=True, text=True,
                              env={**os.environ, "KERAS_BACKEND": name}, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_fit_feeds_the_same_batches_on_both_backends_reshuffled_each_epoch(fed):
    assert fed["tensorflow"] == fed["jax"]
    expected = [sorted(order[i:i + 4].tolist()) for e in range(3)
                for order in [epoch_order(21, 7, e)] for i in range(0, 21, 4)]
    assert fed["jax"] == expected


@pytest.mark.slow
def test_sources_stay_isolated_on_jax():
    """The randomness-source tests, run again on the JAX backend."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/train/test_sources.py"], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout


def test_doctor_with_a_gpu_no_backend_can_use_names_cause_and_fix(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "biorepro.cli", "doctor"], capture_output=True,
                          text=True, env=with_fake_smi(tmp_path), timeout=300)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "GPU 0: NVIDIA H200, 143771 MiB, driver 580.95.05, compute capability 9.0" in out
    assert "tensorflow (tensorflow 2." in out and "devices: /device:CPU:0" in out
    assert out.count("cannot use the GPU:") == 2 and "tensorflow[and-cuda]" in out
    fixes = [line.split("fix: ", 1)[1] for line in out.splitlines() if "fix: " in line]
    assert fixes and all(shlex.split(f)[:4] == [sys.executable, "-m", "pip", "install"]
                         for f in fixes)


def test_doctor_without_a_driver_reports_cpu_only(tmp_path):
    env = with_fake_smi(tmp_path, "nvidia-smi-no-driver")
    proc = subprocess.run([sys.executable, "-m", "biorepro.cli", "doctor"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lists no GPU" in proc.stdout and "cannot use" not in proc.stdout
