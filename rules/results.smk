# The per-experiment summary entry, and the results/<experiment>/ views.


def experiment_of_summary(wildcards):
    """Report category of a summary entry: its experiment's name."""
    return next(n for n, e in EXPERIMENTS.items() if e.summary.key == wildcards.key)


rule summarize:
    input:
        upstream("summary"),
    output:
        report(
            directory(f"{STORE}/summary/{{key}}"),
            patterns=["figures/{name}.svg", "summary_{level}.csv"],
            category=experiment_of_summary,
            caption="../report/summary.rst",
        ),
    log:
        f"{LOGS}/summary/{{key}}.log",
    params:
        job=job_spec("summary"),
    threads: 1
    script:
        "../scripts/summarize.py"


rule compare_experiments:
    input:
        upstream("compare"),
    output:
        directory(f"{STORE}/compare/{{key}}"),
    log:
        f"{LOGS}/compare/{{key}}.log",
    params:
        job=job_spec("compare"),
    threads: 1
    script:
        "../scripts/compare_experiments.py"


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


# Snakemake calls onsuccess only when jobs ran; when everything is already in the
# store (e.g. after reverting a config change) the views are refreshed here instead.
if not workflow.dryrun and not workflow.remote_exec and not workflow.touch:
    publish_views()


onsuccess:
    publish_views()
