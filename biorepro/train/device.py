"""Choosing the device of a training job before its framework is imported, and
recording the one it used.

``train.device``: ``cpu`` hides every GPU; ``gpu`` needs one; ``auto`` takes a free GPU
if there is one, else the CPU. Under SLURM (``SLURM_JOB_ID`` set) the allocation's
``CUDA_VISIBLE_DEVICES`` is respected as is. Locally, Snakemake assigns no GPU ids,
so each job takes a free slot of one through a lock file
``<lock_dir>/gpu<id>.<slot>.lock`` (``flock``, held until the process exits). A GPU has
``slots`` slots (``train.seeds_per_gpu``): with more than one, concurrent seed jobs
share it and each is limited to its share of the GPU's memory (``memory_mb``, 5% kept
back for the driver). When no slot frees up within ``wait_s`` seconds, ``auto`` falls
back to the CPU and ``gpu`` fails.

GPUs and their memory come from ``nvidia-smi``, or from ``BIOREPRO_FAKE_GPUS="0,1"``
and ``BIOREPRO_FAKE_GPU_MB`` (used by tests on machines without GPUs). That is only where
to look: once the framework is imported, :func:`resolve` takes the device it reports
(:func:`biorepro.train.backend.probe`); a GPU it cannot use is the CPU for ``auto`` (with
the reason) and an error naming the cause and the fix for ``gpu``. :func:`platform` (the
provenance's ``compute``) is what runs are compared by: two runs on different GPU models,
drivers, CUDA/cuDNN or framework versions are not comparable bit for bit
(:func:`platform_differences`).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from biorepro.errors import Refusal
from biorepro.train.backend import fix_command, why_no_gpu

DEVICES = ("auto", "cpu", "gpu")


class GpuUnavailable(Refusal, RuntimeError):
    """``train.device`` is ``gpu`` but no GPU is visible or none became free in time."""


@dataclass
class Assignment:
    """The device a job got (``cpu`` or ``gpu:<id>``), why, and the GPU lock it holds."""

    device: str                   # "cpu" or "gpu:<id>"
    how: str                      # why this device
    lock: object | None = None    # open lock file, kept for the process lifetime
    memory_mb: int | None = None  # the job's share of the GPU's memory (None: all)


def visible_gpus(environ=None) -> list[str]:
    """GPU ids as text (``["0", "1"]``) from ``BIOREPRO_FAKE_GPUS`` or ``nvidia-smi -L``;
    ``[]`` without nvidia-smi. ``environ`` None means ``os.environ``."""
    environ = os.environ if environ is None else environ
    fake = environ.get("BIOREPRO_FAKE_GPUS")
    if fake is not None:
        return [g.strip() for g in fake.split(",") if g.strip()]
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return []
    return [line.split(":")[0].split()[1] for line in out.stdout.splitlines()
            if line.startswith("GPU ")]


def gpu_memory_mb(gpu: str, environ=None) -> int | None:
    """Total memory of GPU ``gpu`` in MiB (``BIOREPRO_FAKE_GPU_MB`` or ``nvidia-smi``)."""
    environ = os.environ if environ is None else environ
    fake = environ.get("BIOREPRO_FAKE_GPU_MB")
    if fake is not None:
        return int(fake)
    rows = query_gpus(("memory.total",), gpu)
    try:
        return int(rows[0][0])
    except (IndexError, ValueError):
        return None


def query_gpus(fields: tuple[str, ...], gpu: str | None = None) -> list[list[str]]:
    """``nvidia-smi --query-gpu`` rows of ``fields`` (every GPU, or ``gpu``), [] when
    nvidia-smi is missing or fails (a machine without a working driver)."""
    args = ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(args + ([f"--id={gpu}"] if gpu is not None else []),
                             capture_output=True, text=True, timeout=20)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [[v.strip() for v in line.split(",")] for line in out.stdout.splitlines()
            if line.strip()]


def share_mb(total_mb: int | None, slots: int) -> int | None:
    """One slot's share of ``total_mb`` (5% kept back); None for a single slot."""
    if slots <= 1 or total_mb is None:
        return None
    return int(total_mb * 0.95 / slots)


def _try_lock(lock_dir: Path, gpu: str, slot: int):
    f = open(lock_dir / f"gpu{gpu}.{slot}.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def assign_device(device: str, lock_dir: str | os.PathLike, wait_s: float,
                  environ=None, poll_s: float = 0.5, slots: int = 1) -> Assignment:
    """Pick the device and set ``CUDA_VISIBLE_DEVICES`` in ``environ`` accordingly;
    ``slots`` jobs may share one GPU."""
    environ = os.environ if environ is None else environ
    if device not in DEVICES:
        raise ValueError(f"train.device: {device!r} is not one of {', '.join(DEVICES)}")
    if device == "cpu":
        environ["CUDA_VISIBLE_DEVICES"] = ""
        return Assignment("cpu", "train.device is cpu")
    if environ.get("SLURM_JOB_ID") and environ.get("CUDA_VISIBLE_DEVICES"):
        gpu = environ["CUDA_VISIBLE_DEVICES"]
        return Assignment(f"gpu:{gpu}", "SLURM allocation", None,
                          share_mb(gpu_memory_mb(gpu.split(",")[0], environ), slots))
    gpus = visible_gpus(environ)
    if not gpus:
        if device == "gpu":
            raise GpuUnavailable("train.device is gpu but no GPU is visible (nvidia-smi -L)")
        environ["CUDA_VISIBLE_DEVICES"] = ""
        return Assignment("cpu", "no GPU visible")
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        for slot in range(slots):  # fill every GPU's first slot before any second one
            for gpu in gpus:
                lock = _try_lock(lock_dir, gpu, slot)
                if lock is not None:
                    environ["CUDA_VISIBLE_DEVICES"] = gpu
                    return Assignment(f"gpu:{gpu}", f"free slot {slot + 1}/{slots} of local GPU "
                                      f"(lock {lock.name})", lock,
                                      share_mb(gpu_memory_mb(gpu, environ), slots))
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    if device == "gpu":
        raise GpuUnavailable(f"no GPU of {gpus} became free within {wait_s:g} s "
                             "(train.gpu_wait_s)")
    environ["CUDA_VISIBLE_DEVICES"] = ""
    return Assignment("cpu", f"all GPUs {gpus} busy for {wait_s:g} s: fell back to CPU")


def limit_gpu_memory(backend: str, memory_mb: int | None, slots: int) -> dict:
    """Cap the framework's memory on the visible GPU at ``memory_mb`` (a slot's share of
    ``slots``), or let it grow as needed when None; returns what was set, for the
    provenance. TensorFlow is told through its config (before its devices are used),
    JAX through ``XLA_PYTHON_CLIENT_*`` (read when its GPU client starts)."""
    if backend == "jax":
        if memory_mb is None:
            os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        else:
            os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{0.95 / slots:.3f}"
        return {"limit_mb": memory_mb, "growth": memory_mb is None,
                "environment": {k: os.environ.get(k) for k in (
                    "XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION")}}
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        if memory_mb is None:
            tf.config.experimental.set_memory_growth(gpu, True)
        else:
            tf.config.set_logical_device_configuration(
                gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=memory_mb)])
    return {"gpus": len(gpus), "limit_mb": memory_mb if gpus else None,
            "growth": bool(gpus) and memory_mb is None}


def driver_version(gpu: str, environ=None) -> str | None:
    """The NVIDIA driver's version (``nvidia-smi``), None without one (or with fake GPUs)."""
    environ = os.environ if environ is None else environ
    if environ.get("BIOREPRO_FAKE_GPUS") is not None:
        return None
    rows = query_gpus(("driver_version",), gpu)
    return rows[0][0] if rows else None


def resolve(assignment: Assignment, requested: str, backend: str, seen: dict,
            environ=None) -> Assignment:
    """The device the framework uses, given what it reports (``seen``, see
    :func:`biorepro.train.backend.probe`): the assignment when it took a GPU the framework
    sees (or the CPU); else the CPU with the reason (``auto``; the GPU's lock is let go),
    or :class:`GpuUnavailable` naming the cause and the fix (``gpu``)."""
    if assignment.device == "cpu" or seen["gpus"]:
        return assignment
    gpu = assignment.device.removeprefix("gpu:")
    cause = why_no_gpu(backend, seen, environ)
    fix = fix_command(backend)
    if requested == "gpu":
        raise GpuUnavailable(
            f"train.device is gpu: GPU {gpu} is listed by nvidia-smi, but {backend} sees no "
            f"GPU ({cause}). Install the CUDA build with: {fix} (or set train.device: auto "
            "to train on the CPU)")
    if assignment.lock is not None:
        assignment.lock.close()
    return Assignment("cpu", f"GPU {gpu} is listed by nvidia-smi, but {backend} sees no GPU "
                      f"({cause}): trained on the CPU; to use the GPU: {fix}")


def platform(device: str, seen: dict, record: dict, environ=None) -> dict:
    """What a run's bits depend on besides its key: CPU or GPU (its name, compute
    capability, driver, CUDA, cuDNN), the framework's versions, and on a CPU its SIMD
    flags (``record``: :func:`biorepro.train.determinism.configure`'s)."""
    if device == "cpu":
        return {"device": "cpu", "cpu_flags": record["cpu_flags"], "versions": record["versions"]}
    gpu = seen["gpus"][0]
    return {"device": "gpu", "gpu": gpu["name"], "compute_capability": gpu["compute_capability"],
            "driver": driver_version(device.removeprefix("gpu:").split(",")[0], environ),
            "cuda": seen["cuda"], "cudnn": seen["cudnn"], "versions": record["versions"]}


def platform_differences(a: dict | None, b: dict | None) -> list[str]:
    """How two runs' :func:`platform` records differ (``what: a -> b``), [] when alike; a
    run without a record (older entries) differs in ``platform: unknown``."""
    if a is None or b is None:
        return [] if a == b else ["platform: unknown"]
    flat = [_flat(p) for p in (a, b)]
    return [f"{k}: {flat[0].get(k)} -> {flat[1].get(k)}"
            for k in sorted(flat[0].keys() | flat[1].keys()) if flat[0].get(k) != flat[1].get(k)]


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
