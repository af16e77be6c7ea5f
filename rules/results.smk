# The per-experiment summary entry, and the results/<experiment>/ views.


rule summarize:
    input:
        upstream("summary"),
    output:
        directory(f"{STORE}/summary/{{key}}"),
    log:
        f"{LOGS}/summary/{{key}}.log",
    params:
        job=job_spec("summary"),
    threads: 1
    script:
        "../scripts/summarize.py"


def all_targets():
    return [exp.summary.path for exp in EXPERIMENTS.values()]


def publish_views():
    """Point results/<experiment>/ at the current summary entries that exist."""
    from biorepro.view import publish_view

    for name, exp in EXPERIMENTS.items():
        if exp.summary.published:
            view = publish_view(exp.summary.path, results_dir(name))
            print(f"biorepro: results of experiment '{name}' are in {view}/")


# Snakemake calls onsuccess only when jobs ran; when everything is already in the
# store (e.g. after reverting a config change) the views are refreshed here instead.
if not workflow.dryrun and not workflow.remote_exec and not workflow.touch:
    publish_views()


onsuccess:
    publish_views()
