"""Choosing the device of a training job, before TensorFlow is imported.

``train.device``: ``cpu`` hides every GPU; ``gpu`` needs one; ``auto`` takes a free GPU
if there is one, else the CPU. Under SLURM (``SLURM_JOB_ID`` set) the allocation's
``CUDA_VISIBLE_DEVICES`` is respected as is. Locally, Snakemake assigns no GPU ids,
so each job takes a free one through a lock file ``<lock_dir>/gpu<id>.lock``
(``flock``, held until the process exits); when none frees up within ``wait_s``
seconds, ``auto`` falls back to the CPU and ``gpu`` fails.

The GPU list comes from ``nvidia-smi -L``, or from ``BIOREPRO_FAKE_GPUS="0,1"``
(used by tests on machines without GPUs).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEVICES = ("auto", "cpu", "gpu")


class GpuUnavailable(RuntimeError):
    """``train.device`` is ``gpu`` but no GPU is visible or none became free in time."""


@dataclass
class Assignment:
    """The device a job got (``cpu`` or ``gpu:<id>``), why, and the GPU lock it holds."""

    device: str                   # "cpu" or "gpu:<id>"
    how: str                      # why this device
    lock: object | None = None    # open lock file, kept for the process lifetime


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


def _try_lock(lock_dir: Path, gpu: str):
    f = open(lock_dir / f"gpu{gpu}.lock", "a+")
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
                  environ=None, poll_s: float = 0.5) -> Assignment:
    """Pick the device and set ``CUDA_VISIBLE_DEVICES`` in ``environ`` accordingly."""
    environ = os.environ if environ is None else environ
    if device not in DEVICES:
        raise ValueError(f"train.device: {device!r} is not one of {', '.join(DEVICES)}")
    if device == "cpu":
        environ["CUDA_VISIBLE_DEVICES"] = ""
        return Assignment("cpu", "train.device is cpu")
    if environ.get("SLURM_JOB_ID") and environ.get("CUDA_VISIBLE_DEVICES"):
        return Assignment(f"gpu:{environ['CUDA_VISIBLE_DEVICES']}", "SLURM allocation")
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
        for gpu in gpus:
            lock = _try_lock(lock_dir, gpu)
            if lock is not None:
                environ["CUDA_VISIBLE_DEVICES"] = gpu
                return Assignment(f"gpu:{gpu}", f"free local GPU (lock {lock.name})", lock)
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    if device == "gpu":
        raise GpuUnavailable(f"no GPU of {gpus} became free within {wait_s:g} s "
                             "(train.gpu_wait_s)")
    environ["CUDA_VISIBLE_DEVICES"] = ""
    return Assignment("cpu", f"all GPUs {gpus} busy for {wait_s:g} s: fell back to CPU")


def enable_memory_growth() -> None:
    """Let TensorFlow allocate GPU memory as needed (several jobs can share a GPU)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
