"""Benchmark: frame extraction through the workflow vs. a full ffmpeg decode.

1. Generates a synthetic dataset of at least 200 videos (10 s, 320x240, 25 fps).
2. Times ``snakemake --cores P --until split_folders`` on it (planning, hashing on a
   cold stat cache, batched extraction of ``n_frames`` per video, split folders) and
   ``ffmpeg -i v -f null -`` over the same files with P in parallel: prints both and
   the ratio (goal: workflow <= 1.0x the full decode).
3. Times the parse-time planning of a Replay-Attack-sized manifest (1,300 videos) on a
   warm stat cache, against the same planning on a cold cache (which reads every byte).

    .venv/bin/python bench/extract.py [--clients 9] [--parallel 2] [--workdir bench/out]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro.config import load  # noqa: E402
from biorepro.plan import build_plan  # noqa: E402
from tests.workflow.smk import make_workdir  # noqa: E402


def timed(cmd, **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, **kw)
    return time.perf_counter() - start


def bench_extraction(work: Path, clients: int, parallel: int) -> None:
    conf = {"experiment": "bench", "dataset": {"root": str(work / "data"), "synthetic": {
        "clients": {"train": clients, "devel": clients, "test": clients}}},
        "seeds": [0]}
    (work / "bench.yaml").write_text(yaml.safe_dump(conf))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    smk = [str(bindir / "snakemake"), "--cores", str(parallel), "--configfile", "bench.yaml"]
    # Generate the dataset (parse time) without timing it.
    subprocess.run([*smk, "-n"], cwd=work, check=True, capture_output=True, env=env)
    videos = sorted(str(p) for p in (work / "data").rglob("*.mov"))
    shutil.rmtree(work / ".biorepro", ignore_errors=True)  # cold store and stat cache
    t_wf = timed([*smk, "--until", "split_folders"], cwd=work, env=env)
    listing = "\n".join(videos).encode()
    start = time.perf_counter()
    subprocess.run(["xargs", "-P", str(parallel), "-I{}", "ffmpeg", "-v", "error", "-i", "{}",
                    "-f", "null", "-"], input=listing, check=True, capture_output=True)
    t_ff = time.perf_counter() - start
    print(f"videos: {len(videos)} (10 s, 320x240, 25 fps MJPEG), parallelism {parallel}")
    print(f"workflow extraction (incl. snakemake start, planning, hashing, split): {t_wf:.1f} s")
    print(f"ffmpeg full decode (-f null): {t_ff:.1f} s")
    print(f"ratio workflow / full decode: {t_wf / t_ff:.2f}x (goal <= 1.0x)")


def bench_planning(work: Path, n_videos: int = 1300) -> None:
    vids = work / "manifest-videos"
    vids.mkdir(exist_ok=True)
    rows = ["path,label,subject,split,attack_type"]
    payload = os.urandom(1 << 20)
    for i in range(n_videos):
        path = vids / f"v{i:04d}.mov"
        if not path.exists():
            path.write_bytes(i.to_bytes(4, "little") + payload)  # distinct 1 MiB files
        subject = i // 26  # 50 subjects of 26 videos, as Replay-Attack
        split = ("train", "devel", "test")[subject % 3]
        label = "bonafide" if i % 5 == 0 else "attack"
        rows.append(f"{path},{label},client{subject:03d},{split},"
                    f"{'' if label == 'bonafide' else 'print'}")
    (work / "manifest.csv").write_text("\n".join(rows) + "\n")
    conf = load([REPO / "config" / "config.yaml"])
    conf.update(store=str(work / "plan-store"), stat_cache=str(work / "plan-cache.sqlite"))
    conf["dataset"] = {"kind": "manifest", "manifest": str(work / "manifest.csv")}
    Path(conf["stat_cache"]).unlink(missing_ok=True)
    start = time.perf_counter()
    build_plan(conf)
    cold = time.perf_counter() - start
    warm = min(_time_plan(conf) for _ in range(3))
    print(f"planning {n_videos} videos: cold stat cache {cold:.2f} s, warm {warm:.3f} s "
          f"(warm/cold {warm / cold:.3f}x)")


def _time_plan(conf) -> float:
    start = time.perf_counter()
    build_plan(conf)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=9, help="clients per split")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "extract")
    args = ap.parse_args()
    work = make_workdir(args.workdir)
    bench_extraction(work, args.clients, args.parallel)
    bench_planning(work)


if __name__ == "__main__":
    main()
