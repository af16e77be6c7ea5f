"""Keras 3's backend of a training job (``train.backend``: ``tensorflow`` or ``jax``), and
what that backend actually runs on.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so a job has it in its
environment before Python starts (:func:`biorepro.train.determinism.job_environment`).
The backend's name and its distributions' versions enter the training key
(:func:`key_part`). What the framework reports after ``CUDA_VISIBLE_DEVICES`` was set
(:func:`probe`: devices, GPU name and compute capability, CUDA and cuDNN versions) is
what the provenance records: a GPU listed by ``nvidia-smi`` or held through a lock is
not a GPU used until the framework says so. When ``nvidia-smi`` lists a GPU that the
framework cannot use, :func:`why_no_gpu` says why and :func:`fix_command` what to run.

``python -m biorepro.train.backend <backend>`` prints :func:`probe` as JSON: ``biorepro
doctor`` runs it in a process of its own per backend (a framework sets its devices up once
per process).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
import sys
from pathlib import Path

from biorepro.errors import Refusal

# Backend -> the distributions whose versions enter the training key.
BACKENDS = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib")}
# Backend -> the distributions that bring its CUDA libraries (pip wheels).
CUDA_DISTRIBUTIONS = {"tensorflow": ("nvidia-cudnn-cu12", "nvidia-cublas-cu12",
                                     "nvidia-cuda-runtime-cu12"),
                      "jax": ("jax-cuda12-plugin", "jax-cuda12-pjrt")}
# How each backend's CUDA build is asked for on PyPI (for the fix command without a lock).
CUDA_REQUIREMENT = {"tensorflow": "tensorflow[and-cuda]", "jax": "jax[cuda12]"}
GPU_LOCK = Path(__file__).resolve().parents[2] / "requirements-gpu.lock"


class BackendError(Refusal, ValueError):
    """``train.backend`` names a backend that is unknown or not installed."""


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def key_part(backend: str) -> dict:
    """``{"name": backend, "versions": {distribution: version}}``, for the training key;
    raises :class:`BackendError` naming the fix when the backend is not installed."""
    if backend not in BACKENDS:
        raise BackendError(f"train.backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    versions = {d: version(d) for d in BACKENDS[backend]}
    missing = [d for d, v in versions.items() if v is None]
    if missing:
        lock = GPU_LOCK.with_name("requirements.lock")
        what = (f"-r {shlex.quote(str(lock))}" if lock.is_file() else " ".join(missing))
        raise BackendError(f"train.backend: {backend} is not installed in this environment "
                           f"({sys.executable}: {', '.join(missing)} missing); install it with "
                           f"{shlex.quote(sys.executable)} -m pip install {what}")
    return {"name": backend, "versions": versions}


def probe(backend: str) -> dict:
    """What ``backend`` sees in this process (imports it): ``devices`` (the framework's
    names), ``gpus`` (``name``, ``compute_capability``, ``memory_mb`` where known),
    ``cuda`` and ``cudnn`` (versions it was built with or loaded; None when unknown or a
    CPU build), ``cuda_build``, ``xla``, and the backend's ``versions``."""
    found = _probe_tensorflow() if backend == "tensorflow" else _probe_jax()
    return {"backend": backend, "versions": {d: version(d) for d in BACKENDS[backend]},
            **found}


def _probe_tensorflow() -> dict:
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        cc = details.get("compute_capability")
        gpus.append({"name": details.get("device_name"), "memory_mb": None,
                     "compute_capability": ".".join(map(str, cc)) if cc else None})
    return {"devices": [d.name for d in tf.config.list_logical_devices()], "gpus": gpus,
            "cuda_build": bool(build.get("is_cuda_build")),
            "cuda": build.get("cuda_version"), "cudnn": build.get("cudnn_version"),
            "xla": "available (off in strict mode)" if tf.test.is_built_with_xla() else "absent"}


def _probe_jax() -> dict:
    import jax

    devices = jax.devices()
    gpus = []
    for d in devices:
        if d.platform != "gpu":
            continue
        try:
            limit = (d.memory_stats() or {}).get("bytes_limit")
        except Exception:  # noqa: BLE001 (not every runtime reports memory)
            limit = None
        gpus.append({"name": d.device_kind, "compute_capability": getattr(
            d, "compute_capability", None), "memory_mb": limit and int(limit) // 2**20})
    cuda = cudnn = None
    if gpus:
        try:
            from jax._src.lib import cuda_versions  # present with the CUDA plugin

            cuda = _dotted(cuda_versions.cuda_runtime_get_version(), (1000, 10))
            cudnn = _dotted(cuda_versions.cudnn_get_version(), (10000, 100, 1))
        except Exception:  # noqa: BLE001 (private module: versions then unknown)
            pass
    return {"devices": [f"{d.platform}:{d.id}" for d in devices], "gpus": gpus,
            "cuda_build": version("jax-cuda12-plugin") is not None, "cuda": cuda,
            "cudnn": cudnn, "xla": f"always (jit); XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"}


def _dotted(v: int | None, parts: tuple[int, ...]) -> str | None:
    """A version packed as an integer, unpacked by ``parts`` (divisors): CUDA packs
    ``major*1000 + minor*10`` (12080: ``(1000, 10)``), cuDNN 9 ``major*10000 + minor*100
    + patch`` (90300: ``(10000, 100, 1)``)."""
    if not v:
        return None
    out = []
    for d in parts:
        out.append(str(v // d))
        v %= d
    return ".".join(out)


def why_no_gpu(backend: str, seen: dict, environ=None) -> str:
    """Why ``backend`` (its :func:`probe` ``seen``) has no GPU although one is listed."""
    environ = os.environ if environ is None else environ
    if environ.get("CUDA_VISIBLE_DEVICES") == "":
        return "CUDA_VISIBLE_DEVICES is empty: every GPU is hidden"
    missing = [d for d in CUDA_DISTRIBUTIONS[backend] if version(d) is None]
    if backend == "tensorflow" and not seen.get("cuda_build"):
        return f"this TensorFlow {seen['versions'].get('tensorflow')} is a build without CUDA"
    if missing:
        return (f"{backend}'s CUDA libraries are not installed ({', '.join(missing)} missing: "
                f"they come only with {CUDA_REQUIREMENT[backend]})")
    return (f"{backend} could not load CUDA or talk to the driver although its CUDA "
            f"libraries are installed (driver older than CUDA {seen.get('cuda') or '?'} "
            "needs, or another CUDA on LD_LIBRARY_PATH); its own log says which")


def fix_command(backend: str) -> str:
    """The command that installs ``backend``'s CUDA build into this environment: the
    repository's GPU lock when there is one, else the pinned PyPI requirement."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    if GPU_LOCK.is_file():
        return f"{pip} -r {shlex.quote(str(GPU_LOCK))}"
    pinned = f"{CUDA_REQUIREMENT[backend]}=={version(BACKENDS[backend][0])}"
    return f"{pip} {shlex.quote(pinned)}"


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1])))
