"""Determinism modes of a training job, per Keras backend (see the TF/JAX facts they rely on).

- ``strict``: ``PYTHONHASHSEED`` (fixed: :data:`HASH_SEED`) in the environment *before*
  Python starts, and each source of randomness seeded (:mod:`biorepro.train.sources`).
  On TensorFlow also ``TF_ENABLE_ONEDNN_OPTS=0`` (same kernels on every CPU) and
  ``TF_DETERMINISTIC_OPS=1`` before Python starts, ``enable_op_determinism()`` before
  ``compile``, XLA off, intra/inter-op threads pinned to the configured number (not the
  machine's core count): GPU ops without a deterministic kernel then raise (found before
  training by :mod:`biorepro.train.kernels`). On JAX, ``XLA_FLAGS=
  --xla_gpu_deterministic_ops=true`` before Python starts (XLA's GPU kernels deterministic,
  scatter-adds slower; compilation stays on: XLA is JAX's only compiler).
- ``seeded``: ``PYTHONHASHSEED`` and the sources seeded only.
- ``off``: nothing seeded but the data order (for comparison).

The environment is the same for every run, so one process can train several runs in
turn (``train.seeds_per_process``).

``configure`` returns what it set *and* what it read back, for the entry's provenance.
"""

from __future__ import annotations

import os
import platform

from biorepro.train.backend import BACKENDS
from biorepro.train.backend import version as backend_version

MODES = ("strict", "seeded", "off")


HASH_SEED = "0"  # Python's string hashing: fixed, not a source of randomness varied by runs


JAX_DETERMINISTIC_FLAG = "--xla_gpu_deterministic_ops=true"


def job_environment(mode: str, threads: int, backend: str = "tensorflow") -> dict[str, str]:
    """Variables that must be in the job's environment when Python starts: Keras'
    backend, and those of the determinism ``mode``."""
    if mode not in MODES:
        raise ValueError(f"train.determinism: {mode!r} is not one of {', '.join(MODES)}")
    env = {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if mode in ("strict", "seeded"):
        env["PYTHONHASHSEED"] = HASH_SEED
    if mode == "strict":
        env["OMP_NUM_THREADS"] = str(threads)
        if backend == "jax":
            env["XLA_FLAGS"] = JAX_DETERMINISTIC_FLAG
        else:
            env.update(TF_ENABLE_ONEDNN_OPTS="0", TF_DETERMINISTIC_OPS="1",
                       TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    return env


def environment_mismatch(mode: str, threads: int, backend: str = "tensorflow",
                         environ: dict[str, str] | None = None) -> dict[str, str]:
    """The required variables that the current environment lacks or has wrong."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in job_environment(mode, threads, backend).items()
            if k != "TF_CPP_MIN_LOG_LEVEL" and environ.get(k) != v}


def cpu_flags() -> list[str]:
    """The CPU's SIMD flags that change which kernels TensorFlow runs."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sse4")))
    except OSError:
        pass
    return []


def configure(mode: str, threads: int, backend: str = "tensorflow") -> dict:
    """Apply ``mode`` in this process (the backend is imported here; the sources of
    randomness are seeded by the training itself); return the record."""
    import keras
    import numpy as np

    if keras.backend.backend() != backend:
        raise RuntimeError(f"Keras runs on {keras.backend.backend()}, not on train.backend "
                           f"{backend}: KERAS_BACKEND must be set before Python starts")
    read_back = _configure_jax(mode) if backend == "jax" else _configure_tensorflow(mode, threads)
    return {
        "mode": mode,
        "threads": threads,
        "backend": backend,
        "read_back": read_back,
        "versions": {"keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version(),
                     **{d: backend_version(d) for d in BACKENDS[backend]}},
        "cpu_flags": cpu_flags(),
    }


def _configure_tensorflow(mode: str, threads: int) -> dict:
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    if mode == "strict":
        tf.config.experimental.enable_op_determinism()
        tf.config.optimizer.set_jit(False)
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return {
        "op_determinism": bool(tf_config.is_op_determinism_enabled()),
        "jit": bool(tf.config.optimizer.get_jit()),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "environment": {k: os.environ.get(k) for k in
                        ("PYTHONHASHSEED", "TF_ENABLE_ONEDNN_OPTS", "TF_DETERMINISTIC_OPS",
                         "OMP_NUM_THREADS")},
    }


def _configure_jax(mode: str) -> dict:
    import jax

    flags = os.environ.get("XLA_FLAGS", "").split()
    return {
        "op_determinism": JAX_DETERMINISTIC_FLAG in flags,
        "jit": True,
        "default_backend": jax.default_backend(),
        "environment": {k: os.environ.get(k) for k in
                        ("PYTHONHASHSEED", "XLA_FLAGS", "OMP_NUM_THREADS")},
    }


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def set_precision(policy: str, record: dict) -> dict:
    """Set Keras' global dtype policy (``train.precision``) before the model is built;
    returns what the provenance records about it. Mixed precision computes in 16 bits
    and keeps float32 weights; ``mixed_float16`` scales the loss (Keras wraps the
    optimiser) and, on CPUs without float16 units, is emulated (slow). Its determinism
    is that of the run (``record``): op determinism makes 16-bit kernels repeatable as
    it does 32-bit ones, on the same device and software."""
    import keras

    if policy not in PRECISIONS:
        raise ValueError(f"train.precision: {policy!r} is not one of {', '.join(PRECISIONS)}")
    keras.mixed_precision.set_dtype_policy(policy)
    got = keras.mixed_precision.dtype_policy()
    deterministic = record["mode"] == "strict" and record["read_back"]["op_determinism"]
    return {"policy": got.name, "compute_dtype": got.compute_dtype,
            "variable_dtype": got.variable_dtype, "loss_scaling": policy == "mixed_float16",
            "deterministic": bool(deterministic),
            "determinism_basis": (_basis(record) if deterministic else
                                  f"determinism {record['mode']}: not guaranteed")}


def _basis(record: dict) -> str:
    if record["backend"] == "jax":
        return f"XLA_FLAGS={JAX_DETERMINISTIC_FLAG}"
    return "op determinism on, XLA off"
