"""The tensors stage job: the per-split tensor cache from the split folders."""

from __future__ import annotations

from pathlib import Path

from biorepro.joblog import Log
from biorepro.store.entries import staging, write_provenance
from biorepro.data.tensors import build_tensor_cache


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    size = ingredients["params"]["image_size"]
    log(f"tensors: reading {spec['split']} at {size}x{size}")
    with staging(out) as tmp:
        build_tensor_cache(Path(spec["split"]), tmp, size, log)
        write_provenance(tmp, ingredients)
    log(f"tensors: published {out}")
