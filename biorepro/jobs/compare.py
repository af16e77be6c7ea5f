"""The compare stage: paired comparisons between experiments that share seeds.

For every pair of experiments (in configuration order) and level, each headline metric
is compared over the shared (fold, seed) runs: P(A better than B) with a percentile-bootstrap CI,
the verdict rule of Bouthillier et al. (2021) (from a minimum number of pairs), a Wilcoxon
signed-rank p-value, and the power of a paired t-test with the pairs it needs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from biorepro.aggregate import stats, tables
from biorepro.aggregate.compare import compare_table
from biorepro.evaluate.registry import PRIMARY, metric, with_role
from biorepro.joblog import Log
from biorepro.store.layouts import COMPARE


def build(job: dict, out: Path, log: Log) -> None:
    """Write the comparison tables of every pair of experiments into ``out``."""
    params, experiments = job["ingredients"]["params"], job["inputs"]["metrics"]
    st, names = params["stats"], params["order"]
    pairs = list(itertools.combinations(names, 2))
    levels = stats.levels({r: p for ms in experiments.values() for r, p in ms.items()})
    log(f"compare: {len(pairs)} pair(s) of experiments, levels {levels}")
    md, verdicts = ["# Comparisons between experiments", ""], {}
    for level in levels:
        per_seed = {n: stats.per_seed_table(experiments[n], level) for n in names}
        metrics = {m: metric(m).lower_better for m in with_role("compared")
                   if all(m in t.columns for t in per_seed.values())}
        table = compare_table(per_seed, pairs, metrics, seed_col="run", n_boot=st["n_boot"],
                              ci=st["ci"], seed=st["bootstrap_seed"])
        paths = tables.write_comparison(
            table, out / COMPARE.table.stem(level=level), ci=st["ci"], n_boot=st["n_boot"],
            caption=f"Paired comparisons, {level} level", label=f"tab:compare-{level}")
        md += [f"## {level.capitalize()} level", "", paths["md"].read_text(), ""]
        verdicts[level] = table
    (out / COMPARE.summary()).write_text("\n".join(md))
    level = "video" if "video" in verdicts else levels[0]
    shown = tables.format_comparison(verdicts[level][verdicts[level]["metric"] == PRIMARY])
    (out / COMPARE.landing()).write_text("\n".join([
        "comparisons", "-" * len("comparisons"), "",
        tables.to_rst(shown.drop(columns=["CI", "Wilcoxon p"]),
                      caption=f"{PRIMARY}, {level} level: verdicts and power"),
        tables.comparison_note(st["ci"], st["n_boot"]), ""]))
