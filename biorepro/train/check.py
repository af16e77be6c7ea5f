"""Building a user's model once at planning, so that a bug in it stops the run before any
job (frame extraction may take hours before training starts).

The model of a training key is built (weights file loaded, output shape checked) in a
subprocess on the CPU, ``python -m biorepro.train.check``, which imports Keras on the
key's backend (``train.backend``; seconds): only models that run user input are checked
— a user's model file, or any weights file — and a model found to build is remembered
in ``CACHE`` under the digest of what it was built from (the key's model, parameters,
weights, augmentation and backend, the image size and the code that builds it), so
planning pays this once per model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from biorepro.store.fingerprint import code_fingerprint
from biorepro.store.hashing import write_cache
from biorepro.store.keys import derive_key
from biorepro.train.catalog import ModelError

CACHE = Path(".biorepro") / "cache" / "models.json"
CACHE_SIZE = 200
BUILD_KEYS = ("model", "model_params", "weights", "augment", "backend")


def needs_check(params: dict) -> bool:
    """Whether the model runs user input: a model file or a weights file."""
    return "builtin" not in params["model"] or params["weights"]["source"] != "none"


def _digest(params: dict, image_size: int) -> str:
    fp = code_fingerprint("biorepro.train.check")
    return derive_key({"build": {k: params[k] for k in BUILD_KEYS}, "image_size": image_size,
                       "code": fp.digest, "versions": fp.versions()})


def _known() -> list[str]:
    try:
        known = json.loads(CACHE.read_text())
    except (OSError, ValueError):
        return []
    return known if isinstance(known, list) else []


def check_model(params: dict, runtime: dict, image_size: int) -> None:
    """Raise :class:`ModelError` (the subprocess's message) unless the model of ``params``
    builds for ``image_size`` px images; a no-op for built-ins without a weights file and
    for models found to build before."""
    if not needs_check(params):
        return
    digest = _digest(params, image_size)
    known = _known()
    if digest in known:
        return
    spec = json.dumps({"params": params, "runtime": runtime, "image_size": image_size})
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3",
           "KERAS_BACKEND": params["backend"]["name"]}
    proc = subprocess.run([sys.executable, "-m", "biorepro.train.check", spec],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("ModelError: ")]
        raise ModelError(lines[-1].removeprefix("ModelError: ") if lines else
                         f"train.model: building the model failed:\n{proc.stderr[-2000:]}")
    try:
        write_cache(CACHE, (known + [digest])[-CACHE_SIZE:])
    except OSError:
        pass  # a working directory that cannot hold the cache only loses the speed-up


def main(argv=None) -> int:
    """Build the model described by the JSON argument; report a failure on stderr."""
    spec = json.loads((argv or sys.argv[1:])[0])
    from biorepro.train.model import build_model

    size = spec["image_size"]
    try:
        build_model(spec["params"], spec["runtime"], (size, size, 3), noise_seed=0)
    except ModelError as err:
        print(f"ModelError: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
