"""The plan: every store entry a configuration needs, with its key, computed up front.

The Snakefile builds the plan once at parse time. Outputs are store paths named by key,
so Snakemake runs exactly the entries that are missing from the store; ``biorepro
status`` and ``biorepro gc`` read the same plan.

Stages and what their keys cover (besides code fingerprint and package versions):

==========  =====================================================================
frames      extraction parameters; the video's content digest (not its path)
split       the dataset table (id, label, subject, split, attack type, frames key)
            and ``on_bad_video``
tensors     image size; the split entry's key
train       training parameters and the seed; the tensors entry's key
metrics     evaluation level, fusion, threshold criterion; the train entry's key
==========  =====================================================================
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from biorepro import config as cfg
from biorepro.data import ingest, splitting
from biorepro.synth import dataset as synthetic
from biorepro.store.fingerprint import code_fingerprint
from biorepro.store.hashing import StatCache
from biorepro.store.keys import derive_key, ingredients
from biorepro.data.records import VideoRecord
from biorepro.data.split_folders import check_leakage
from biorepro.store.entries import EntryCheck, check_entry, entry_path, is_published

REPO = Path(__file__).resolve().parent.parent

# stage -> roots of its code: the thin script its rule runs, or the job's module.
# The modules these import are found by ``code_fingerprint``.
STAGE_CODE = {
    "frames": "scripts/extract_frames.py",
    "split": "scripts/split_folders.py",
    "tensors": "scripts/tensor_cache.py",
    "train": "biorepro.jobs.train",
    "metrics": "scripts/evaluate_seed.py",
    "summary": "scripts/summarize.py",
    "compare": "scripts/compare_experiments.py",
}
STAGES = tuple(STAGE_CODE)

# Keys of ``train`` that change how a job runs but not what it computes.
TRAIN_RUNTIME_KEYS = ("device", "gpu_wait_s", "mem_mb")


def stage_code(stage: str) -> dict:
    """Code fingerprint and package versions of ``stage`` (cached per process)."""
    root = STAGE_CODE[stage]
    fp = code_fingerprint(str(REPO / root) if root.endswith(".py") else root)
    return {"code": fp.as_dict(), "versions": fp.versions()}


@dataclass
class Entry:
    """One store entry the plan needs."""

    stage: str
    key: str
    path: str
    ingredients: dict
    inputs: list[str] = field(default_factory=list)
    spec: dict = field(default_factory=dict)
    what: str = ""
    runtime: dict = field(default_factory=dict)  # how the job runs (not in the key)

    @property
    def published(self) -> bool:
        return is_published(self.path)


def make_entry(store: str, stage: str, params: dict, inputs: dict, *,
               upstream: list[str] = (), spec: dict | None = None, what: str = "",
               runtime: dict | None = None) -> Entry:
    code = stage_code(stage)
    ingr = ingredients(stage, code["code"], code["versions"], params, inputs)
    key = derive_key(ingr)
    return Entry(stage, key, str(entry_path(store, stage, key)), ingr, list(upstream),
                 spec or {}, what, runtime or {})


@dataclass
class ExperimentPlan:
    name: str
    config: dict
    records: list[VideoRecord]
    frames: dict[str, Entry]          # video_id -> entry
    split: Entry
    tensors: Entry
    train: dict[int, Entry]           # seed -> entry
    metrics: dict[tuple[int, str], Entry]  # (seed, level) -> entry
    summary: Entry

    def entries(self) -> list[Entry]:
        return [*self.frames.values(), self.split, self.tensors, *self.train.values(),
                *self.metrics.values(), self.summary]


@dataclass
class Plan:
    store: str
    experiments: dict[str, ExperimentPlan]
    compare: Entry | None = None  # when there are several experiments
    by_key: dict[tuple[str, str], Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for exp in self.experiments.values():
            for e in exp.entries():
                self.by_key.setdefault((e.stage, e.key), e)
        if self.compare is not None:
            self.by_key[("compare", self.compare.key)] = self.compare
        self.by_path = {e.path: e for e in self.by_key.values()}

    def entry(self, stage: str, key: str) -> Entry:
        return self.by_key[(stage, key)]

    def upstream(self, e: Entry) -> list[Entry]:
        """The entries ``e`` is built from."""
        return [self.by_path[p] for p in e.inputs]

    def damaged(self) -> list[EntryCheck]:
        """Published entries of the plan whose files do not match their provenance
        (sizes and the record's own digest: cheap enough for every planning)."""
        checks = (check_entry(e.path, deep=False) for e in self.entries() if e.published)
        return [c for c in checks if not c.ok]

    def entries(self, stage: str | None = None) -> list[Entry]:
        return [e for (s, _k), e in self.by_key.items() if stage is None or s == stage]

    def missing(self, stage: str | None = None) -> list[Entry]:
        return [e for e in self.entries(stage) if not e.published]

    def extract_batches(self, videos_per_job: int) -> dict[str, list[str]]:
        """Keys of the missing frames entries, grouped into batches (one job each).

        Only missing entries are batched, so a batch never contains an entry that
        already exists and changing one video re-extracts exactly that video.
        """
        todo = sorted(self.missing("frames"), key=lambda e: e.spec["video"])
        batches = {}
        for start in range(0, len(todo), videos_per_job):
            chunk = [e.key for e in todo[start:start + videos_per_job]]
            batches[hashlib.sha256("".join(chunk).encode()).hexdigest()[:12]] = chunk
        return batches


def train_job_spec(e: Entry, lock_dir: str) -> dict:
    """The spec of ``python -m biorepro.jobs.train`` for training entry ``e``."""
    return {"tensors": e.spec["tensors"], "seed": e.spec["seed"],
            "params": e.ingredients["params"], "ingredients": e.ingredients,
            "device": e.runtime["device"], "gpu_wait_s": e.runtime["gpu_wait_s"],
            "lock_dir": lock_dir}


def dataset_records(conf: dict) -> list[VideoRecord]:
    """The records of the configured dataset, with splits assigned."""
    ds = conf["dataset"]
    kind = ds["kind"]
    if kind == "synthetic":
        root = synthetic.ensure_dataset(ds["root"], ds["synthetic"])
        records = ingest.replay_attack(root, "grandtest", ds["extensions"])
    elif kind == "replay-attack":
        records = ingest.replay_attack(Path(ds["root"]), ds["protocol"], ds["extensions"])
    elif kind == "folders":
        records = ingest.folders(Path(ds["root"]), ds["bonafide_class"], ds["extensions"],
                                 ds["subject_regex"])
    else:
        records = ingest.manifest(Path(ds["manifest"]), ds["allow_outside_root"])
    ingest.check_unique_ids(records)
    return splitting.require_classes(
        splitting.assign_splits(records, ds["split_fractions"], ds["split_seed"]))


def train_params(conf: dict) -> dict:
    return {k: v for k, v in conf["train"].items() if k not in TRAIN_RUNTIME_KEYS}


def _plan_experiment(name: str, conf: dict, store: str, digests: dict[str, str],
                     records: list[VideoRecord]) -> ExperimentPlan:
    extract_params = {k: v for k, v in conf["extract"].items() if k != "videos_per_job"}
    frames = {
        r.video_id: make_entry(store, "frames", extract_params, {"video": digests[r.path]},
                               spec={"video": r.path}, what=f"video {r.path}")
        for r in records
    }
    table = {r.video_id: {"label": r.label, "subject": r.subject, "split": r.split,
                          "attack_type": r.attack_type, "frames": frames[r.video_id].key}
             for r in records}
    split = make_entry(store, "split", {"on_bad_video": conf["dataset"]["on_bad_video"]},
                       {"videos": table}, upstream=sorted({e.path for e in frames.values()}),
                       spec={"records": [r.as_dict() for r in records],
                             "frames": {v: e.path for v, e in frames.items()}},
                       what=f"dataset of {len(records)} videos")
    tensors = make_entry(store, "tensors", dict(conf["tensors"]), {"split": split.key},
                         upstream=[split.path], spec={"split": split.path},
                         what=f"tensors {conf['tensors']['image_size']}px")
    tparams = train_params(conf)
    runtime = {k: conf["train"][k] for k in (*TRAIN_RUNTIME_KEYS, "threads")}
    train = {
        seed: make_entry(store, "train", {**tparams, "seed": seed}, {"tensors": tensors.key},
                         upstream=[tensors.path], spec={"tensors": tensors.path, "seed": seed},
                         what=f"seed {seed}", runtime=runtime)
        for seed in cfg.seed_list(conf)
    }
    ev = conf["evaluate"]
    metrics = {}
    for seed, t in train.items():
        for level in ev["levels"]:
            params = {"level": level, "criterion": ev["criterion"], "target": ev["target"],
                      "fusion": ev["fusion"] if level == "video" else None}
            metrics[(seed, level)] = make_entry(
                store, "metrics", params, {"train": t.key}, upstream=[t.path],
                spec={"train": t.path, "seed": seed}, what=f"seed {seed}, {level} level")
    summary = make_entry(
        store, "summary", {"experiment": name, "stats": conf["stats"], "fusion": ev["fusion"]},
        {"split": split.key, "tensors": tensors.key,
         "train": {str(s): t.key for s, t in train.items()},
         "metrics": {f"{s}/{lv}": m.key for (s, lv), m in metrics.items()}},
        upstream=[split.path, tensors.path, *(t.path for t in train.values()),
                  *(m.path for m in metrics.values())],
        spec={"experiment": name, "split": split.path, "tensors": tensors.path,
              "train": {s: t.path for s, t in train.items()},
              "metrics": [{"seed": s, "level": lv, "path": m.path}
                          for (s, lv), m in metrics.items()],
              "entries": {e.stage + "/" + e.key: e.what for e in
                          [split, tensors, *train.values(), *metrics.values()]}},
        what=f"summary of experiment {name}")
    return ExperimentPlan(name, conf, records, frames, split, tensors, train, metrics, summary)


def build_plan(config: dict) -> Plan:
    """Validate ``config`` and compute every entry of every experiment."""
    experiments = cfg.experiments(config)
    base = next(iter(experiments.values()))
    store = base["store"]
    for name, conf in experiments.items():
        if conf["store"] != store or conf["stat_cache"] != base["stat_cache"]:
            raise cfg.ConfigError(f"config key 'experiments.{name}': 'store' and "
                                  "'stat_cache' must be the same for all experiments")
    datasets: dict[str, tuple[list[VideoRecord], dict[str, str]]] = {}
    plans = {}
    with StatCache(base["stat_cache"]) as cache:
        for name, conf in experiments.items():
            ds_key = derive_key(conf["dataset"])
            if ds_key not in datasets:  # variants usually share one dataset
                records = dataset_records(conf)
                digests = cache.digests(r.path for r in records)
                check_leakage(records, digests)
                datasets[ds_key] = (records, digests)
            records, digests = datasets[ds_key]
            plans[name] = _plan_experiment(name, conf, store, digests, records)
    return Plan(store, plans, _plan_comparison(plans, base) if len(plans) > 1 else None)


def _plan_comparison(plans: dict[str, ExperimentPlan], base: dict) -> Entry:
    metrics = {name: {f"{s}/{lv}": m.key for (s, lv), m in exp.metrics.items()}
               for name, exp in plans.items()}
    return make_entry(
        base["store"], "compare", {"stats": base["stats"], "order": list(plans)},
        {"metrics": metrics},
        upstream=sorted({m.path for exp in plans.values() for m in exp.metrics.values()}),
        spec={"experiments": {
            name: [{"seed": s, "level": lv, "path": m.path} for (s, lv), m in exp.metrics.items()]
            for name, exp in plans.items()}},
        what=f"comparison of {', '.join(plans)}")
