# The per-experiment summary entry, the comparisons, and the results/<name>/ views.


rule summarize:
    input:
        upstream("summary"),
    output:
        store_output("summary"),
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


# results/<name>/ is a copy of the entry it shows (the report is built from it).
rule results_view:
    input:
        lambda wildcards: target(VIEWS[wildcards.view]),
    output:
        report(
            directory(f"{BASE['results']}/{{view}}"),
            patterns=[
                "figures/{name}.svg",
                "summary_{level}.csv",
                "{check,recheck}.csv",
            ],
            category="{view}",
            caption="../report/summary.rst",
        ),
    log:
        f"{LOGS}/results_view/{{view}}.log",
    params:
        entry=lambda wildcards: VIEWS[wildcards.view].path,
    wildcard_constraints:
        view="|".join(VIEWS),
    localrule: True
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/results_view.py"


# The views are refreshed at every start, also when no job runs (e.g. after reverting
# a config change, the view shows the entries of the configuration in force again).
if not workflow.dryrun and not workflow.remote_exec and not workflow.touch:
    publish_views()


onsuccess:
    publish_views()
    clean_receipts()


onerror:
    clean_receipts()
