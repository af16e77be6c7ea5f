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


def job_spec(stage):
    return lambda wildcards: {
        "spec": entry(stage, wildcards).spec,
        "ingredients": entry(stage, wildcards).ingredients,
    }


def results_dir(name):
    return f"{BASE['results']}/{name}"
