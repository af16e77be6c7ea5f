"""``biorepro doctor``: what this machine offers a training job, as each framework sees it.

``nvidia-smi`` says which GPUs the driver lists; each installed Keras backend is then
asked, in a process of its own (:mod:`biorepro.train.backend`), which devices it can use,
with the GPU's name, memory and compute capability, the CUDA and cuDNN versions and XLA.
A GPU that ``nvidia-smi`` lists but a backend cannot use is named with the cause and the
one command that fixes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from biorepro.train.backend import BACKENDS, fix_command, version, why_no_gpu
from biorepro.train.device import query_gpus, visible_gpus

GPU_FIELDS = ("index", "name", "memory.total", "driver_version", "compute_cap")


def probe_in_process(backend: str) -> dict:
    """:func:`biorepro.train.backend.probe` of ``backend`` in a fresh process (its own
    device set-up, its logs kept out of the report); ``{"error": text}`` on failure."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "biorepro.train.backend", backend],
                          capture_output=True, text=True, env=env, timeout=300)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                f"exit status {proc.returncode}"}
    return json.loads(lines[-1])


def report() -> tuple[list[str], bool]:
    """The doctor's lines, and whether every installed backend can use every GPU listed."""
    lines, healthy = [], True
    listed = visible_gpus()
    rows = {r[0]: r for r in query_gpus(GPU_FIELDS)}
    if listed:
        lines.append(f"nvidia-smi lists {len(listed)} GPU(s):")
        for gpu in listed:
            r = rows.get(gpu)
            lines.append(f"  GPU {gpu}: " + (f"{r[1]}, {r[2]} MiB, driver {r[3]}, compute "
                                             f"capability {r[4]}" if r else "(no details)"))
    else:
        lines.append("nvidia-smi lists no GPU (none, no driver, or no nvidia-smi): CPU only")
    for backend, dists in BACKENDS.items():
        if version(dists[0]) is None:
            lines.append(f"{backend}: not installed")
            continue
        seen = probe_in_process(backend)
        if "error" in seen:
            healthy = False
            lines.append(f"{backend}: failed to start: {seen['error']}")
            continue
        versions = ", ".join(f"{d} {v}" for d, v in seen["versions"].items())
        lines.append(f"{backend} ({versions}; CUDA build: {'yes' if seen['cuda_build'] else 'no'}"
                     f", CUDA {seen['cuda'] or '-'}, cuDNN {seen['cudnn'] or '-'}, XLA "
                     f"{seen['xla']})")
        lines.append(f"  devices: {', '.join(seen['devices'])}")
        for g in seen["gpus"]:
            memory = f", {g['memory_mb']} MiB" if g.get("memory_mb") else ""
            lines.append(f"  GPU: {g['name']}{memory}, compute capability "
                         f"{g['compute_capability']}")
        if listed and not seen["gpus"]:
            healthy = False
            lines.append(f"  cannot use the GPU: {why_no_gpu(backend, seen)}")
            lines.append(f"  fix: {fix_command(backend)}")
    return lines, healthy
