"""Benchmark: training on one GPU: input pipeline vs the device's limit, seeds per GPU,
mixed precision, and bit-identical reruns, per Keras backend (TensorFlow and/or JAX).

Every measurement runs in a fresh process whose environment holds, from before Python
starts, ``job_environment("strict", --threads, backend)`` (``KERAS_BACKEND`` and the
strict determinism variables); it calls ``configure("strict", ...)`` as a training job
does. Models are built directly from :mod:`biorepro.train.model` (``xception_small`` or a
``keras.applications`` backbone with ``weights=None``, default parameters of
:data:`biorepro.train.catalog.BUILTIN`, no augmentation) with a float32 output, Adam at
1e-3, binary cross-entropy, XLA off on TensorFlow (strict), JAX compiling as always.
Images are a synthetic tensor cache (random uint8, written with numpy in the cache's
layout, :mod:`biorepro.data.tensors`); no Snakemake, no video decoding.

1. ``throughput``: per backbone and image size one process; per batch size, training
   images/s fed from the tensor cache (:class:`biorepro.train.input.CacheBatches` with
   balanced sample weights, as a training job does) against the same compiled model
   stepping on one constant batch (the limit: on JAX a ``jax.Array`` put on the device
   once and handed to ``fit`` by a generator; on TensorFlow ``tf.data.Dataset.
   from_tensors(batch).repeat()``, which has no host work per step but leaves one
   host-to-device copy of the batch per step, well under a millisecond for these batches
   on a PCIe 4/5 GPU). After a warm-up fit of each (compilation) and a 3-step
   calibration, the two alternate over ``--rounds`` rounds (order rotated), each one
   ``fit`` of the same number of steps (about ``--seconds / --rounds`` s); images/s are
   steps x batch over the median round time (to the weights being ready); ratio
   cache/constant, goal >= 0.95. Backbones: ``xception_small`` at 64 px (batch 64,
   256), ``mobilenet_v2`` and ``resnet50`` at 224 px (batch 64, 256).
2. ``seeds_per_gpu``: k = 1, 2, 4, 8 concurrent processes (``xception_small`` 64 px,
   batch 64), each capped with ``limit_gpu_memory(backend, 0.95 * total / k, k)``
   (``total``: :func:`biorepro.train.device.gpu_memory_mb`), each built, compiled and
   warmed up, then started together (a file barrier) for ``--seconds`` of training;
   total images/s (sum) and each job's peak memory as the framework reports it
   (TensorFlow ``get_memory_info('GPU:0')['peak']``, JAX ``peak_bytes_in_use``).
3. ``precision``: ``float32`` and ``mixed_bfloat16`` (``set_dtype_policy`` before the
   model is built) in the same process, one after the other, each from seed 0 for
   ``--det-steps`` timed steps after a 2-step warm-up (``xception_small`` 64 px, batch
   256; ``--precision-model`` to change); two such processes: speed (mean of the two)
   and whether both give the same weights (:func:`biorepro.train.weights.
   weights_fingerprint`) per policy.
4. ``two_runs``: the float32 runs of 3: the same seed trained twice, in separate
   processes under strict determinism: bit-identical weights or not.
5. every backend of ``--backends`` (default: those importable here); the framework's
   view (:func:`biorepro.train.backend.probe`: devices, GPU name, CUDA, cuDNN) is
   recorded per backend. The JAX path never imports TensorFlow (recorded per process:
   ``tensorflow_imported``): JAX processes refuse ``import tensorflow`` as a machine
   without it would (``keras.utils.set_random_seed``, called by
   :func:`biorepro.train.sources.set_global`, otherwise imports an installed TensorFlow
   just to seed it: about 15 s per process here). JAX's throughput and seeds_per_gpu
   processes share a compilation cache; the precision runs compile on their own.

Without a GPU it runs on the CPU, memory caps recorded as not applicable and the table
saying that no GPU was found. Writes ``<--out>/gpu.json`` and ``<--out>/gpu.md``.

    .venv/bin/python bench/gpu.py --out DIR [--backends tensorflow,jax] [--seconds 2]
        [--rounds 3] [--det-steps 40] [--threads 4] [--precision-model xception_small:64:256]
        [--toy | --quick]

``--toy`` (alias ``--quick``): 16 px images, ``xception_small`` only (batch 32), k in
(1, 2), 4 determinism steps, 0.3 s per measurement: a CPU smoke run. Measured on the
shared 2-core development machine under load (load average about 4): 5.5 minutes for both
backends (12 processes, about 25 s each, nearly all of it importing the framework,
building the model and compiling: the timed parts take a few seconds in all); on an idle
machine with more cores, an estimate: well under half that.

Runtime of the full run on one GPU: an ESTIMATE (never run on a GPU while this was
written): per backend about 2 minutes of throughput (mostly process start, graph
building or XLA compilation of MobileNetV2 and ResNet50 at two batch sizes), 1 minute of
seeds_per_gpu (four groups, each a process start, a compile and 2 s) and 40 s of
precision: about 3.5-4 minutes per backend, 7-8 minutes for both. If it runs long, pass
one backend, or a smaller ``--seconds``.

Left simpler: no augmentation in the models; the constant batch on TensorFlow is copied
to the device each step (see 1); precision speed on a small model (the default keeps the
run short; ``--precision-model mobilenet_v2:224:64`` for a heavier one); the two-runs
check reuses the float32 precision runs; a failing measurement is recorded as an error
(``error`` in its JSON entry) rather than stopping the benchmark.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro.data.tensors import random_cache  # noqa: E402  (needs REPO on sys.path)
from biorepro.train.catalog import BUILTIN  # noqa: E402
from biorepro.train.determinism import job_environment  # noqa: E402

GOAL = 0.95  # cache images/s over constant images/s
MODE = "strict"
FULL = dict(throughput=[("xception_small", 64, (64, 256)), ("mobilenet_v2", 224, (64, 256)),
                        ("resnet50", 224, (64, 256))],
            jobs=("xception_small", 64, 64), ks=(1, 2, 4, 8), seconds=2.0, rounds=3,
            det_steps=40, images={64: 4096, 128: 2048, 224: 1024})
TOY = dict(throughput=[("xception_small", 16, (32,))], jobs=("xception_small", 16, 32),
           ks=(1, 2), seconds=0.3, rounds=2, det_steps=4, precision="xception_small:16:32",
           images={16: 512})
CHILD_TIMEOUT_S = 900


# --------------------------------------------------------------------------- the cache

def load_train(cache: str):
    """The cache's train split (reading it needs no OpenCV)."""
    from biorepro.data.tensors import load_split

    return load_split(cache, "train")


# --------------------------------------------------------------------------- child side

def setup(spec: dict) -> dict:
    """Cap the GPU memory (when asked), then configure strict determinism."""
    cap = None
    if spec.get("share_mb"):
        from biorepro.train.device import limit_gpu_memory

        cap = limit_gpu_memory(spec["backend"], spec["share_mb"], spec["k"])
    from biorepro.train.determinism import configure

    configure(MODE, spec["threads"], spec["backend"])
    return {"memory_cap": cap}


def build(name: str, size: int, backend: str, policy: str = "float32", seed: int = 0):
    """The compiled model ``name`` for ``size`` px, from ``seed``, under dtype ``policy``."""
    import keras

    from biorepro.train import sources
    from biorepro.train.model import pretrained, xception_small

    sources.reset()
    keras.mixed_precision.set_dtype_policy(policy)
    sources.set_global(seed, MODE)
    shape, params = (size, size, 3), dict(BUILTIN[name].params)
    net = (pretrained(name, shape, None, **params) if BUILTIN[name].application
           else xception_small(shape, **params))
    inputs = keras.Input(shape)
    outputs = keras.layers.Activation("linear", dtype="float32", name="p")(net(inputs))
    model = keras.Model(inputs, outputs)
    sources.reseed_noise(model, seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy"],
                  jit_compile=False if backend == "tensorflow" else "auto")
    return model


def fit_seconds(model, data, steps: int, callbacks=()) -> float:
    """Seconds of ``fit`` over ``steps`` steps of ``data``, until the weights are ready."""
    start = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False,
              callbacks=list(callbacks))
    np.asarray(model.trainable_weights[-1].numpy())  # wait for the device (JAX: async)
    return time.perf_counter() - start


def cache_batches(split, batch: int, steps: int, seed: int):
    """``steps`` batches of the cache, shuffled from ``seed``, balanced weights."""
    from biorepro.train.input import CacheBatches, balanced_weights

    per_epoch = math.ceil(len(split) / batch)
    return CacheBatches(split, batch, shuffle_seed=seed, epochs=math.ceil(steps / per_epoch),
                        weights=balanced_weights(split.labels))


def constant_batches(backend: str, split, batch: int):
    """A function returning fresh ``fit`` input: one batch, held by the framework, repeated."""
    from biorepro.train.input import balanced_weights

    x = np.array(split.images[:batch])
    y = split.labels[:batch].astype(np.float32)
    w = balanced_weights(split.labels)[:batch]
    if backend == "jax":
        import jax

        on_device = jax.device_put((x, y, w))

        def repeat():
            while True:
                yield on_device

        return repeat
    import tensorflow as tf

    return lambda: tf.data.Dataset.from_tensors((x, y, w)).repeat()


def peak_mb(backend: str) -> float | None:
    """The framework's peak device memory in this process (MiB), None on a CPU."""
    try:
        if backend == "jax":
            import jax

            dev = jax.local_devices()[0]
            if dev.platform == "cpu":
                return None
            stats = dev.memory_stats() or {}
            peak = stats.get("peak_bytes_in_use")
            return None if peak is None else peak / 2**20
        import tensorflow as tf

        if not tf.config.list_logical_devices("GPU"):
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    except Exception:  # noqa: BLE001 (a runtime without memory statistics)
        return None


def child_throughput(spec: dict) -> dict:
    """Measurement 1 for one backbone and size, every batch size (module docstring)."""
    from biorepro.train.backend import probe

    out = setup(spec)
    out["probe"] = probe(spec["backend"])
    split = load_train(spec["cache"])
    model = build(spec["model"], spec["size"], spec["backend"])
    rows = []
    for batch in spec["batches"]:
        row = {"model": spec["model"], "size": spec["size"], "batch": batch}
        try:
            constant = constant_batches(spec["backend"], split, batch)
            fit_seconds(model, cache_batches(split, batch, 2, 1000), 2)  # compile
            fit_seconds(model, constant(), 2)
            step_s = fit_seconds(model, cache_batches(split, batch, 3, 1001), 3) / 3
            steps = int(min(500, max(3, round(spec["seconds"] / spec["rounds"] / step_s))))
            times = {"cache": [], "constant": []}
            for r in range(spec["rounds"]):
                for w in (["cache", "constant"] if r % 2 == 0 else ["constant", "cache"]):
                    data = cache_batches(split, batch, steps, r) if w == "cache" else constant()
                    times[w].append(fit_seconds(model, data, steps))
            ips = {w: steps * batch / statistics.median(t) for w, t in times.items()}
            row.update(steps=steps, cache_ips=ips["cache"], constant_ips=ips["constant"],
                       ratio=ips["cache"] / ips["constant"], goal=GOAL,
                       met=ips["cache"] / ips["constant"] >= GOAL)
        except Exception as err:  # noqa: BLE001 (recorded: the other rows still run)
            row["error"] = f"{type(err).__name__}: {str(err)[:500]}"
        rows.append(row)
    out.update(rows=rows, peak_mb=peak_mb(spec["backend"]))
    return out


def child_job(spec: dict) -> dict:
    """One of k concurrent jobs (measurement 2): warm up, wait for the others, train for
    ``seconds``."""
    import keras

    out = setup(spec)
    split = load_train(spec["cache"])
    batch = spec["batch"]
    model = build(spec["model"], spec["size"], spec["backend"])
    fit_seconds(model, cache_batches(split, batch, 3, 1000), 3)
    barrier = Path(spec["barrier"])
    (barrier / f"ready.{spec['index']}").touch()
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while not (barrier / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal")
        time.sleep(0.01)

    class Stop(keras.callbacks.Callback):
        steps, start = 0, 0.0

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if time.perf_counter() - self.start >= spec["seconds"]:
                self.model.stop_training = True

    stop = Stop()
    steps = 100_000
    seconds = fit_seconds(model, cache_batches(split, batch, steps, spec["index"]), steps,
                          [stop])
    out.update(steps=stop.steps, seconds=seconds, ips=stop.steps * batch / seconds,
               peak_mb=peak_mb(spec["backend"]))
    return out


def child_precision(spec: dict) -> dict:
    """float32 then mixed_bfloat16 from seed 0 (measurements 3 and 4)."""
    from biorepro.train.weights import weights_fingerprint

    out = setup(spec)
    split = load_train(spec["cache"])
    batch, steps = spec["batch"], spec["det_steps"]
    for policy in ("float32", "mixed_bfloat16"):
        try:
            model = build(spec["model"], spec["size"], spec["backend"], policy)
            fit_seconds(model, cache_batches(split, batch, 2, 0), 2)
            seconds = fit_seconds(model, cache_batches(split, batch, steps, 1), steps)
            out[policy] = {"ips": steps * batch / seconds, "steps": steps,
                           "fingerprint": weights_fingerprint(model)}
        except Exception as err:  # noqa: BLE001 (e.g. no bfloat16 kernel on this device)
            out[policy] = {"error": f"{type(err).__name__}: {str(err)[:500]}"}
    return out


CHILDREN = {"throughput": child_throughput, "job": child_job, "precision": child_precision}


class HideTensorFlow:
    """An import finder refusing ``tensorflow``, as on a machine without it (JAX children:
    ``keras.utils.set_random_seed`` would otherwise import TensorFlow when it is installed,
    about 15 s, only to seed it); counts the refused imports."""

    refused = 0

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            HideTensorFlow.refused += 1
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by bench/gpu.py)")
        return None


def child_main(spec: dict) -> None:
    if spec["backend"] == "jax":
        sys.meta_path.insert(0, HideTensorFlow())
    result = CHILDREN[spec["kind"]](spec)
    result["tensorflow_imported"] = "tensorflow" in sys.modules
    result["tensorflow_imports_refused"] = HideTensorFlow.refused
    print(json.dumps(result))


# --------------------------------------------------------------------------- parent side

def child_cmd(spec: dict) -> list[str]:
    return [sys.executable, __file__, "--child", json.dumps(spec)]


def child_env(spec: dict) -> dict:
    """The job's environment; on JAX a compilation cache shared by the throughput and
    seeds_per_gpu processes (the k jobs load what the first compiled); not by the
    precision runs, which compile on their own as separate training jobs do."""
    env = {**os.environ, **job_environment(MODE, spec["threads"], spec["backend"])}
    if spec["backend"] == "jax" and spec["kind"] != "precision":
        env["JAX_COMPILATION_CACHE_DIR"] = spec["jax_cache"]
    return env


def parse(proc_out: str, proc_err: str, rc: int) -> dict:
    """The child's JSON (its last stdout line), or its error."""
    if rc == 0:
        try:
            return json.loads(proc_out.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            pass
    return {"error": f"exit {rc}: {proc_err.strip()[-2000:]}"}


def run_child(spec: dict) -> dict:
    """One measurement in a fresh process with the job's environment."""
    try:
        proc = subprocess.run(child_cmd(spec), env=child_env(spec), capture_output=True,
                              text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S} s"}
    return parse(proc.stdout, proc.stderr, proc.returncode)


def run_group(spec: dict, k: int, tmp: Path) -> list[dict]:
    """k concurrent jobs released together (measurement 2)."""
    barrier = Path(tempfile.mkdtemp(dir=tmp, prefix=f"k{k}-"))
    procs = []
    for i in range(k):
        s = {**spec, "k": k, "index": i, "barrier": str(barrier)}
        procs.append(subprocess.Popen(child_cmd(s), env=child_env(s), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while len(list(barrier.glob("ready.*"))) < k:
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            break  # one died (or hangs): release the others, report what came back
        time.sleep(0.05)
    (barrier / "go").touch()
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        results.append(parse(out, err, p.returncode))
    return results


def gpu_total_mb() -> int | None:
    """Total memory of GPU 0 from nvidia-smi (None without a GPU)."""
    from biorepro.train.device import gpu_memory_mb, visible_gpus

    return gpu_memory_mb("0") if visible_gpus() else None


def bench_backend(backend: str, cfg: dict, caches: dict, tmp: Path, total_mb) -> dict:
    """Measurements 1-4 on ``backend``."""
    base = {"backend": backend, "threads": cfg["threads"], "seconds": cfg["seconds"],
            "rounds": cfg["rounds"], "jax_cache": str(tmp / "jax-cache")}
    res = {"throughput": [], "probe": None, "tensorflow_imported": False}
    for model, size, batches in cfg["throughput"]:
        print(f"[{backend}] throughput {model} {size} px, batches {batches}", flush=True)
        r = run_child({**base, "kind": "throughput", "model": model, "size": size,
                       "batches": list(batches), "cache": str(caches[size])})
        res["probe"] = res["probe"] or r.get("probe")
        res["tensorflow_imported"] |= bool(r.get("tensorflow_imported"))
        if "error" in r:
            res["throughput"] += [{"model": model, "size": size, "batch": b,
                                   "error": r["error"]} for b in batches]
        else:
            res["throughput"] += [{**row, "peak_mb": r["peak_mb"]} for row in r["rows"]]
    on_gpu = bool(res["probe"] and res["probe"].get("gpus"))
    res["device"] = "gpu" if on_gpu else "cpu"
    model, size, batch = cfg["jobs"]
    res["seeds_per_gpu"] = []
    for k in cfg["ks"]:
        share = int(0.95 * total_mb / k) if on_gpu and total_mb else None
        print(f"[{backend}] seeds_per_gpu k={k}", flush=True)
        jobs = run_group({**base, "kind": "job", "model": model, "size": size, "batch": batch,
                          "cache": str(caches[size]), "share_mb": share}, k, tmp)
        res["tensorflow_imported"] |= any(j.get("tensorflow_imported") for j in jobs)
        errors = [j["error"] for j in jobs if "error" in j]
        row = {"k": k, "model": model, "size": size, "batch": batch,
               "memory_cap": ({"limit_mb": share} if share else
                              "not applicable (no GPU seen by the backend)"),
               "per_job_ips": [j.get("ips") for j in jobs],
               "per_job_peak_mb": [j.get("peak_mb") for j in jobs]}
        if errors:
            row["error"] = errors[0]
        else:
            row["total_ips"] = sum(j["ips"] for j in jobs)
            peaks = [p for p in row["per_job_peak_mb"] if p is not None]
            row["max_job_peak_mb"] = max(peaks) if peaks else None
        res["seeds_per_gpu"].append(row)
    one = res["seeds_per_gpu"][0].get("total_ips")
    for row in res["seeds_per_gpu"]:
        row["vs_k1"] = row["total_ips"] / one if one and row.get("total_ips") else None
    pmodel, psize, pbatch = cfg["precision"]
    runs = []
    for i in range(2):
        print(f"[{backend}] precision and determinism, run {i + 1}/2", flush=True)
        runs.append(run_child({**base, "kind": "precision", "model": pmodel, "size": psize,
                               "batch": pbatch, "det_steps": cfg["det_steps"],
                               "cache": str(caches[psize])}))
    res["tensorflow_imported"] |= any(r.get("tensorflow_imported") for r in runs)
    res["precision"] = {"model": pmodel, "size": psize, "batch": pbatch,
                        "steps": cfg["det_steps"]}
    for policy in ("float32", "mixed_bfloat16"):
        got = [r.get(policy, {"error": r.get("error", "missing")}) for r in runs]
        errors = [g["error"] for g in got if "error" in g]
        if errors:
            res["precision"][policy] = {"error": errors[0]}
            continue
        prints = [g["fingerprint"] for g in got]
        res["precision"][policy] = {"ips": statistics.mean(g["ips"] for g in got),
                                    "ips_runs": [g["ips"] for g in got],
                                    "fingerprints": prints, "identical": len(set(prints)) == 1}
    f32, bf16 = res["precision"]["float32"], res["precision"]["mixed_bfloat16"]
    res["precision"]["bf16_speedup"] = (bf16["ips"] / f32["ips"] if "ips" in f32 and
                                        "ips" in bf16 else None)
    res["two_runs"] = ({"error": f32["error"]} if "error" in f32 else
                       {"mode": MODE, "policy": "float32", "seed": 0,
                        "fingerprints": f32["fingerprints"], "identical": f32["identical"]})
    return res


def installed_backends() -> list[str]:
    return [b for b in ("tensorflow", "jax") if importlib.util.find_spec(b) is not None]


# --------------------------------------------------------------------------- the table

def fmt(v, spec=".1f", none="n/a") -> str:
    return none if v is None else format(v, spec)


def table(report: dict) -> str:
    lines = ["# GPU benchmark (bench/gpu.py)", ""]
    if report["gpu_found"]:
        lines.append(f"GPU 0: {report['gpu_total_mb']} MiB (nvidia-smi).")
    else:
        lines.append("**No GPU found**: every measurement ran on the CPU; memory caps not "
                     "applicable.")
    lines += ["", f"Determinism {MODE}, {report['threads']} threads; "
                  f"{'toy run; ' if report['toy'] else ''}{report['minutes']:.1f} minutes."]
    for backend, res in report["backends"].items():
        p = res.get("probe") or {}
        gpus = ", ".join(g.get("name") or "?" for g in p.get("gpus", [])) or "none"
        versions = ", ".join(f"{k} {v}" for k, v in (p.get("versions") or {}).items())
        lines += ["", f"## {backend} ({versions or '?'})", "",
                  f"Device used: {res['device']}; GPUs the framework sees: {gpus}; CUDA "
                  f"{p.get('cuda') or 'n/a'}, cuDNN {p.get('cudnn') or 'n/a'}; devices "
                  f"{p.get('devices')}.", "",
                  f"### Training img/s: tensor cache vs one constant batch (goal >= {GOAL})",
                  "", "| model | px | batch | cache img/s | constant img/s | ratio | goal | "
                  "peak MiB |", "|---|---:|---:|---:|---:|---:|---|---:|"]
        for r in res["throughput"]:
            if "error" in r:
                lines.append(f"| {r['model']} | {r['size']} | {r['batch']} | error: "
                             f"{one_line(r['error'])} | | | | |")
                continue
            lines.append(f"| {r['model']} | {r['size']} | {r['batch']} | {r['cache_ips']:.1f} | "
                         f"{r['constant_ips']:.1f} | {r['ratio']:.3f} | "
                         f"{'met' if r['met'] else 'MISSED'} | {fmt(r.get('peak_mb'), '.0f')} |")
        job = res["seeds_per_gpu"][0]
        lines += ["", f"### seeds_per_gpu: k concurrent jobs ({job['model']} {job['size']} px, "
                      f"batch {job['batch']})", "",
                  "| k | cap MiB/job | total img/s | vs k=1 | per-job img/s | peak MiB/job "
                  "(max) |", "|---:|---:|---:|---:|---|---:|"]
        for r in res["seeds_per_gpu"]:
            cap = r["memory_cap"]["limit_mb"] if isinstance(r["memory_cap"], dict) else "n/a"
            if "error" in r:
                lines.append(f"| {r['k']} | {cap} | error: {one_line(r['error'])} | | | |")
                continue
            per = ", ".join(fmt(v) for v in r["per_job_ips"])
            lines.append(f"| {r['k']} | {cap} | {r['total_ips']:.1f} | {fmt(r['vs_k1'], '.2f')} "
                         f"| {per} | {fmt(r['max_job_peak_mb'], '.0f')} |")
        pr = res["precision"]
        lines += ["", f"### Precision ({pr['model']} {pr['size']} px, batch {pr['batch']}, "
                      f"{pr['steps']} steps, two processes)", "",
                  "| policy | img/s | vs float32 | identical weights in 2 runs |",
                  "|---|---:|---:|---|"]
        for policy in ("float32", "mixed_bfloat16"):
            r = pr[policy]
            if "error" in r:
                lines.append(f"| {policy} | error: {one_line(r['error'])} | | |")
                continue
            vs = 1.0 if policy == "float32" else pr["bf16_speedup"]
            lines.append(f"| {policy} | {r['ips']:.1f} | {fmt(vs, '.2f')} | "
                         f"{'yes' if r['identical'] else 'NO'} |")
        t = res["two_runs"]
        verdict = (f"error: {one_line(t['error'])}" if "error" in t else
                   "bit-identical" if t["identical"] else "DIFFERENT")
        lines += ["", f"### Two runs, one seed ({MODE}, float32, separate processes): "
                      f"{verdict}"]
        if "fingerprints" in t:
            lines.append("")
            lines.append(f"Weight fingerprints: {', '.join(f[:16] for f in t['fingerprints'])}")
    return "\n".join(lines) + "\n"


def one_line(text: str, n: int = 120) -> str:
    return " ".join(text.split())[-n:].replace("|", "/")


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="folder for gpu.json and gpu.md")
    ap.add_argument("--backends", help="comma-separated (default: those importable: "
                                       f"{','.join(installed_backends()) or 'none'})")
    ap.add_argument("--seconds", type=float, help="timed seconds per measurement")
    ap.add_argument("--rounds", type=int, help="alternating rounds of cache and constant")
    ap.add_argument("--det-steps", type=int, help="timed steps of each precision run")
    ap.add_argument("--threads", type=int, help="threads per job (default min(4, cores))")
    ap.add_argument("--precision-model", help="model:px:batch of measurement 3 "
                                              "(default xception_small:64:256)")
    ap.add_argument("--toy", "--quick", action="store_true", dest="toy",
                    help="tiny sizes, xception_small only, k in (1, 2): a CPU smoke run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.out is None:
        ap.error("--out DIR is required")
    cfg = dict(TOY if args.toy else FULL)
    cfg.setdefault("precision", "xception_small:64:256")
    for key in ("seconds", "rounds", "det_steps", "precision"):
        value = getattr(args, key if key != "precision" else "precision_model")
        if value is not None:
            cfg[key] = value
    pm, ps, pb = cfg["precision"].split(":")
    if pm not in BUILTIN:
        ap.error(f"--precision-model: {pm} is not built in ({', '.join(BUILTIN)})")
    cfg["precision"] = (pm, int(ps), int(pb))
    cfg["threads"] = args.threads or min(4, os.cpu_count() or 1)
    backends = args.backends.split(",") if args.backends else installed_backends()
    missing = [b for b in backends if b not in ("tensorflow", "jax")
               or importlib.util.find_spec(b) is None]
    if missing or not backends:
        ap.error(f"--backends: not installed or unknown: {', '.join(missing) or 'none given'}")
    start = time.perf_counter()
    total_mb = gpu_total_mb()
    report = {"benchmark": "bench/gpu.py", "toy": args.toy, "mode": MODE,
              "threads": cfg["threads"], "seconds": cfg["seconds"], "rounds": cfg["rounds"],
              "gpu_found": total_mb is not None, "gpu_total_mb": total_mb, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sizes = {s for _, s, _ in cfg["throughput"]} | {cfg["jobs"][1], cfg["precision"][1]}
        caches = {s: random_cache(tmp / f"cache{s}", cfg["images"].get(s, 1024), s)
                  for s in sorted(sizes)}
        for backend in backends:
            report["backends"][backend] = bench_backend(backend, cfg, caches, tmp, total_mb)
    report["gpu_found"] = total_mb is not None and any(
        r["device"] == "gpu" for r in report["backends"].values())
    report["minutes"] = (time.perf_counter() - start) / 60
    report["parent_imported_tensorflow"] = "tensorflow" in sys.modules
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu.json").write_text(json.dumps(report, indent=1) + "\n")
    text = table(report)
    (args.out / "gpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
