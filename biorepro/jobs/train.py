"""One training job: ``python -m biorepro.jobs.train --spec JSON --out DIR``.

The spec (from the plan) holds ``tensors`` (the tensor cache entry), ``seed``,
``params`` (see :mod:`biorepro.train.fit`), ``device``, ``gpu_wait_s``, ``lock_dir`` and
the entry's ``ingredients``. The job checks that the determinism variables are in its
environment (they only work when set before Python starts); when they are not, it
re-executes itself with them. It then picks the device, imports TensorFlow, trains,
and publishes the entry atomically: ``model.json`` and ``model.safetensors`` (see
:mod:`biorepro.train.weights`), ``history.csv``, ``scores_devel.csv``, ``scores_test.csv``,
``result.json`` and ``provenance.json``. Every file but the provenance is a function of
the spec (byte-identical when retrained in strict mode on the same machine and
software); what was observed (device, determinism settings read back, duration) goes
into the provenance only.

``--verify-against ENTRY --report FILE`` retrains the same spec into ``--out`` (a
scratch folder, not the store) and reports whether the weights, the scores and every
file are bit-identical to those of the store entry ``ENTRY``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from biorepro.train.determinism import environment_mismatch, job_environment
from biorepro.train.device import assign_device
from biorepro.joblog import job_logger


def _reexec_if_needed(spec: dict) -> None:
    p = spec["params"]
    missing = environment_mismatch(spec["seed"], p["determinism"], p["threads"])
    if missing and os.environ.get("BIOREPRO_REEXEC") != "1":
        env = {**os.environ, **job_environment(spec["seed"], p["determinism"], p["threads"]),
               "BIOREPRO_REEXEC": "1"}
        os.execve(sys.executable, [sys.executable, "-m", "biorepro.jobs.train", *sys.argv[1:]],
                  env)
    if missing:
        raise RuntimeError(f"determinism variables not in effect after re-exec: {missing}")


def train_into(spec: dict, out: Path, log) -> dict:
    """Train and write every output file into the folder ``out``; return what was
    observed: ``determinism`` (:func:`biorepro.train.determinism.configure`), ``duration_s``."""
    from biorepro.train.determinism import configure
    from biorepro.train.device import enable_memory_growth
    from biorepro.train.fit import score_split, train_seed
    from biorepro.train.weights import save_model

    p = spec["params"]
    record = configure(spec["seed"], p["determinism"], p["threads"])
    enable_memory_growth()
    log(f"train: seed {spec['seed']}, determinism {p['determinism']}, "
        f"threads {p['threads']}, devices {record['devices']}")
    start = time.perf_counter()
    model, history, result = train_seed(spec["tensors"], spec["seed"], p, log)
    diverged = result["status"] == "diverged"
    save_model(model, out)
    history.to_csv(out / "history.csv", index=False)
    for split in ("devel", "test"):
        score_split(model, spec["tensors"], split, nan=diverged).to_csv(
            out / f"scores_{split}.csv", index=False)
    (out / "result.json").write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    observed = {"determinism": record, "duration_s": round(time.perf_counter() - start, 2)}
    log(f"train: {result['status']}, {result['epochs_trained']} epochs, weights "
        f"{result['weights_sha256'][:16]}, {observed['duration_s']} s")
    return observed


def compare_with(entry: Path, retrained: Path) -> dict:
    """Bit-level comparison of a retrained entry with a store entry: weights, scores and
    every file but the provenance (``differing_files``)."""
    import pandas as pd

    from biorepro.store.entries import file_manifest
    from biorepro.train.weights import WEIGHTS, fingerprint, max_abs_diff, read_weights

    a, b = (read_weights(d / WEIGHTS) for d in (entry, retrained))
    scores_equal = all(
        pd.read_csv(entry / f"scores_{s}.csv")["score"].equals(
            pd.read_csv(retrained / f"scores_{s}.csv")["score"]) for s in ("devel", "test"))
    fa, fb = fingerprint(a), fingerprint(b)
    ma, mb = file_manifest(entry), file_manifest(retrained)
    differing = sorted(f for f in ma.keys() | mb.keys() if ma.get(f) != mb.get(f))
    return {"entry": str(entry), "weights_sha256_store": fa, "weights_sha256_retrained": fb,
            "weights_identical": fa == fb, "max_abs_weight_diff": max_abs_diff(a, b),
            "scores_identical": bool(scores_equal), "differing_files": differing}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True, help="JSON job spec (or @file)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--log")
    ap.add_argument("--verify-against", type=Path)
    ap.add_argument("--report", type=Path)
    ap.add_argument("--receipt", type=Path, help="written once the entry is published")
    args = ap.parse_args(argv)
    text = Path(args.spec[1:]).read_text() if args.spec.startswith("@") else args.spec
    spec = json.loads(text)
    _reexec_if_needed(spec)
    with job_logger(args.log) as log:
        assignment = assign_device(spec["device"], spec["lock_dir"], spec["gpu_wait_s"])
        log(f"device: {assignment.device} ({assignment.how})")
        if args.verify_against:
            import shutil

            shutil.rmtree(args.out, ignore_errors=True)
            args.out.mkdir(parents=True)
            train_into(spec, args.out, log)
            report = {"seed": spec["seed"], **compare_with(args.verify_against, args.out)}
            args.report.write_text(json.dumps(report, indent=2) + "\n")
            log(f"verify: weights identical {report['weights_identical']}, scores identical "
                f"{report['scores_identical']}, max |dw| {report['max_abs_weight_diff']:.3g}, "
                f"differing files {', '.join(report['differing_files']) or 'none'}")
            return 0
        from biorepro.store.entries import needs_building, staging, write_provenance, write_receipt

        if not needs_building(args.out, [spec["tensors"]], log):
            if args.receipt:
                write_receipt(args.receipt, args.out)
            return 0
        with staging(args.out) as tmp:
            observed = train_into(spec, tmp, log)
            write_provenance(tmp, spec["ingredients"],
                             {"device": assignment.device, "device_choice": assignment.how,
                              **observed})
        if args.receipt:
            write_receipt(args.receipt, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
