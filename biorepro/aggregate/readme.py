"""The README's demo numbers, written from a run's results (never typed by hand).

The README marks each generated passage with ``<!-- demo:NAME -->`` … ``<!-- /demo:NAME -->``;
``python -m biorepro.aggregate.readme results/demo README.md`` (``make readme``, after
``make demo``) rewrites them from ``results/demo/``:

- ``table``: the video-level summary table's rows of the registry's ``demo`` metrics
  (``summary_video.md``);
- ``why``: the test-set sampling share of the mean test HTER's variance
  (``sampling_video.csv``) and where the run with the best devel EER ranks on test
  (``per_seed_video.csv``).

``--check`` exits 1 when the README differs from what the results give.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from biorepro.evaluate import registry
from biorepro.evaluate.registry import PRIMARY, SELECTION

LEVEL = "video"
ORDINALS = ("best", "second best", "third best", "fourth best", "fifth best")


def table(view: Path) -> str:
    """The header and the ``demo`` metrics' rows of the summary's first table."""
    lines = (view / f"summary_{LEVEL}.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Metric"))
    rows = {line.split("|")[1].strip(): line for line in lines[start + 2:]
            if line.startswith("|")}
    return "\n".join([lines[start], lines[start + 1],
                      *(rows[m] for m in registry.with_role("demo"))])


def why(view: Path) -> str:
    """The sentence on test-set sampling and on picking the run by its devel EER."""
    sampling = pd.read_csv(view / f"sampling_{LEVEL}.csv").set_index("metric").loc[PRIMARY]
    share, subjects = float(sampling["test_share"]), int(sampling["n_subjects"])
    runs = pd.read_csv(view / f"per_seed_{LEVEL}.csv")
    runs = runs[runs["status"] == "ok"]
    best = runs.loc[runs[SELECTION].idxmin()]
    rank = int((runs[PRIMARY] < best[PRIMARY]).sum())
    place = ("the worst" if rank == len(runs) - 1
             else f"the {ORDINALS[rank]}" if rank < len(ORDINALS) else f"rank {rank + 1}")
    bigger = ("a bigger test set would narrow the interval more than more seeds"
              if share > 0.5 else "more seeds would narrow the interval more than a bigger "
              "test set")
    return (f"The test set's own sampling is {share:.0%} of the variance of the mean HTER "
            f"({subjects} test subjects), so {bigger}; and the seed with the best devel EER "
            f"(seed {best['seed']}, {best[SELECTION]:.2%}) has {place} test HTER of the "
            f"{len(runs)} ({best[PRIMARY]:.2%}).")


BLOCKS = {"table": table, "why": why}


def update(readme_text: str, view: Path) -> str:
    """``readme_text`` with every marked passage rewritten from ``view``."""
    for name, render in BLOCKS.items():
        pattern = re.compile(rf"(<!-- demo:{name} -->\n).*?(\n<!-- /demo:{name} -->)", re.S)
        found = pattern.search(readme_text)
        if not found:
            raise ValueError(f"the README has no <!-- demo:{name} --> passage")
        readme_text = (readme_text[:found.end(1)] + render(view)
                       + readme_text[found.start(2):])
    return readme_text


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or ``--check``) the README's demo numbers; see the module docstring."""
    ap = argparse.ArgumentParser(prog="python -m biorepro.aggregate.readme",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("view", type=Path, help="the demo's results folder (results/demo)")
    ap.add_argument("readme", type=Path, help="the README to rewrite")
    ap.add_argument("--check", action="store_true", help="only compare (exit 1 if stale)")
    args = ap.parse_args(argv)
    old = args.readme.read_text()
    new = update(old, args.view)
    if args.check:
        if new != old:
            print(f"{args.readme}: its demo numbers differ from {args.view}/: run "
                  f"`python -m biorepro.aggregate.readme {args.view} {args.readme}`",
                  file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
