# Plan, validation and input functions shared by every rule.

import gc
import json
import os
import shutil
import sys
import time
import uuid

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from biorepro.aggregate.stagegraph import FILE as STAGE_GRAPH
from biorepro.aggregate.stagegraph import stage_graph
from biorepro.aggregate.trust import read as read_cautions
from biorepro.config import load as load_config
from biorepro.errors import Refusal
from biorepro.train.randomness import runs as cfg_runs
from biorepro.store.invocation import Invocation
from biorepro.plan import Source, build_plan
from biorepro.status import by_stage, format_pending
from biorepro.store import roots
from biorepro.store import receipts
from biorepro.store.keys import KEY_PATTERN, tree_leaves
from biorepro.store.stages import STAGES
from biorepro.store.layouts import SUMMARY
from biorepro.store.view import report_section

# The options of this run, for the commands biorepro prints as fixes (jobs inherit them).
INVOCATION = Invocation(
    os.getcwd(),
    tuple(
        os.path.relpath(f) if not os.path.relpath(f).startswith("..") else str(f)
        for f in workflow.config_settings.configfiles
    ),
    tuple(workflow.config_settings.config_args or ()),
)
INVOCATION.export()

try:
    # The configuration as biorepro's commands merge it (cfg.load: a file that switches
    # train.model starts from that model's own parameters), from the same files.
    PLAN = build_plan(
        load_config(
            ["config/config.yaml", *workflow.config_settings.configfiles],
            roots.plain(workflow.config_settings.config),
        )
    )
except (Refusal, OSError) as err:
    raise WorkflowError(f"biorepro: {err}") from None
# The plan lives as long as the run: no garbage collection pass walks its objects again.
gc.freeze()
EXPERIMENTS = PLAN.experiments
if not workflow.remote_exec and (_pending := format_pending(PLAN)):
    print(f"biorepro: {_pending}", file=sys.stderr)
BASE = next(iter(EXPERIMENTS.values())).config
LOGS = ".biorepro/logs"
# Jobs' outputs, for Snakemake, are receipts in the working directory, one folder per
# run (the id is passed to cluster jobs through their environment): a published store
# entry is never an output, so Snakemake never deletes or touches one (shared stores).
RECEIPTS = ".biorepro/receipts"
RUN = os.environ.setdefault("BIOREPRO_RUN", uuid.uuid4().hex[:12])
RUN_DIR = f"{RECEIPTS}/{RUN}"
BATCHES_FILE = f"{RUN_DIR}/extract_batches.json"
VERIFY = BASE["verify"]["scratch"]
VERIFY_REPORT = f"{VERIFY}/determinism-{BASE['experiment']}.json"
STARTED = time.time()
VERIFY_FOLD = EXPERIMENTS[BASE["experiment"]].folds[0]
VERIFY_ENTRIES = [
    EXPERIMENTS[BASE["experiment"]].train[(VERIFY_FOLD, s)]
    for s in (BASE["verify"]["seeds"] or [cfg_runs(BASE)[0].label])
    if (VERIFY_FOLD, s) in EXPERIMENTS[BASE["experiment"]].train
]


wildcard_constraints:
    recipe=KEY_PATTERN,


def entry(stage, wildcards):
    return PLAN.entry(stage, wildcards.recipe)


def receipt(e):
    """The receipt of the job that builds entry ``e`` (a job may build several)."""
    return f"{RUN_DIR}/{e.stage}/{JOB_OF.get((e.stage, e.recipe), e.recipe)}"


def built_path(e):
    """The store path of entry ``e`` once it is built (None before): planned, or read
    from its job's receipt (an entry whose key waited for its inputs)."""
    if e.key is not None:
        return e.path
    return receipts.find(receipt(e), e.recipe) if os.path.exists(receipt(e)) else None


def stale_view(name):
    """The marker a view that shows another entry than the planned one waits for (the
    ``stale_view`` rule writes it in this run, so the view is refreshed)."""
    return f"{RUN_DIR}/stale_view/{name}"


def view_inputs(wildcards):
    """The entry the view shows (its job's receipt when it is built in this run), and the
    stale marker when the view shows another: a current view does not run, and keeps the
    metadata Snakemake recorded of it."""
    name = wildcards.view
    return [target(VIEWS[name])] + ([stale_view(name)] if view_is_stale(name) else [])


def target(e):
    """What waits for entry ``e``: the entry itself when it is published at planning
    (``ancient``: an immutable, keyed entry's time carries no information), else the
    receipt its job writes in this run."""
    return ancient(e.path) if e.published else receipt(e)


def store_output(stage):
    """The output of a stage's rule: the receipt of its job, named by ``{recipe}``."""
    return f"{RUN_DIR}/{stage}/{{recipe}}"


def log_file(stage):
    return f"{LOGS}/{stage}/{{recipe}}.log"


def job_entries(stage, wildcards):
    """The entries the job of ``stage`` named ``{recipe}`` builds."""
    return JOBS[stage][wildcards.recipe]


def per_job(function):
    """An input function computed once per job (Snakemake asks several times)."""
    done = {}

    def once(wildcards):
        if wildcards.recipe not in done:
            done[wildcards.recipe] = function(wildcards)
        return done[wildcards.recipe]

    return once


def job_inputs(stage):
    """Input function: the entries a job's entries are built from. Sources (videos) are
    not inputs: their content is in the job's name (the recipes), planning has read
    every one, and thousands of them would only slow Snakemake down. Each input once
    (a split waits for one receipt per extraction batch, not one per video)."""

    def inputs(wildcards):
        found = {}
        for e in job_entries(stage, wildcards):
            for d in tree_leaves(e.deps):
                if not isinstance(d, Source):
                    path = target(d)
                    found.setdefault(str(path), path)
        return list(found.values())

    return per_job(inputs)


def job_list(stage):
    """Input function: the jobs the rule's script runs (biorepro.jobs.run.run_jobs)."""
    return per_job(
        lambda wildcards: [e.job(receipt) for e in job_entries(stage, wildcards)]
    )


def job_runtime(stage, name, default):
    """Input function: a run setting (threads, mem_mb, device) of the job's entries, as
    their own experiment sets it (``default`` for a stage without it)."""
    return lambda wildcards: job_entries(stage, wildcards)[0].runtime.get(name, default)


def job_resources(stage):
    """The resources of a stage's rule: its declaration's (memory, cluster time limit),
    the memory its entries ask for, and a GPU for a job that runs on one."""
    declared = STAGES[stage].resources
    return {
        # Snakemake's default disk_mb is twice the inputs' size, which here are receipts
        # and entry folders (no measure of a job's disk, and costly to stat at thousands
        # of jobs): its floor, unless the declaration says more.
        "disk_mb": 1000,
        **declared,
        "mem_mb": job_runtime(stage, "mem_mb", declared.get("mem_mb", 1000)),
        "gpu": lambda wildcards: gpus(job_entries(stage, wildcards)[0]),
    }


def gpus(e):
    """The GPUs the job of entry ``e`` asks for: one when it runs on a GPU."""
    return int(e.runtime.get("device") == "gpu")


def results_dir(name):
    return f"{BASE['results']}/{name}"


# results/<name>/ -> the entry it shows: each experiment's summary, and the comparisons.
VIEWS = {name: exp.summary for name, exp in EXPERIMENTS.items()}
if PLAN.compare:
    VIEWS["comparisons"] = PLAN.compare

# Before any job: every entry of the plan must be intact (cluster jobs plan again, and
# the main process has checked already).
DAMAGED = [] if workflow.remote_exec else PLAN.damaged()
if DAMAGED:
    raise WorkflowError(
        f"biorepro: {len(DAMAGED)} store entries are damaged:\n"
        + "\n".join(f"  {c.path}: {'; '.join(c.problems)}" for c in DAMAGED)
        + f"\nRun `{INVOCATION.biorepro('fsck', '--repair')}` (damaged entries go to "
        "<store>/.quarantine/), then run again: they are rebuilt."
    )


def extract_batches():
    """The extraction batches of this run: computed by the main process from the
    entries missing when it planned (and recorded when it starts running jobs, see
    ``record_extract_batches``), read back by cluster jobs, which plan again when some
    entries are already published, so that both see the same rules."""
    if workflow.remote_exec and os.path.exists(BATCHES_FILE):
        with open(BATCHES_FILE) as f:
            return json.load(f)
    return PLAN.extract_batches(BASE["extract"]["videos_per_job"])


EXTRACT_BATCHES = extract_batches()
# Every stage's jobs (each builds a batch of entries, named by {recipe}) and the job of
# each entry.
JOBS = PLAN.jobs(EXTRACT_BATCHES)
JOB_OF = {
    (stage, e.recipe): name
    for stage, jobs in JOBS.items()
    for name, batch in jobs.items()
    for e in batch
}


def record_root(ran=()):
    """Record this configuration as a root of the store (it keeps its entries from gc):
    the planned entries whose key is known, and those this run's jobs resolved (``ran``:
    their receipts' items, also kept as what the run did, for ``biorepro status``)."""
    if workflow.remote_exec:
        return
    identity = roots.config_identity(
        os.getcwd(),
        [str(f) for f in workflow.config_settings.configfiles],
        roots.plain(workflow.config_settings.config),
    )
    entries = {(e.stage, e.key): e.what for e in PLAN.entries() if e.key is not None}
    entries.update({(i["stage"], i["key"]): i["what"] for i in ran})
    roots.record_config(
        PLAN.store,
        identity,
        [(stage, key, what) for (stage, key), what in entries.items()],
        ran=[[i["stage"], i["key"], i["what"], i["outcome"]] for i in ran],
    )


def finish_run():
    """After the run (successful or not): record the root with every entry the jobs
    resolved, say what was cut off, and remove the receipts."""
    if workflow.remote_exec:
        return
    pending = {(e.stage, e.recipe) for e in PLAN.entries() if e.key is None}
    ran = receipts.read_run(RUN_DIR, pending)
    record_root(ran)
    cut = [i["stage"] for i in ran if i["outcome"] == "cut off"]
    if cut:
        print(
            f"biorepro: {len(cut)} entries cut off, not built: what they are built "
            f"from was rebuilt with the same content ({by_stage(cut)})"
        )
    clean_receipts()


def job_input(e):
    """How a job that runs after entry ``e`` names it (see biorepro.store.receipts)."""
    return ["entry", e.path] if e.key is not None else ["pending", receipt(e), e.recipe]


def view_closure(wildcards):
    """The entries the view ``wildcards.view`` shows, as (stage, input, what) in JSON
    (the view's job reads their keys: see job_input)."""
    return json.dumps(
        [[e.stage, job_input(e), e.what] for e in VIEWS[wildcards.view].closure()]
    )


def report_subcategory(wildcards):
    """The report section of a view's file (its pattern's wildcards: biorepro.store.view)."""
    return report_section(dict(wildcards.items()))


def report_labels(wildcards):
    """The report's label of a view's file: its name (the pattern's own wildcard)."""
    return {"file": next(iter(dict(wildcards.items()).values()))}


def view_graph(wildcards):
    """The stage graph of the view ``wildcards.view`` (see biorepro.aggregate.stagegraph)."""
    return json.dumps(stage_graph(VIEWS[wildcards.view].closure()))


def record_extract_batches():
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(BATCHES_FILE, "w") as f:
        json.dump(EXTRACT_BATCHES, f)


def clean_receipts():
    """Remove this run's receipts (every entry is in the store now) and those that
    failed runs left more than a day ago."""
    if not os.path.isdir(RECEIPTS):
        return
    for d in os.scandir(RECEIPTS):
        if d.name == RUN or time.time() - receipts.last_change(d.path) > 86400:
            shutil.rmtree(d.path, ignore_errors=True)


def view_is_stale(name):
    """Whether results/<name>/ shows another entry than the planned one, which is in the
    store (one built in this run refreshes the view through its receipt)."""
    try:
        shown = open(f"{results_dir(name)}/STORE_ENTRY").read().strip()
    except OSError:
        return False  # no view yet: it is an output to make
    return VIEWS[name].published and shown != os.path.realpath(VIEWS[name].path)


def all_targets():
    """Every results view (refreshed when it shows another entry than the planned one:
    e.g. after reverting a config change, it shows the entries of the configuration in
    force again), and every planned entry missing from the store (so that one removed
    from it, e.g. quarantined by ``biorepro fsck --repair``, is rebuilt)."""
    jobs = dict.fromkeys(receipt(e) for e in PLAN.missing())  # each job's receipt once
    return [*jobs, *(results_dir(n) for n in VIEWS)]
