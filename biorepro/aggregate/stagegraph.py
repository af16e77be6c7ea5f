"""The stage graph of a view: what the workflow computes for it, stage by stage.

Snakemake's own workflow graph shows the jobs of the last invocation only (a rerun that
finds every entry in the store shows ``view → all``). This graph is the plan's: every
stage the view's entry is built from, with how many entries it holds, and an arrow where
a stage's entries are built from another's. Stages are ordered as data flows
(:data:`biorepro.store.stages.NAMES`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from biorepro.store.stages import NAMES

FILE = "stages.svg"  # in results/<name>/, beside the entry's files


class PlannedEntry(Protocol):
    """What the graph needs of a plan's entry (:class:`biorepro.plan.Entry`)."""

    stage: str

    @property
    def upstream(self) -> list[PlannedEntry]:
        """The entries it is built from."""


def stage_graph(entries: list[PlannedEntry]) -> dict:
    """``{"stages": {stage: entries}, "edges": [[from, to], ...]}`` of ``entries`` (a
    closure: every upstream entry included), in data-flow order."""
    counts: dict[str, int] = {}
    edges: set[tuple[str, str]] = set()
    for e in entries:
        counts[e.stage] = counts.get(e.stage, 0) + 1
        edges.update((u.stage, e.stage) for u in e.upstream)
    order = sorted(counts, key=NAMES.index)
    return {"stages": {s: counts[s] for s in order},
            "edges": sorted(map(list, edges), key=lambda e: (order.index(e[0]),
                                                              order.index(e[1])))}


def draw_stage_graph(graph: dict, path: str | Path) -> None:
    """An SVG of ``graph``: one box per stage (its entry count), left to right in layers
    (a stage one layer after the last stage it is built from)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = list(graph["stages"])
    layer: dict[str, int] = {}
    for s in stages:  # data-flow order: every upstream stage has its layer already
        layer[s] = 1 + max((layer[a] for a, b in graph["edges"] if b == s), default=-1)
    rows: dict[int, list[str]] = {}
    for s in stages:
        rows.setdefault(layer[s], []).append(s)
    where = {s: (layer[s], -(i - (len(rows[layer[s]]) - 1) / 2))
             for s in stages for i in [rows[layer[s]].index(s)]}
    width, height = max(layer.values()) + 1, max(len(r) for r in rows.values())
    fig, ax = plt.subplots(figsize=(2.2 * width + 0.5, 1.3 * height + 0.6))
    for a, b in graph["edges"]:
        (xa, ya), (xb, yb) = where[a], where[b]
        ax.annotate("", xy=(xb - 0.36, yb), xytext=(xa + 0.36, ya),
                    arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 1.2})
    for s, (x, y) in where.items():
        n = graph["stages"][s]
        ax.text(x, y, f"{s}\n{n} entr{'y' if n == 1 else 'ies'}", ha="center", va="center",
                fontsize=11, bbox={"boxstyle": "round,pad=0.5", "fc": "#e8f0fa", "ec": "#3465a4"})
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-height / 2 - 0.1, height / 2 + 0.1)
    ax.axis("off")
    ax.set_title("Stages of the plan (store entries per stage; arrows: built from)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
