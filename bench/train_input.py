"""Benchmark: training input pipelines per built-in backbone, determinism, large-cache memory.

For each chosen backbone and image size, one process under ``strict`` determinism with 2
threads (environment set before Python starts) builds and compiles, once, the model a
training job builds for ``train.model`` (defaults otherwise, batch 32, XLA off) and trains
it on one synthetic cache of N images (N a multiple of 32: every step full) fed three ways:

- ``memmap``: the workflow's pipeline (tf.data over the memory-mapped tensor cache);
- ``numpy``: the cache's images copied into memory, fitted by Keras' array adapter;
- ``constant``: one batch of the cache, a constant tensor returned N/32 times by a
  ``tf.data`` map (element spec as above: batch dimension unknown), no input cost at all.

The pipelines alternate epoch by epoch: one untimed warm-up epoch each (graph building),
then R rounds of one epoch each, round r running them in the order rotated by r. Each
epoch is one ``model.fit(..., epochs=1)`` call on the same compiled model: the train step,
weights and optimizer state carry over from call to call (harmless for throughput). A
pipeline's images/s is N over the median of its R epoch times (from epoch begin to end,
the adapter's set-up before it not counted); the ratios memmap/numpy (goal >= 0.95) and
memmap/constant (goal >= 0.98) divide those medians. Interleaved in one process, the
three share whatever load the machine is under, so the ratios hold where separate runs'
images/s vary up to 3x. N comes from ``STEP_S``: epochs of about ``--epoch-s`` seconds,
at least one step.

With ``xception_small`` at 64 px chosen, its cache is then read in separate processes
(R + 1 epochs, the first untimed) as split folders of PNGs
(``keras.utils.image_dataset_from_directory``) and by ``memmap`` under ``seeded``
determinism (overhead of strict); then a tensor cache larger than a memory budget is
streamed for one epoch while the process's anonymous (heap) memory is sampled: its growth
after the first step (graph built) must stay far below the cache size (images are read
from the page cache, batch by batch). ``--big-gb 0`` skips that.

    .venv/bin/python bench/train_input.py [--models a,b] [--sizes 64,128] [--epoch-s 3]
        [--images N] [--rounds 5] [--big-gb 1.5] [--quick | --toy]

Runtime on 2 cores, estimated for the full run (5 backbones at 64 and 128 px, xception at
128 only) from ``STEP_S``, which was measured under load (load average 3-7, about twice
the idle times): about 25 minutes idle, of which 18 epochs per row about 10 (ResNet50 and
Xception, one step per epoch, most of it), one graph build per row about 6 and the 1.5 GB
large cache about 10. Measured under load average 3-4: ``--quick`` (xception_small and
mobilenet_v2 at 64 px, 1 s epochs, 3 rounds, a 0.15 GB large cache) 3.8 minutes;
``--models xception_small,mobilenet_v2 --sizes 64 --big-gb 0`` 4.6. ``--toy``
(xception_small at 64 px, one 32-image step per epoch, one round, a 0.02 GB large cache
against a 0.01 GB budget: every measurement above, at the smallest size) 1.3 minutes
under load average 1-2; its ratios are not comparable with the goals.
"""

from __future__ import annotations

import argparse
import json
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

BATCH, THREADS = 32, 2
GOALS = {"numpy": 0.95, "constant": 0.98}  # memmap images/s over theirs
# Seconds per training step (batch 32, strict, 2 threads) on the shared 2-core development
# machine under other load; other sizes scale the 128 px time by the image area.
STEP_S = {("xception_small", 64): 0.12, ("xception_small", 128): 0.7,
          ("mobilenet_v2", 64): 1.0, ("mobilenet_v2", 128): 2.5,
          ("efficientnet_b0", 64): 0.5, ("efficientnet_b0", 128): 3.6,
          ("resnet50", 64): 10.0, ("resnet50", 128): 20.0, ("xception", 128): 20.0}


def images_for(model: str, size: int, epoch_s: float) -> int:
    """The image count giving epochs of about ``epoch_s`` seconds (whole batches)."""
    step_s = STEP_S.get((model, size)) or STEP_S[(model, 128)] * (size / 128) ** 2
    return BATCH * max(1, round(epoch_s / step_s))


def write_folders(cache: Path, out: Path) -> Path:
    """The cache's train split as ``out/<label>/<row>.png``."""
    import cv2

    from biorepro.data.tensors import load_split

    train = load_split(cache, "train")
    for label in ("attack", "bonafide"):
        (out / label).mkdir(parents=True, exist_ok=True)
    for i in range(len(train)):
        label = "bonafide" if train.labels[i] else "attack"
        cv2.imwrite(str(out / label / f"{i:06d}.png"), train.images[i][..., ::-1])
    return out


def run(args) -> dict:
    """Train on each of ``args.pipelines`` in this process (started by :func:`measure`):
    a warm-up epoch each, then ``args.rounds`` rotated rounds; see the module docstring."""
    from biorepro.train.determinism import configure

    configure(args.mode, THREADS)
    import keras
    import tensorflow as tf

    from biorepro import config as cfg
    from biorepro.data.tensors import load_split
    from biorepro.plan import train_params
    from biorepro.store.hashing import file_digest
    from biorepro.train import optim, sources
    from biorepro.train.fit import seeded_model
    from biorepro.train.input import CacheBatches

    pipelines = args.pipelines.split(",")
    train = load_split(args.cache, "train")
    n, shape = len(train), train.images.shape[1:]
    conf = cfg.validate({"train": {"model": args.model, "device": "cpu",
                                   "determinism": args.mode},
                         "tensors": {"image_size": shape[0]}})
    params, runtime = train_params(conf, file_digest)
    seeds = {"init": 0, "order": 0, "noise": 0}
    model = seeded_model(params, runtime, shape, seeds)
    epochs = len(pipelines) * (1 + args.rounds)
    model.compile(optimizer=optim.optimizer(params["optimizer"], optim.schedule(
                      params["schedule"], params["learning_rate"], epochs, n // BATCH)),
                  loss=optim.loss(params["label_smoothing"]), metrics=["accuracy"],
                  jit_compile=False)
    labels = train.labels.astype("float32")
    x0, y0 = np.array(train.images[:BATCH]), labels[:BATCH]

    def same_batch(_):  # batch dimension unknown, as in the other pipelines
        return (tf.compat.v1.placeholder_with_default(x0, (None, *shape)),
                tf.compat.v1.placeholder_with_default(y0, (None,)))

    fit_args = {
        "memmap": lambda: dict(x=CacheBatches(train, BATCH, shuffle_seed=0)),
        "numpy": lambda: dict(x=np.array(train.images), y=labels, batch_size=BATCH,
                              shuffle=True),
        "constant": lambda: dict(x=tf.data.Dataset.range(n // BATCH).map(same_batch)),
        "folders": lambda: dict(x=keras.utils.image_dataset_from_directory(
            args.folders, image_size=shape[:2], batch_size=BATCH, seed=0,
            label_mode="binary")),
    }
    inputs = {p: fit_args[p]() for p in pipelines}
    sources.set_global(seeds["noise"], args.mode)  # as a training job does before fitting
    memory = {"base": None, "peak": 0.0}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

        def on_train_batch_end(self, batch, logs=None):
            if memory["base"] is None:  # graph built: TensorFlow's own memory taken
                memory["base"] = rss_anon_mb()
            if batch % 20 == 0:
                memory["peak"] = max(memory["peak"], rss_anon_mb())

    clock, times = Clock(), {p: [] for p in pipelines}
    for r in range(1 + args.rounds):  # round 0: warm-up, not timed
        k = r % len(pipelines)
        for p in pipelines[k:] + pipelines[:k]:
            model.fit(**inputs[p], epochs=1, verbose=0, callbacks=[clock])
            if r:
                times[p].append(clock.seconds)
    return {"images_per_s": {p: n / statistics.median(t) for p, t in times.items() if t},
            "peak_anon_mb": memory["peak"], "growth_mb": memory["peak"] - memory["base"],
            "cache_mb": train.images.nbytes / 2**20}


def rss_anon_mb() -> float:
    """This process's anonymous resident memory (MB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(cache: Path, model: str, pipelines: str, mode: str, rounds: int,
            folders: Path | str = "") -> dict:
    """:func:`run` in a fresh process with ``mode``'s environment."""
    from biorepro.train.determinism import job_environment

    env = {**os.environ, **job_environment(mode, THREADS)}
    out = subprocess.run([sys.executable, __file__, "--run", "--cache", str(cache),
                          "--model", model, "--pipelines", pipelines, "--mode", mode,
                          "--rounds", str(rounds), "--folders", str(folders)],
                         env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def backbones(args, tmp: Path) -> dict:
    """Measure and print memmap, numpy and constant for each chosen backbone and size;
    returns the memmap images/s and cache of xception_small at 64 px (if chosen)."""
    print(f"images/s, batch {BATCH}, strict, {THREADS} threads, one process per row: median "
          f"of {args.rounds} epochs per pipeline, interleaved in rotating order; goals: "
          f"memmap/numpy >= {GOALS['numpy']}, memmap/constant >= {GOALS['constant']}")
    print(f"{'backbone':16s} {'px':>4s} {'images':>6s} {'memmap':>8s} {'numpy':>8s} "
          f"{'constant':>8s}  {'/numpy':>10s}  {'/constant':>10s}", flush=True)
    extras = {}
    for model in args.models:
        for size in args.sizes:
            if size < BUILTIN[model].min_size:
                print(f"{model:16s} {size:4d}  skipped: {model} needs >= "
                      f"{BUILTIN[model].min_size} px", flush=True)
                continue
            n = args.images or images_for(model, size, args.epoch_s)
            cache = random_cache(tmp / f"{model}_{size}", n, size)
            r = measure(cache, model, "memmap,numpy,constant", "strict",
                        args.rounds)["images_per_s"]
            ratios = [f"{r['memmap'] / r[p]:.3f} {'met' if r['memmap'] / r[p] >= g else 'MISS':>4s}"
                      for p, g in GOALS.items()]
            print(f"{model:16s} {size:4d} {n:6d} {r['memmap']:8.1f} {r['numpy']:8.1f} "
                  f"{r['constant']:8.1f}  {ratios[0]:>10s}  {ratios[1]:>10s}", flush=True)
            if (model, size) == ("xception_small", 64):
                extras = {"cache": cache, "memmap": r["memmap"]}
    return extras


def small_model_extras(args, tmp: Path, cache: Path, memmap: float) -> None:
    """Folders and seeded determinism against ``memmap`` (xception_small, 64 px), then
    the large cache's memory."""
    folders = write_folders(cache, tmp / "folders")
    r = {name: measure(cache, "xception_small", pipe, mode, args.rounds,
                       folders)["images_per_s"][pipe]
         for name, pipe, mode in (("folders", "folders", "strict"),
                                  ("memmap_seeded", "memmap", "seeded"))}
    print(f"xception_small 64 px: memmap / image_dataset_from_directory "
          f"({r['folders']:.1f} images/s): {memmap / r['folders']:.2f}x; strict / seeded "
          f"determinism ({r['memmap_seeded']:.1f} images/s): {memmap / r['memmap_seeded']:.2f}x "
          "speed", flush=True)
    if not args.big_gb:
        return
    big = random_cache(tmp / "big", int(args.big_gb * 2**30 / (128 * 128 * 3)), 128)
    res = measure(big, "xception_small", "memmap", "strict", 0)
    print(f"large cache: {res['cache_mb']:.0f} MB (budget {args.budget_gb * 1024:.0f} MB): "
          f"anonymous memory grew by {res['growth_mb']:.0f} MB after the first step "
          f"({res['growth_mb'] / res['cache_mb']:.3f}x the cache size); peak "
          f"{res['peak_anon_mb']:.0f} MB including TensorFlow itself = "
          f"{res['peak_anon_mb'] / (args.budget_gb * 1024):.2f}x the budget")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help=f"comma-separated, default all: {','.join(BUILTIN)}")
    ap.add_argument("--sizes", help="comma-separated image sides in px, default 64,128")
    ap.add_argument("--epoch-s", type=float, help="target seconds per epoch (default 3)")
    ap.add_argument("--images", type=int, help="images per cache for every backbone and "
                                               "size (rounded down to whole batches)")
    ap.add_argument("--rounds", type=int, help="timed epochs per pipeline, after one "
                                               "warm-up epoch (default 5)")
    ap.add_argument("--big-gb", type=float, help="large cache size, 0: skip (default 1.5)")
    ap.add_argument("--budget-gb", type=float, help="its memory budget (default 1.0)")
    ap.add_argument("--quick", action="store_true", help="xception_small and mobilenet_v2 "
                    "at 64 px, short epochs, a small large cache: a smoke run")
    ap.add_argument("--toy", action="store_true", help="xception_small at 64 px, one step "
                    "per epoch, one round, a tiny large cache: every measurement, smallest")
    ap.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--pipelines", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="strict", help=argparse.SUPPRESS)
    ap.add_argument("--folders", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run(args)))
        return
    if args.quick and args.toy:
        ap.error("--quick and --toy: choose one")
    defaults = (dict(models="xception_small", sizes="64", epoch_s=1.0, images=BATCH, rounds=1,
                     big_gb=0.02, budget_gb=0.01) if args.toy else
                dict(models="xception_small,mobilenet_v2", sizes="64", epoch_s=1.0, rounds=3,
                     big_gb=0.15, budget_gb=0.1) if args.quick else
                dict(models=",".join(BUILTIN), sizes="64,128", epoch_s=3.0, rounds=5,
                     big_gb=1.5, budget_gb=1.0))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.models = args.models.split(",")
    args.sizes = [int(s) for s in args.sizes.split(",")]
    unknown = sorted(set(args.models) - set(BUILTIN))
    if unknown:
        ap.error(f"--models: {', '.join(unknown)} not built in ({', '.join(BUILTIN)})")
    if args.images is not None:
        args.images = max(BATCH, args.images // BATCH * BATCH)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        extras = backbones(args, Path(tmp))
        if extras:
            small_model_extras(args, Path(tmp), **extras)
    print(f"benchmark took {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
