"""The built-in demo dataset: generated once per set of generator parameters.

The videos are written to ``<root>/<params-hash>/`` (Replay-Attack layout) under a
temporary name and renamed when complete, so an interrupted generation is redone and
changing a generator parameter (then reverting it) never mixes two datasets.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

from biorepro.store.keys import canonical_json, derive_key

MARKER = "synth.json"


def ensure_dataset(root: str | Path, params: dict, log=None) -> Path:
    """Path of the synthetic dataset for ``params``, generating it if needed."""
    from biorepro.synth import generate_dataset

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    root = Path(root)
    target = root / derive_key(params)[:12]
    if (target / MARKER).is_file():
        return target
    tmp = root / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    log(f"biorepro: generating the synthetic dataset into {target} ...")
    try:
        generate_dataset(
            tmp, seed=params["seed"], clients=dict(params["clients"]),
            duration_s=params["duration_s"], difficulty=params["difficulty"],
            real_per_client=params["real_per_client"], progress=log)
        (tmp / MARKER).write_text(json.dumps(json.loads(canonical_json(params)), indent=2) + "\n")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / MARKER).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
