"""The stages of the workflow, each declared once.

A stage's name is its store folder (``<store>/<stage>/<key>/``), its rule, its job module
(``biorepro.jobs.<stage>``), its log and receipt folders; its declaration says what its
entries hold (their layout), what they are built from, which configuration section feeds
its key (each key's role is declared in the schema, ``x-feeds``), and what its rule asks
of a machine. The plan checks every entry against it, the workflow makes one rule per
stage from it (``rules/stages.smk``), and the docs' table of stages is rendered from it
(:func:`table`). Adding a stage takes its declaration here, its job module and its tests.

Nothing here computes: a declaration is no ingredient of any key (the parameters, inputs
and code it names are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biorepro.store.layouts import LAYOUTS, Layout

SOURCE = "source"  # an input that is a file outside the store (a video), not an entry


@dataclass(frozen=True)
class Stage:
    """One stage: the entries of one kind, the rule and the job module that build them."""

    name: str
    inputs: dict[str, str]  # role of an input in the entry's ``deps`` -> its stage (or SOURCE)
    key: str                # what its key covers besides the code and its inputs (docs)
    config: str | None = None  # the config section whose keys feed its key (``x-feeds``)
    backend: bool = False   # its key names the Keras backend with that backend's versions
    resources: dict[str, int] = field(default_factory=dict)  # its rule's, as on a cluster
    group: str | None = None  # jobs submitted together on a cluster (a Snakemake group)

    @property
    def layout(self) -> Layout:
        """What its entries hold (:mod:`biorepro.store.layouts`)."""
        return LAYOUTS[self.name]

    @property
    def job_module(self) -> str:
        """The module whose ``build(job, out, log)`` writes the stage's entries."""
        return f"biorepro.jobs.{self.name}"


# Cluster time limits (``runtime``, minutes) and memory (``mem_mb``) per job; a training
# job's memory is ``train.mem_mb``, its device and threads the run's (set by the plan).
STAGES = {s.name: s for s in (
    Stage("frames", {"video": SOURCE, "annotations": SOURCE},
          "extraction parameters and the face detector (version, weight files' digests); "
          "the video's content digest (not its path), and its annotation file's with "
          "``crop: annotations``",
          config="extract", resources={"mem_mb": 1000, "runtime": 30}, group="frames"),
    Stage("split", {"frames": "frames"},
          "the videos (id, label, subject, split, attack type), ``on_bad_video``; the "
          "frames entries' content",
          resources={"mem_mb": 2000, "runtime": 30}),
    Stage("tensors", {"split": "split"},
          "image size; the split entry's content",
          config="tensors", resources={"mem_mb": 2000, "runtime": 30}),
    Stage("train", {"tensors": "tensors"},
          "training parameters and the run's seeds (init, order, noise, replicate), Keras' "
          "backend and its versions, the model (a built-in's name and parameters, or a user "
          "model file's code fingerprint), the weights file's digest; the tensors entry's "
          "content (of the run's split seed)",
          config="train", backend=True, resources={"runtime": 240}),
    Stage("cross", {"train": "train", "tensors": "tensors"},
          "the target's name, the model, backend, determinism and threads of the training "
          "run; the train entry's and the target's tensors entry's content",
          backend=True, resources={"mem_mb": 4000, "runtime": 60}),
    Stage("metrics", {"train": "train", "scores": "cross"},
          "the run's label and seeds, evaluation level, fusion, threshold criterion and "
          "rule; the train entry's content (and the cross entry's, on another database)",
          resources={"mem_mb": 1000, "runtime": 30}),
    Stage("summary", {"split": "split", "tensors": "tensors",
                                       "train": "train", "metrics": "metrics",
                                       "cross": "metrics"},
          "experiment name, statistics settings, fusion, the published numbers (``paper``) "
          "concerning it; its entries' content",
          config="stats", resources={"mem_mb": 4000, "runtime": 60}),
    Stage("compare", {"metrics": "metrics"},
          "statistics settings, experiment order; the metrics entries' content",
          resources={"mem_mb": 2000, "runtime": 30}),
)}
NAMES = tuple(STAGES)  # in the order data flows through them


def layout(stage: str) -> Layout | None:
    """The layout of ``stage``'s entries (None for no stage)."""
    return STAGES[stage].layout if stage in STAGES else None


def table() -> str:
    """The docs' table of stages (Markdown): each stage, what it is built from, the
    configuration section that feeds its key and what else its key covers."""
    rows = ["| stage | built from | config | its key covers (besides its code and "
            "packages) |", "|---|---|---|---|"]
    for s in STAGES.values():
        built = ", ".join(sorted({"videos" if st == SOURCE else st
                                  for st in s.inputs.values()}, key=_order))
        rows.append(f"| `{s.name}` | {built} | {f'`{s.config}`' if s.config else '—'} | "
                    f"{s.key.replace('``', '`')} |")
    return "\n".join(rows) + "\n"


def _order(stage: str) -> int:
    return NAMES.index(stage) if stage in NAMES else -1
