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
        view=report(
            directory(f"{BASE['results']}/{{view}}"),
            patterns=[
                "figures/{name}.svg",
                "summary_{level}.csv",
                "{check,recheck}.csv",
            ],
            category="{view}",
            caption="../report/summary.rst",
        ),
        receipt=view_receipt("{view}"),
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


onstart:
    record_extract_batches()


onsuccess:
    for _name in VIEWS:
        print(f"biorepro: results of '{_name}' are in {results_dir(_name)}/")
    clean_receipts()


onerror:
    clean_receipts()
