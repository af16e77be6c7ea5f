# The per-experiment summary entry, and the results/<experiment>/ views.


rule summarize:
    input:
        upstream("summary"),
    output:
        report(
            store_output("summary"),
            patterns=["figures/{name}.svg", "summary_{level}.csv"],
            category=experiment_of_summary,
            caption="../report/summary.rst",
        ),
    log:
        f"{LOGS}/summary/{{key}}.log",
    params:
        job=job_spec("summary"),
    threads: 1
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/summarize.py"


rule compare_experiments:
    input:
        upstream("compare"),
    output:
        store_output("compare"),
    log:
        f"{LOGS}/compare/{{key}}.log",
    params:
        job=job_spec("compare"),
    threads: 1
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/compare_experiments.py"


# Snakemake calls onsuccess only when jobs ran; when everything is already in the
# store (e.g. after reverting a config change) the views are refreshed here instead.
if not workflow.dryrun and not workflow.remote_exec and not workflow.touch:
    publish_views()


onsuccess:
    publish_views()
