"""Determinism modes of a training job (see the TF/Keras facts they rely on).

- ``strict``: ``PYTHONHASHSEED`` (fixed: :data:`HASH_SEED`), ``TF_ENABLE_ONEDNN_OPTS=0``
  (same kernels on every CPU) and ``TF_DETERMINISTIC_OPS=1`` in the environment *before*
  Python starts; ``enable_op_determinism()`` before ``compile``; XLA off; intra/inter-op
  threads pinned to the configured number (not the machine's core count); each source of
  randomness seeded (:mod:`biorepro.train.sources`).
- ``seeded``: ``PYTHONHASHSEED`` and the sources seeded only.
- ``off``: nothing seeded but the data order (for comparison).

The environment is the same for every run, so one process can train several runs in
turn (``train.seeds_per_process``).

``configure`` returns what it set *and* what it read back, for the entry's provenance.
"""

from __future__ import annotations

import os
import platform

MODES = ("strict", "seeded", "off")


HASH_SEED = "0"  # Python's string hashing: fixed, not a source of randomness varied by runs


def job_environment(mode: str, threads: int) -> dict[str, str]:
    """Variables that must be in the job's environment when Python starts."""
    if mode not in MODES:
        raise ValueError(f"train.determinism: {mode!r} is not one of {', '.join(MODES)}")
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    if mode in ("strict", "seeded"):
        env["PYTHONHASHSEED"] = HASH_SEED
    if mode == "strict":
        env.update(TF_ENABLE_ONEDNN_OPTS="0", TF_DETERMINISTIC_OPS="1",
                   OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
                   TF_NUM_INTEROP_THREADS=str(threads))
    return env


def environment_mismatch(mode: str, threads: int,
                         environ: dict[str, str] | None = None) -> dict[str, str]:
    """The required variables that the current environment lacks or has wrong."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in job_environment(mode, threads).items()
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


def configure(mode: str, threads: int) -> dict:
    """Apply ``mode`` in this process (TensorFlow is imported here; the sources of
    randomness are seeded by the training itself); return the record."""
    import keras
    import numpy as np
    import tensorflow as tf

    if mode == "strict":
        tf.config.experimental.enable_op_determinism()
        tf.config.optimizer.set_jit(False)
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return {
        "mode": mode,
        "threads": threads,
        "read_back": {
            "op_determinism": _op_determinism_enabled(tf),
            "jit": bool(tf.config.optimizer.get_jit()),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "environment": {k: os.environ.get(k) for k in
                            ("PYTHONHASHSEED", "TF_ENABLE_ONEDNN_OPTS", "TF_DETERMINISTIC_OPS",
                             "OMP_NUM_THREADS")},
        },
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "cpu_flags": cpu_flags(),
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
            "determinism_basis": ("op determinism on, XLA off" if deterministic else
                                  f"determinism {record['mode']}: not guaranteed")}


def _op_determinism_enabled(tf) -> bool:
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())
