# Plan, validation and input functions shared by every rule.

import json
import sys

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from biorepro.config import ConfigError
from biorepro.config import seed_list as cfg_seed_list
from biorepro.determinism import job_environment
from biorepro.ingest import DatasetError
from biorepro.keys import KEY_PATTERN
from biorepro.plan import build_plan
from biorepro.splitfolders import LeakageError
from biorepro.splitting import SplitError

try:
    PLAN = build_plan(config)
except (ConfigError, DatasetError, LeakageError, SplitError, OSError) as err:
    raise WorkflowError(f"biorepro: {err}") from None

EXPERIMENTS = PLAN.experiments
BASE = next(iter(EXPERIMENTS.values())).config
STORE = PLAN.store
LOGS = ".biorepro/logs"
GPU_LOCKS = ".biorepro/gpu-locks"
VERIFY = BASE["verify"]["scratch"]
VERIFY_ENTRIES = [
    EXPERIMENTS[BASE["experiment"]].train[s]
    for s in (BASE["verify"]["seeds"] or cfg_seed_list(BASE)[:1])
    if s in EXPERIMENTS[BASE["experiment"]].train
]


wildcard_constraints:
    key=KEY_PATTERN,


def entry(stage, wildcards):
    return PLAN.entry(stage, wildcards.key)


def upstream(stage):
    """Input function: the upstream entries of a stage's entry (store paths).

    ``ancient`` because entries are immutable and keyed: their modification times
    carry no information, only their existence does. ``train_verify`` is the
    training entry itself (what a determinism check retrains and compares with).
    """
    if stage == "train_verify":
        return lambda wildcards: ancient(entry("train", wildcards).path)
    return lambda wildcards: [ancient(p) for p in entry(stage, wildcards).inputs]


def store_output(stage):
    """The output of a stage's rule: its store entry, named by key.

    ``update`` keeps Snakemake from deleting an entry that another run published
    between planning and running this job (shared stores, concurrent runs); the entry
    is then simply republished, identical, and the existing copy kept.
    """
    return update(directory(f"{STORE}/{stage}/{{key}}"))


def job_spec(stage):
    return lambda wildcards: {
        "spec": entry(stage, wildcards).spec,
        "ingredients": entry(stage, wildcards).ingredients,
    }


def results_dir(name):
    return f"{BASE['results']}/{name}"


def train_runtime(name):
    """Input function: a run setting (threads, mem_mb, ...) of the training entry's own
    experiment, not of the base one."""
    return lambda wildcards: entry("train", wildcards).runtime[name]


def train_spec(wildcards):
    """The job spec, as JSON for the command line."""
    e = entry("train", wildcards)
    return json.dumps({
        "tensors": e.spec["tensors"], "seed": e.spec["seed"],
        "params": e.ingredients["params"], "ingredients": e.ingredients,
        "device": e.runtime["device"], "gpu_wait_s": e.runtime["gpu_wait_s"],
        "lock_dir": GPU_LOCKS,
    })


def train_environment(wildcards):
    """Determinism variables the job needs before its Python starts (KEY=VALUE ...)."""
    p = entry("train", wildcards).ingredients["params"]
    env = job_environment(p["seed"], p["determinism"], p["threads"])
    return " ".join(f"{k}={v}" for k, v in sorted(env.items()))


def experiment_of_summary(wildcards):
    """Report category of a summary entry: its experiment's name."""
    return next(n for n, e in EXPERIMENTS.items() if e.summary.key == wildcards.key)


def all_targets():
    targets = [exp.summary.path for exp in EXPERIMENTS.values()]
    return targets + ([PLAN.compare.path] if PLAN.compare else [])


def publish_views():
    """Point results/<experiment>/ at the current summary entries that exist."""
    from biorepro.view import publish_view

    views = {name: exp.summary for name, exp in EXPERIMENTS.items()}
    if PLAN.compare:
        views["comparisons"] = PLAN.compare
    for name, summary in views.items():
        if summary.published:
            view = publish_view(summary.path, results_dir(name))
            print(f"biorepro: results of '{name}' are in {view}/")
