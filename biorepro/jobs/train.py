"""The train stage: one run's model, trained in a process of its own or after other runs
of the same experiment in one process (``train.seeds_per_process``).

The process's first run picks the device (``runtime``: ``device``, ``gpu_wait_s``,
``lock_dir``), imports the backend (``train.backend``), records the device the backend
reports (:func:`biorepro.train.device.resolve`: a GPU it cannot use is never recorded)
and sets the determinism mode (its variables must be in the environment
before Python starts: :func:`missing_environment`; TensorFlow's threads can be set only
once per process); each run then clears Keras' state, seeds its sources, trains, and
writes the files of
:data:`biorepro.store.layouts.TRAIN`. Every file is a function of the key
(byte-identical when retrained in strict mode on the same machine and software); what
was observed (device, determinism settings read back, duration) goes into the
provenance only. :func:`compare` is what the ``verify`` rule reports: whether a
retrained entry's weights, scores and files are bit-identical to the stored one's, and
whether both ran on the same platform (GPU model, driver, CUDA/cuDNN, framework
versions: :func:`biorepro.train.device.platform`; no key ingredient, and a difference
between platforms is not nondeterminism).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from biorepro.joblog import Log, native_stderr
from biorepro.store.fingerprint import file_fingerprint
from biorepro.store.hashing import file_digest
from biorepro.store.layouts import TRAIN
from biorepro.train.determinism import environment_mismatch, job_environment
from biorepro.train.device import assign_device, platform_differences

SPLITS_SCORED = ("devel", "test")
# What a process sets up once for every run it trains: the device assignment (its GPU
# lock is held until the process exits: TensorFlow gives the GPU's memory back only
# then, after the entries are published) and TensorFlow's determinism settings.
_PROCESS: dict = {}


def missing_environment(job: dict) -> dict[str, str]:
    """The determinism variables to set before Python starts (empty when in effect)."""
    p = job["ingredients"]["params"]
    args = (p["determinism"], p["threads"], p["backend"]["name"])
    return job_environment(*args) if environment_mismatch(*args) else {}


def build(job: dict, out: Path, log: Log) -> dict:
    """Train the seed on the job's tensor cache and write the entry's files into ``out``."""
    runtime = job["runtime"]
    p, tensors = job["ingredients"]["params"], job["inputs"]["tensors"]
    files = check_sources(p, runtime)
    setup = _process_setup(p, runtime, log)
    from biorepro.train.determinism import set_precision
    from biorepro.train.fit import score_split, train_seed
    from biorepro.train.sources import reset
    from biorepro.train.weights import save_model

    reset()
    precision = set_precision(p["precision"], setup["determinism"])
    log(f"train: seeds {p['seeds']}, backend {p['backend']['name']}, determinism "
        f"{p['determinism']}, threads {p['threads']}, precision {p['precision']}")
    start = time.perf_counter()
    model, history, result, scorer = train_seed(tensors, p["seeds"], p, runtime, log,
                                                on_gpu=setup["device"] != "cpu")
    save_model(model, out)
    history.to_csv(out / TRAIN.history(), index=False)
    for split in SPLITS_SCORED:
        score_split(model, tensors, split, nan=result["status"] == "diverged").to_csv(
            out / TRAIN.scores(split=split), index=False)
        if scorer is not None:
            np.save(out / TRAIN.epoch_scores(split=split), np.stack(scorer.scores[split]))
    (out / TRAIN.result()).write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    duration = round(time.perf_counter() - start, 2)
    log(f"train: {result['status']}, {result['epochs_trained']} epochs, weights "
        f"{result['weights_sha256'][:16]}, {duration} s")
    return {**setup, "precision": precision, **files, "duration_s": duration}


def _process_setup(params: dict, runtime: dict, log: Log) -> dict:
    """What this process's first run set up, for the provenance: ``device`` (the one the
    backend reports), ``device_choice`` (why), ``compute`` (the platform), ``devices``,
    ``gpu_memory`` and ``determinism``; a later run must share its backend, determinism
    mode and threads."""
    backend = params["backend"]["name"]
    if not _PROCESS:
        from biorepro.train.backend import probe
        from biorepro.train.determinism import configure
        from biorepro.train.device import limit_gpu_memory, platform, resolve

        assignment = assign_device(runtime["device"], runtime["lock_dir"],
                                   runtime["gpu_wait_s"], slots=runtime["seeds_per_gpu"])
        with native_stderr(log):  # the framework's import notices go to the job's log
            gpu_memory = limit_gpu_memory(backend, assignment.memory_mb,
                                          runtime["seeds_per_gpu"])
            record = configure(params["determinism"], params["threads"], backend)
            seen = probe(backend)
        assignment = resolve(assignment, runtime["device"], backend, seen)
        log(f"device: {assignment.device} ({assignment.how}); {backend} sees "
            f"{', '.join(seen['devices'])}")
        _PROCESS.update(assignment=assignment, setup={
            "device": assignment.device, "device_choice": assignment.how,
            "compute": platform(assignment.device, seen, record), "devices": seen["devices"],
            "gpu_memory": gpu_memory, "determinism": record})
    record = _PROCESS["setup"]["determinism"]
    running = {d: record["versions"].get(d) for d in params["backend"]["versions"]}
    if running != params["backend"]["versions"]:
        raise RuntimeError(f"train.backend {backend}: this job runs {running}, but the "
                           f"workflow was planned with {params['backend']['versions']} (a "
                           "node or environment with other packages): install the planned "
                           "versions there, or plan and run in one environment")
    if (record["backend"], record["mode"], record["threads"]) != (
            backend, params["determinism"], params["threads"]):
        raise RuntimeError("one process trains runs of one train.backend, train.determinism "
                           f"and train.threads only: this one was set up for "
                           f"{record['backend']}, {record['mode']}, {record['threads']} threads")
    return _PROCESS["setup"]


def check_sources(params: dict, runtime: dict) -> dict:
    """The user's model file and the weights file the job reads, each checked against
    the fingerprint or digest planned into the key (refused when either changed since);
    returns them for the provenance."""
    found = {}
    if runtime["model_file"]:
        code = file_fingerprint(runtime["model_file"]).as_dict()
        if code != params["model"]["code"]:
            raise RuntimeError(f"model file {runtime['model_file']} (or a module it imports) "
                               "changed since the workflow was planned: run it again")
        found["model_file"] = {"path": runtime["model_file"], "code": code}
    if runtime["weights_file"]:
        digest = file_digest(runtime["weights_file"])
        if digest != params["weights"]["sha256"]:
            raise RuntimeError(f"weights file {runtime['weights_file']} changed since the "
                               "workflow was planned: run it again")
        found["weights_file"] = {"path": runtime["weights_file"], "sha256": digest}
    return found


def compare(stored: Path, retrained: Path) -> dict:
    """Bit-level comparison of a retrained entry with a stored one: weights, scores and
    every file but the provenance (``differing_files``)."""
    import pandas as pd

    from biorepro.store.entries import file_manifest, observed
    from biorepro.train.weights import fingerprint, max_abs_diff, read_weights

    a, b = (read_weights(d / TRAIN.weights()) for d in (stored, retrained))
    scores_equal = all(
        pd.read_csv(stored / TRAIN.scores(split=s))["score"].equals(
            pd.read_csv(retrained / TRAIN.scores(split=s))["score"]) for s in SPLITS_SCORED)
    fa, fb = fingerprint(a), fingerprint(b)
    ma, mb = file_manifest(stored), file_manifest(retrained)
    differing = sorted(f for f in ma.keys() | mb.keys() if ma.get(f) != mb.get(f))
    seeds = json.loads((stored / TRAIN.result()).read_text())["seeds"]
    seen = [observed(d) for d in (stored, retrained)]
    platforms = platform_differences(*(o.get("compute") for o in seen))
    report = {"seeds": seeds, "entry": str(stored), "device_store": seen[0].get("device"),
              "device_retrained": seen[1].get("device"), "same_platform": not platforms,
              "platform_differences": platforms,
              "weights_sha256_store": fa,
              "weights_sha256_retrained": fb, "weights_identical": fa == fb,
              "max_abs_weight_diff": max_abs_diff(a, b), "scores_identical": bool(scores_equal),
              "differing_files": differing}
    report["summary"] = (f"weights identical {report['weights_identical']}, scores identical "
                         f"{report['scores_identical']}, max |dw| "
                         f"{report['max_abs_weight_diff']:.3g}, differing files "
                         f"{', '.join(differing) or 'none'}"
                         + ("" if not platforms else
                            f" (NOT COMPARABLE: other platform: {'; '.join(platforms)})"))
    return report
