"""Benchmark: the cost of "why do results change?" in the summary stage, at 30 runs.

The tiny config is run by the workflow with a crossed ``randomness`` design of 30 runs
(init 3 x order 2 x noise 5; 1 epoch, 10 runs per process), then its summary entry is
rebuilt in this process (``biorepro.jobs.run.rebuild``), both levels each time, two ways
alternating over ``--rounds`` rounds:

- ``full``: the summary as the workflow builds it: tables and figures across runs, and the
  answer (variance by source with bootstrap CIs, the hierarchical test-sampling bootstrap,
  the expected best of k, ``why.html``);
- ``without``: the same with the answer left out (what the summary computed before it).

The ratio full/without divides the medians.

    .venv/bin/python bench/summary.py [--rounds 3] [--keep DIR] [--toy]

About 5 minutes on 2 cores (training the 30 tiny runs takes most of it). ``--toy``: the
same with 8 runs (init 2 x order 2 x noise 2, one process), 200 bootstrap samples and one
round: about 2.5 minutes on 2 cores (the workflow most of it), its ratio not comparable
with the full run's.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DESIGN = {"randomness": {"init": [0, 1, 2], "order": [0, 1], "noise": [0, 1, 2, 3, 4],
                         "design": "crossed"},
          "train": {"seeds_per_process": 10, "epochs": 1}, "stats": {"n_boot": 10000}}
TOY_DESIGN = {"randomness": {"init": [0, 1], "order": [0, 1], "noise": [0, 1],
                             "design": "crossed"},
              "train": {"seeds_per_process": 8, "epochs": 1}, "stats": {"n_boot": 200}}
CONFIGS = ("config/config.yaml", "config/tiny.yaml", "design.yaml")


def runs(design: dict) -> int:
    """The number of training runs of a crossed ``design``."""
    return math.prod(len(design["randomness"][source]) for source in ("init", "order", "noise"))


def workflow(work: Path, design: dict) -> None:
    """Run the tiny config with ``design`` in ``work``."""
    for name in ("Snakefile", "rules", "scripts", "config", "report"):
        if not (work / name).exists():
            (work / name).symlink_to(REPO / name)
    (work / "design.yaml").write_text(yaml.safe_dump(design))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    subprocess.run([str(bindir / "biorepro"), "synth", "--configfile", *CONFIGS[1:]],
                   cwd=work, check=True, capture_output=True)
    subprocess.run([str(bindir / "snakemake"), "--cores", "2", "--configfile", *CONFIGS[1:]],
                   cwd=work, check=True, capture_output=True, env=env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, help="default 3")
    ap.add_argument("--keep", type=Path, help="working directory to reuse (else a temporary one)")
    ap.add_argument("--toy", action="store_true", help="8 runs, one round: a smoke run")
    args = ap.parse_args()
    design = TOY_DESIGN if args.toy else DESIGN
    rounds = args.rounds or (1 if args.toy else 3)
    n_runs = runs(design)
    with tempfile.TemporaryDirectory() as d:
        work = (args.keep or Path(d)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        workflow(work, design)
        print(f"workflow ({n_runs} tiny runs): {time.perf_counter() - start:.0f} s", flush=True)
        os.chdir(work)
        from biorepro import config as cfg
        from biorepro.jobs import summary
        from biorepro.jobs.run import rebuild
        from biorepro.plan import build_plan
        from biorepro.store import receipts

        plan = build_plan(cfg.load([work / c for c in CONFIGS]))
        job = receipts.resolve(plan.experiments["tiny"].summary.job())
        answer = summary._why_section
        times = {"full": [], "without": []}
        for r in range(rounds):
            ways = ["full", "without"] if r % 2 == 0 else ["without", "full"]
            for way in ways:
                summary._why_section = answer if way == "full" else (lambda *a: ([], {}))
                start = time.perf_counter()
                rebuild(job, work / f"rebuilt-{way}", log=lambda message: None)
                times[way].append(time.perf_counter() - start)
            print(f"  round {r + 1}: " + ", ".join(f"{w} {t[-1]:.1f} s" for w, t in times.items()),
                  flush=True)
        summary._why_section = answer
    full, without = (statistics.median(times[w]) for w in ("full", "without"))
    print(f"summary of {n_runs} runs x 2 levels: full {full:.1f} s, without the answer "
          f"{without:.1f} s, full/without {full / without:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
