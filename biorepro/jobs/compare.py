"""The comparison stage job: paired comparisons between experiments that share seeds.

For every pair of experiments (in configuration order) and level, each headline metric
is compared over the shared seeds: P(A better than B) with a percentile-bootstrap CI,
the verdict rule of Bouthillier et al. (2021) and a Wilcoxon signed-rank p-value.
"""

from __future__ import annotations

import itertools

from biorepro.aggregate import tables
from biorepro.aggregate.compare import compare_table
from biorepro.joblog import Log
from biorepro.jobs.summary import per_seed_table
from biorepro.store.entries import staging, write_provenance

# metric -> lower is better
COMPARED = {"test_hter": True, "test_acer": True, "test_apcer_ap": True, "test_bpcer": True,
            "devel_eer": True, "test_auc": False}


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    st = ingredients["params"]["stats"]
    names = list(spec["experiments"])
    pairs = list(itertools.combinations(names, 2))
    levels = sorted({m["level"] for ms in spec["experiments"].values() for m in ms})
    log(f"compare: {len(pairs)} pair(s) of experiments, levels {levels}")
    with staging(out) as tmp:
        md = ["# Comparisons between experiments", ""]
        for level in levels:
            per_seed = {n: per_seed_table(ms, level) for n, ms in spec["experiments"].items()}
            metrics = {m: low for m, low in COMPARED.items()
                       if all(m in t.columns for t in per_seed.values())}
            table = compare_table(per_seed, pairs, metrics, n_boot=st["n_boot"], ci=st["ci"],
                                  seed=st["bootstrap_seed"])
            paths = tables.write_comparison(
                table, tmp / f"comparison_{level}", ci=st["ci"], n_boot=st["n_boot"],
                caption=f"Paired comparisons, {level} level", label=f"tab:compare-{level}")
            md += [f"## {level.capitalize()} level", "", paths["md"].read_text(), ""]
        (tmp / "comparisons.md").write_text("\n".join(md))
        write_provenance(tmp, ingredients)
    log(f"compare: published {out}")
