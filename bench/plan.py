"""Benchmark: ``snakemake -n`` vs. ``snakemake --version``, at two scales.

``--case replay-attack`` (the default): a no-op dry run. Builds in ``--workdir`` (once;
not timed) a stand-in Replay-Attack tree of 1,300 tiny MJPEG videos (50 clients of 26
videos, each file distinct by a trailing QuickTime ``free`` atom: planning hashes videos,
it never decodes them), a configuration of 30 seeds, and a store in which every planned
entry is published (each with a valid provenance record and an empty file of each kind
its layout requires) and every results view is current, so that the dry run has nothing
to do. Goal: ``snakemake -n`` <= 1.3x ``--version``.

``--case oulu-npu``: planning a whole study, nothing built. A stand-in OULU-NPU tree with
the real layout and Protocol 3 lists (4,950 videos: 55 users, 3 sessions, 6 phones, 5
files; fold k tests on phone k), 10 seeds of each of the six folds. Goal: ``snakemake
-n`` <= 2x ``--version``; also prints the time ``build_plan`` takes in this process.

Times both whole commands (Python and Snakemake start-up included; the stat and
code-fingerprint caches are warm, as after any earlier run) and prints the minimum of
``--repeat`` runs of each and the ratio, in wall time and in CPU time (steadier on a
shared machine).

    .venv/bin/python bench/plan.py [--case replay-attack|oulu-npu] [--workdir DIR]
        [--seeds N] [--repeat 5] [--toy]

``--toy``: the same at the smallest sizes that exercise it (Replay-Attack: 3 clients, one
per split, 78 videos; OULU-NPU: 3 users, one session, 2 files, 36 videos), 2 seeds, one
timed run of each command; a smoke run, its ratio not comparable with the goal's.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro.config import load  # noqa: E402
from biorepro.plan import build_plan  # noqa: E402
from biorepro.store.entries import is_published, write_provenance  # noqa: E402
from biorepro.store.stages import STAGES  # noqa: E402
from biorepro.store.view import publish_view  # noqa: E402
from tests.workflow.smk import make_workdir  # noqa: E402

SPLIT_CLIENTS = {"train": 15, "devel": 15, "test": 20}  # 50 clients, as Replay-Attack
TOY_CLIENTS = {"train": 1, "devel": 1, "test": 1}
REAL = [f"session01_webcam_authenticate_{light}_{i}"
        for light in ("adverse", "controlled") for i in (1, 2, 3)]
ATTACKS = [(instrument, f"session01_{device}_{medium}_{light}")
           for instrument, device, medium in [("print", "highdef", "photo"),
                                              ("mobile", "mobile", "photo"),
                                              ("mobile", "mobile", "video"),
                                              ("highdef", "highdef", "photo"),
                                              ("highdef", "highdef", "video")]
           for light in ("adverse", "controlled")]
CONFIG = "bench-plan.yaml"
GOAL = {"replay-attack": 1.3, "oulu-npu": 2.0}
# OULU-NPU: users 1-20 train, 21-35 dev, 36-55 test; file 1 bona fide, 2-5 attacks.
OULU = {"users": range(1, 56), "phones": range(1, 7), "sessions": range(1, 4),
        "files": range(1, 6)}
TOY_OULU = {"users": (1, 21, 36), "phones": range(1, 7), "sessions": (1,), "files": (1, 2)}


def tiny_video(path: Path) -> bytes:
    """The bytes of a 2-frame 32x32 MJPEG QuickTime file."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"jpeg"), 25, (32, 32))
    for level in (0, 128):
        writer.write(np.full((32, 32, 3), level, np.uint8))
    writer.release()
    data = path.read_bytes()
    path.unlink()
    return data


def replay_attack_tree(root: Path, split_clients: dict[str, int]) -> int:
    """Write the stand-in dataset of ``split_clients`` clients per split under ``root``
    (kept when complete, at that size); its video count."""
    done = root / "complete"
    names = []
    client = 0
    for split, n_clients in split_clients.items():
        for _ in range(n_clients):
            client += 1
            c = f"client{client:03d}"
            names += [f"{split}/real/{c}_{rest}.mov" for rest in REAL]
            names += [f"{split}/attack/{support}/attack_{instrument}_{c}_{rest}.mov"
                      for support in ("fixed", "hand") for instrument, rest in ATTACKS]
    if not done.is_file() or done.read_text() != str(len(names)):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        video = tiny_video(root / "tiny.mov")
        for i, name in enumerate(names):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(video + (12).to_bytes(4, "big") + b"free" + i.to_bytes(4, "big"))
        done.write_text(str(len(names)))
    return len(names)


def oulu_tree(root: Path, sizes: dict) -> int:
    """Write the stand-in OULU-NPU tree of ``sizes`` under ``root`` with its Protocol 3
    lists (kept when complete, at that size); its video count."""
    folder = {u: "Train" if u <= 20 else "Dev" if u <= 35 else "Test" for u in sizes["users"]}
    names = [(u, p, f"{p}_{s}_{u:02d}_{f}") for u in sizes["users"] for p in sizes["phones"]
             for s in sizes["sessions"] for f in sizes["files"]]
    done = root / "complete"
    if done.is_file() and done.read_text() == str(len(names)):
        return len(names)
    shutil.rmtree(root, ignore_errors=True)
    for split in ("Train", "Dev", "Test"):
        (root / f"{split}_files").mkdir(parents=True)
    (root / "Protocols" / "Protocol_3").mkdir(parents=True)
    video = tiny_video(root / "tiny.mov")
    for i, (u, _p, name) in enumerate(names):
        (root / f"{folder[u]}_files" / f"{name}.avi").write_bytes(video + i.to_bytes(4, "big"))
    for k in sizes["phones"]:  # fold k: phone k tests, the other phones train and develop
        for split in ("Train", "Dev", "Test"):
            lines = [f"{'+1' if name.endswith('_1') else '-1'},{name}\n"
                     for u, p, name in names
                     if folder[u] == split and (p == k) == (split == "Test")]
            (root / "Protocols" / "Protocol_3" / f"{split}_{k}.txt").write_text("".join(lines))
    done.write_text(str(len(names)))
    return len(names)


def required_files(stage: str) -> list[str]:
    """A name for each file a published entry of ``stage`` must hold: one per value of a
    family declared per value (``{split}/images.npy``), any other field filled with x."""
    out = []
    for f in STAGES[stage].layout.files.values():
        if f.each is not None and f.required:
            field, values = f.each
            out += [f.pattern.replace(f"{{{field}}}", v) for v in values]
        elif f.required and f.each is None:
            out.append(f.pattern)
    return [re.sub(r"\{[^}]*\}", "x", rel) for rel in out]


def write_config(work: Path, case: str, seeds: int) -> list[Path]:
    """Write the benchmark's configuration in ``work``; the configuration files to load."""
    dataset = {"kind": case, "root": str((work / "data").resolve())}
    if case == "oulu-npu":
        dataset["protocol"] = "Protocol_3"
    (work / CONFIG).write_text(yaml.safe_dump({"experiment": "bench-plan", "seeds": seeds,
                                               "dataset": dataset}))
    return [REPO / "config" / "config.yaml", work / CONFIG]


def planning_seconds(work: Path, files: list[Path]) -> tuple[int, float]:
    """Planned entries and the seconds ``build_plan`` takes (caches warm: a second call)."""
    os.chdir(work)  # the store, stat cache and results are relative to it
    build_plan(load(files))
    start = time.perf_counter()
    plan = build_plan(load(files))
    return len(plan.entries()), time.perf_counter() - start


def publish_everything(work: Path, files: list[Path]) -> int:
    """Publish every entry the configuration plans and the results views (in ``work``,
    the working directory of the runs); the number of entries."""
    os.chdir(work)  # the store, stat cache and results are relative to it
    while True:  # a key is known once its inputs are published: a stage per round
        plan = build_plan(load(files))
        entries = plan.entries()
        if all(e.published for e in entries):
            break
        for e in entries:
            if e.key is not None and not is_published(e.path):
                for rel in required_files(e.stage):  # an empty file of each kind
                    path = Path(e.path) / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                write_provenance(e.path, e.ingredients)
    results = next(iter(plan.experiments.values())).config["results"]
    views = {name: exp.summary for name, exp in plan.experiments.items()}
    if plan.compare is not None:
        views["comparisons"] = plan.compare
    for name, summary in views.items():
        publish_view(summary.path, Path(results) / name)
    return len(entries)


def best(cmd: list[str], work: Path, env: dict, repeat: int) -> tuple[float, float]:
    """Minimum wall and CPU (user + system) seconds of ``repeat`` runs of ``cmd``."""
    subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True)  # warm caches
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=list(GOAL), default="replay-attack")
    ap.add_argument("--workdir", type=Path, help="default bench/out/plan-<case>")
    ap.add_argument("--seeds", type=int, help="default 30 (Replay-Attack), 10 (OULU-NPU)")
    ap.add_argument("--repeat", type=int, help="timed runs of each command (default 5)")
    ap.add_argument("--toy", action="store_true", help="the smallest sizes: a smoke run")
    args = ap.parse_args()
    oulu = args.case == "oulu-npu"
    args.seeds = args.seeds or (2 if args.toy else 10 if oulu else 30)
    args.repeat = args.repeat or (1 if args.toy else 5)
    work = make_workdir(args.workdir or REPO / "bench" / "out" / f"plan-{args.case}").resolve()
    n_videos = (oulu_tree(work / "data", TOY_OULU if args.toy else OULU) if oulu else
                replay_attack_tree(work / "data", TOY_CLIENTS if args.toy else SPLIT_CLIENTS))
    files = write_config(work, args.case, args.seeds)
    if oulu:
        n_entries, planning = planning_seconds(work, files)
        print(f"{n_videos} videos, Protocol_3 (6 folds), {args.seeds} seeds: {n_entries} "
              f"entries, none built; build_plan {planning:.3f} s")
    else:
        n_entries = publish_everything(work, files)
        print(f"{n_videos} videos, {args.seeds} seeds: {n_entries} entries, all published")

    bindir = Path(sys.executable).parent
    pythonpath = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(pythonpath)}
    dry_run = [str(bindir / "snakemake"), "-n", "--cores", "1", "--configfile", CONFIG]
    out = subprocess.run(dry_run, cwd=work, env=env, capture_output=True, text=True)
    if out.returncode != 0 or oulu == ("Nothing to be done" in out.stdout + out.stderr):
        sys.exit(f"the dry run is not {'a plan' if oulu else 'a no-op'}:\n"
                 f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    version, version_cpu = best([str(bindir / "snakemake"), "--version"], work, env,
                                args.repeat)
    plan, plan_cpu = best(dry_run, work, env, args.repeat)
    print(f"snakemake --version:           {version:.3f} s (CPU {version_cpu:.3f} s)")
    what = "everything to do" if oulu else "nothing to do"
    print(f"snakemake -n ({what}):  {plan:.3f} s (CPU {plan_cpu:.3f} s)  "
          f"ratio {plan / version:.2f}x (goal <= {GOAL[args.case]}x), "
          f"CPU {plan_cpu / version_cpu:.2f}x")


if __name__ == "__main__":
    main()
