"""The tensors stage: the per-split tensor cache from the split folders."""

from __future__ import annotations

from pathlib import Path

from biorepro.data.tensors import build_tensor_cache
from biorepro.joblog import Log


def build(job: dict, out: Path, log: Log) -> dict:
    """Read the split entry's frames at ``image_size`` into the cache in ``out``."""
    size = job["ingredients"]["params"]["image_size"]
    log(f"tensors: reading {job['inputs']['split']} at {size}x{size}")
    return {"frames": build_tensor_cache(Path(job["inputs"]["split"]), out, size, log)}
