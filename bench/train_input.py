"""Benchmark: the training input pipeline, determinism overhead, memory on a large cache.

Each measurement runs in its own process (determinism is set before TensorFlow starts)
and reports training images/s over epochs 2..E (epoch 1 includes graph building):

- ``memmap``: the workflow's pipeline (tf.data over the memory-mapped tensor cache);
- ``numpy``: the same model fitted on in-memory NumPy arrays (reference, goal >= 0.95x);
- ``folders``: ``keras.utils.image_dataset_from_directory`` over split folders of PNGs;
- ``memmap`` with ``seeded`` instead of ``strict`` determinism (overhead of strict).

Then a tensor cache larger than a memory budget is streamed for one epoch while the
process's anonymous (heap) memory is sampled: its growth during training must stay far
below the cache size (the images are read from the page cache, batch by batch).

    .venv/bin/python bench/train_input.py [--images 4000] [--big-gb 1.5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PARAMS = {"backbone": "xception_small", "widths": [16, 32, 64], "dropout": 0.25}


def make_cache(root: Path, n: int, size: int, n_splits=("train", "devel")) -> Path:
    import pandas as pd

    from biorepro.data.tensors import VIDEO_COLUMNS

    rng = np.random.default_rng(0)
    for split in n_splits:
        d = root / split
        d.mkdir(parents=True, exist_ok=True)
        count = n if split == "train" else max(64, n // 10)
        images = np.lib.format.open_memmap(d / "images.npy", "w+", np.uint8, (count, size, size, 3))
        for start in range(0, count, 1024):
            stop = min(count, start + 1024)
            images[start:stop] = rng.integers(0, 256, (stop - start, size, size, 3), np.uint8)
        images.flush()
        del images
        np.save(d / "labels.npy", (np.arange(count) % 2).astype(np.uint8))
        np.save(d / "video_index.npy", np.zeros(count, np.int32))
        np.save(d / "frame_index.npy", np.arange(count, dtype=np.int32))
        pd.DataFrame([{"video_id": "v", "subject": "s", "label": "attack", "attack_type": "x"}],
                     columns=VIDEO_COLUMNS).to_csv(d / "videos.csv", index=False)
    return root


def write_folders(cache: Path, out: Path) -> Path:
    import cv2

    from biorepro.data.tensors import load_split

    train = load_split(cache, "train")
    for label in ("attack", "bonafide"):
        (out / label).mkdir(parents=True, exist_ok=True)
    for i in range(len(train)):
        label = "bonafide" if train.labels[i] else "attack"
        cv2.imwrite(str(out / label / f"{i:06d}.png"), train.images[i][..., ::-1])
    return out


def one(args) -> dict:
    """Run one measurement in this process (called in a subprocess)."""
    from biorepro.train.determinism import configure

    configure(0, args.mode, 2)
    import keras

    from biorepro.data.tensors import load_split
    from biorepro.train.input import dataset
    from biorepro.train.model import build_model

    train = load_split(args.cache, "train")
    model = build_model("xception_small", train.images.shape[1:], widths=PARAMS["widths"],
                        dropout=0.25)
    model.compile("adam", "binary_crossentropy", jit_compile=False)
    times, peak_anon, base_anon = [], [0.0], [0.0]

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            base_anon[0] = rss_anon_mb()

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

        def on_train_batch_end(self, batch, logs=None):
            if batch % 20 == 0:
                peak_anon[0] = max(peak_anon[0], rss_anon_mb())

    bs = 32
    if args.pipeline == "memmap":
        fit_args = dict(x=dataset(train, bs, shuffle_seed=0))
    elif args.pipeline == "numpy":
        fit_args = dict(x=np.asarray(train.images), y=train.labels.astype("float32"),
                        batch_size=bs, shuffle=True)
    else:
        fit_args = dict(x=keras.utils.image_dataset_from_directory(
            args.folders, image_size=train.images.shape[1:3], batch_size=bs, seed=0,
            label_mode="binary"))
    model.fit(**fit_args, epochs=args.epochs, verbose=0, callbacks=[Clock()])
    steady = times[1:] or times
    return {"images_per_s": len(train) * len(steady) / sum(steady),
            "peak_anon_mb": peak_anon[0], "growth_mb": peak_anon[0] - base_anon[0],
            "cache_mb": train.images.nbytes / 2**20}


def rss_anon_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(cache, pipeline, mode, epochs, folders="") -> dict:
    from biorepro.train.determinism import job_environment

    env = {**os.environ, **job_environment(0, mode, 2)}
    out = subprocess.run([sys.executable, __file__, "--one", "--cache", str(cache),
                          "--pipeline", pipeline, "--mode", mode, "--epochs", str(epochs),
                          "--folders", str(folders)], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--big-gb", type=float, default=1.5)
    ap.add_argument("--budget-gb", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    ap.add_argument("--pipeline", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="strict", help=argparse.SUPPRESS)
    ap.add_argument("--folders", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args)))
        return
    if args.quick:
        args.images, args.epochs, args.big_gb, args.budget_gb = 600, 2, 0.15, 0.1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = make_cache(tmp / "cache", args.images, args.size)
        folders = write_folders(cache, tmp / "folders")
        r = {name: measure(cache, pipe, mode, args.epochs, folders) for name, pipe, mode in (
            ("memmap", "memmap", "strict"), ("numpy", "numpy", "strict"),
            ("folders", "folders", "strict"), ("memmap_seeded", "memmap", "seeded"))}
        print(f"{args.images} images {args.size}x{args.size}, batch 32, widths "
              f"{PARAMS['widths']}, 2 threads, epochs 2..{args.epochs} timed")
        for name, res in r.items():
            print(f"  {name:14s} {res['images_per_s']:8.0f} images/s")
        print(f"memmap pipeline / in-memory NumPy: "
              f"{r['memmap']['images_per_s'] / r['numpy']['images_per_s']:.2f}x (goal >= 0.95x)")
        print(f"memmap pipeline / image_dataset_from_directory: "
              f"{r['memmap']['images_per_s'] / r['folders']['images_per_s']:.2f}x")
        print(f"strict / seeded determinism (memmap): "
              f"{r['memmap']['images_per_s'] / r['memmap_seeded']['images_per_s']:.2f}x speed")
        n_big = int(args.big_gb * 2**30 / (128 * 128 * 3))
        big = make_cache(tmp / "big", n_big, 128)
        res = measure(big, "memmap", "strict", 1)
        print(f"large cache: {res['cache_mb']:.0f} MB (budget {args.budget_gb * 1024:.0f} MB): "
              f"anonymous memory grew by {res['growth_mb']:.0f} MB during the epoch "
              f"({res['growth_mb'] / res['cache_mb']:.3f}x the cache size); peak "
              f"{res['peak_anon_mb']:.0f} MB including TensorFlow itself = "
              f"{res['peak_anon_mb'] / (args.budget_gb * 1024):.2f}x the budget")


if __name__ == "__main__":
    main()
