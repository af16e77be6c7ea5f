"""Benchmark: the cost of per-epoch scoring (``train.score_every``) at the demo's size.

Builds the demo's data in ``--workdir`` (once; not timed): ``biorepro synth`` and the
workflow up to the tensor cache (``snakemake --until tensors``), with the demo's
configuration (``config/config.yaml``). Then trains the demo's first seed with devel and
test scored at the default interval (``score_every`` of the configuration), after every
epoch (``1``) and not at all (``0``), each as a workflow job does (``python -m
biorepro.jobs``, into a scratch store), in rotating order over ``--rounds`` rounds, and
prints the training time each job records (provenance ``duration_s``: training and the
final scores) and the ratios of the medians to the unscored run's (goal: the default's
<= 1.1, scoring costs at most 10% of training). All give the same weights (checked:
scoring draws no random number).

    .venv/bin/python bench/epoch_scores.py [--workdir bench/out/epoch-scores] [--rounds 2]
        [--toy]

``--toy``: the tiny configuration (``config/tiny.yaml``: 2 epochs), one round; a smoke
run, its ratio not comparable with the goal's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro.config import load  # noqa: E402
from biorepro.plan import build_plan, make_entry  # noqa: E402
from tests.workflow.smk import make_workdir  # noqa: E402

GOAL = 1.1


def run(cmd: list[str], work: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "epoch-scores")
    ap.add_argument("--rounds", type=int, help="default 2")
    ap.add_argument("--toy", action="store_true", help="the tiny configuration: a smoke run")
    args = ap.parse_args()
    args.rounds = args.rounds or (1 if args.toy else 2)
    work = make_workdir(args.workdir).resolve()
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [
               os.environ.get("PYTHONPATH")])])}
    files = ["config/tiny.yaml"] if args.toy else []
    configfile = [a for f in files for a in ("--configfile", f)]
    run([str(bindir / "biorepro"), "synth", *configfile], work, env)
    run([str(bindir / "snakemake"), "--cores", "2", "--until", "tensors", *configfile], work, env)
    os.chdir(work)
    exp = next(iter(build_plan(load(["config/config.yaml", *files])).experiments.values()))
    first = next(iter(exp.train.values()))
    default = first.ingredients["params"]["score_every"]
    scratch = work / "scratch"
    ways = list(dict.fromkeys((default, 1, 0)))
    durations: dict[int, list[float]] = {k: [] for k in ways}
    weights: dict[int, set[str]] = {k: set() for k in ways}
    for r in range(args.rounds):
        for every in ways[r % len(ways):] + ways[:r % len(ways)]:
            shutil.rmtree(scratch, ignore_errors=True)
            e = make_entry(str(scratch), "train", {**first.ingredients["params"],
                                                    "score_every": every},
                           first.deps, what=first.what, runtime=first.runtime)
            run([sys.executable, "-m", "biorepro.jobs", "--job", json.dumps(e.job())], work,
                env)
            prov = json.loads((Path(e.path) / "provenance.json").read_text())
            durations[every].append(prov["observed"]["duration_s"])
            weights[every].add(json.loads((Path(e.path) / "result.json").read_text())
                               ["weights_sha256"])
        print(f"  round {r + 1}: " + ", ".join(f"score_every {k} {durations[k][-1]:.1f} s"
                                               for k in ways), flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    median = {k: statistics.median(durations[k]) for k in ways}
    epochs = first.ingredients["params"]["epochs"]
    same = len(set().union(*weights.values())) == 1
    print(f"{exp.name}: {first.what}, up to {epochs} epochs: training {median[0]:.1f} s "
          f"not scored, {median[1]:.1f} s scored after every epoch, {median[default]:.1f} s "
          f"every {default} epochs (the default)")
    ratio = median[default] / median[0]
    print(f"ratio every epoch/not scored {median[1] / median[0]:.3f}; default (every "
          f"{default})/not scored {ratio:.3f} (goal <= {GOAL}); same weights: {same}")
    return 0 if (ratio <= GOAL or args.toy) and same else 1


if __name__ == "__main__":
    sys.exit(main())
