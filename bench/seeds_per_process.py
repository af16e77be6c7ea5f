"""Benchmark: training k runs in one process (``train.seeds_per_process``) against a plain
in-process loop, and against one process per run.

On one tiny tensor cache (``--images`` frames of 32 px per split, the tiny config's model:
``xception_small`` widths 8/16, batch 16, ``--epochs`` epochs, strict determinism, 2 threads)
the same ``--runs`` seeds are trained three ways, each timed from process start to exit:

- ``loop``: one Python process imports TensorFlow once and calls the library in a loop:
  ``train_seed`` then the devel and test scores for each seed (the reference: what a user
  writes in a notebook, no store);
- ``batched``: ``python -m biorepro.jobs`` with the k train jobs as one list (what the
  workflow runs with ``train.seeds_per_process: k``), publishing k store entries;
- ``separate``: k ``python -m biorepro.jobs`` processes, one per run (``seeds_per_process:
  1``), one after the other.

The three alternate over ``--rounds`` rounds (order rotated each round; fresh stores), so
they share the machine's load; the ratios batched/loop (goal <= 1.1) and separate/loop
divide the medians. The batched entries are checked bit for bit against the separate ones
(weights digest), as the workflow's ``verify`` does. Exits 1 when the goal is missed or
the entries differ.

    .venv/bin/python bench/seeds_per_process.py [--runs 5] [--rounds 3] [--epochs 2]
        [--images 64] [--toy]

About 4 minutes on 2 cores with the defaults. ``--toy``: 2 runs, one round, 1 epoch, 16
frames per split (one batch): the three ways and the bit-for-bit check in about a
minute and a half on 2 cores (mostly TensorFlow's import in each of the 4 processes); its
ratios are not comparable with the goal's, so only differing entries fail it.
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
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro import config as cfg  # noqa: E402  (needs REPO on sys.path)
from biorepro.data.tensors import VIDEO_COLUMNS  # noqa: E402
from biorepro.plan import make_entry, train_params  # noqa: E402
from biorepro.store.entries import staging, write_provenance  # noqa: E402
from biorepro.store.hashing import file_digest  # noqa: E402
from biorepro.store.layouts import TENSORS  # noqa: E402
from biorepro.train.determinism import job_environment  # noqa: E402

SIZE, THREADS, GOAL = 32, 2, 1.1
TRAIN = {"model_params": {"widths": [8, 16]}, "batch_size": 16, "patience": 2,
         "threads": THREADS, "device": "cpu"}


def write_cache(root: Path, n: int) -> None:
    """Train, devel and test splits of ``n`` random frames each (bona fide brighter)."""
    rng = np.random.default_rng(0)
    for split in ("train", "devel", "test"):
        (root / split).mkdir(parents=True)
        labels = (np.arange(n) % 2).astype(np.uint8)
        images = rng.integers(0, 120, (n, SIZE, SIZE, 3)).astype(np.uint8)
        images[labels == 1] += 100
        videos = n // 4
        np.save(root / TENSORS.images(split=split), images)
        np.save(root / TENSORS.labels(split=split), labels)
        np.save(root / TENSORS.video_index(split=split), (np.arange(n) % videos).astype(np.int32))
        np.save(root / TENSORS.frame_index(split=split), (np.arange(n) // videos).astype(np.int32))
        np.save(root / TENSORS.fta(split=split), np.zeros((0, 2), np.int32))
        pd.DataFrame([{"video_id": f"{split}{i}", "subject": f"s{i}",
                       "label": "bonafide" if i % 2 else "attack", "attack_type": "print"}
                      for i in range(videos)], columns=VIDEO_COLUMNS).to_csv(
            root / TENSORS.videos(split=split), index=False)


def train_jobs(cache, store: Path, runs: int, epochs: int) -> list[dict]:
    """The train jobs of seeds 0..runs-1 on ``cache`` into ``store``."""
    conf = cfg.validate({"train": {**TRAIN, "epochs": epochs}, "tensors": {"image_size": SIZE}})
    params, runtime = train_params(conf, file_digest)
    runtime = {**runtime, "lock_dir": str(store / "locks")}
    return [make_entry(str(store), "train", {**params, "seeds": {
        "init": s, "order": s, "noise": s, "replicate": 0}}, {"tensors": cache},
        runtime=runtime).job() for s in range(runs)]


def loop(jobs_file: Path) -> None:
    """The reference: every job's training and scoring through the library, in this
    process (started with the jobs' environment)."""
    from biorepro.store import receipts
    from biorepro.train.determinism import configure
    from biorepro.train.fit import score_split, train_seed
    from biorepro.train.sources import reset

    jobs = [receipts.resolve(job) for job in json.loads(jobs_file.read_text())]
    p = jobs[0]["ingredients"]["params"]
    configure(p["determinism"], p["threads"], p["backend"]["name"])
    for job in jobs:
        reset()
        params, tensors = job["ingredients"]["params"], job["inputs"]["tensors"]
        model, _, result, _ = train_seed(tensors, params["seeds"], params, job["runtime"],
                                         log=lambda message: None)
        for split in ("devel", "test"):
            score_split(model, tensors, split)
        print(result["weights_sha256"], flush=True)


def timed(cmd: list[str]) -> float:
    env = {**os.environ, **job_environment("strict", THREADS)}
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return time.perf_counter() - start


def round_times(tmp: Path, cache, args, r: int) -> dict[str, float]:
    """One round: the three ways, in the order rotated by ``r``, on fresh stores."""
    ways = ["loop", "batched", "separate"]
    k = r % 3
    times = {}
    for way in ways[k:] + ways[:k]:
        store = tmp / f"store-{way}-{r}"
        jobs = train_jobs(cache, store, args.runs, args.epochs)
        jobs_file = tmp / f"jobs-{way}-{r}.json"
        jobs_file.write_text(json.dumps(jobs))
        job_cmd = [sys.executable, "-m", "biorepro.jobs", "--job"]
        if way == "loop":
            times[way] = timed([sys.executable, __file__, "--loop", str(jobs_file)])
        elif way == "batched":
            times[way] = timed([*job_cmd, f"@{jobs_file}"])
        else:
            times[way] = sum(timed([*job_cmd, json.dumps(job)]) for job in jobs)
    return times


def weights(store: Path) -> set[str]:
    return {json.loads((e / "result.json").read_text())["weights_sha256"]
            for e in (store / "train").iterdir()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, help="default 5")
    ap.add_argument("--rounds", type=int, help="default 3")
    ap.add_argument("--epochs", type=int, help="default 2")
    ap.add_argument("--images", type=int, help="frames per split (default 64)")
    ap.add_argument("--toy", action="store_true", help="the smallest sizes: a smoke run")
    ap.add_argument("--loop", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.loop:
        loop(args.loop)
        return 0
    sizes = (dict(runs=2, rounds=1, epochs=1, images=TRAIN["batch_size"]) if args.toy else
             dict(runs=5, rounds=3, epochs=2, images=64))
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cache = make_entry(str(tmp / "cache-store"), "tensors", {"image_size": SIZE}, {})
        with staging(cache.path) as out:
            write_cache(out, args.images)
            write_provenance(out, cache.ingredients)
        print(f"{args.runs} tiny runs ({args.images} frames of {SIZE} px per split, "
              f"{args.epochs} epochs, strict, {THREADS} threads), seconds from process start "
              f"to exit, {args.rounds} rounds in rotating order:", flush=True)
        rounds = []
        for r in range(args.rounds):
            rounds.append(round_times(tmp, cache, args, r))
            print("  round " + str(r + 1) + ": " + ", ".join(
                f"{w} {t:.1f}" for w, t in rounds[-1].items()), flush=True)
        same = weights(tmp / "store-batched-0") == weights(tmp / "store-separate-0")
    med = {w: statistics.median(t[w] for t in rounds) for w in rounds[0]}
    batched, separate = med["batched"] / med["loop"], med["separate"] / med["loop"]
    print(f"median: loop {med['loop']:.1f} s, batched {med['batched']:.1f} s, separate "
          f"{med['separate']:.1f} s")
    print(f"batched/loop {batched:.2f} (goal <= {GOAL}), separate/loop {separate:.2f}; "
          f"batched entries bit-identical to separate ones: {same}")
    return 0 if (batched <= GOAL or args.toy) and same else 1


if __name__ == "__main__":
    sys.exit(main())
