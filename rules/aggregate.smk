# The per-experiment summary entry, the comparisons, and the results/<name>/ views.


rule summary:
    input:
        upstream("summary"),
    output:
        store_output("summary"),
    log:
        log_file("summary"),
    conda:
        "../envs/biorepro.yaml"
    threads: 1
    params:
        jobs=jobs_of("summary"),
    script:
        "../scripts/job.py"


rule compare:
    input:
        upstream("compare"),
    output:
        store_output("compare"),
    log:
        log_file("compare"),
    conda:
        "../envs/biorepro.yaml"
    threads: 1
    params:
        jobs=jobs_of("compare"),
    script:
        "../scripts/job.py"


# results/<name>/ is a copy of the entry it shows (the report is built from it).
rule view:
    input:
        lambda wildcards: target(VIEWS[wildcards.view]),
    output:
        view=report(
            directory(f"{BASE['results']}/{{view}}"),
            patterns=[
                "figures/{name}.svg",
                "summary_{level}.csv",
                "why.html",
                "comparison_{compared}.csv",
                "{check,recheck}.csv",
            ],
            category="{view}",
            caption="../report/summary.rst",
        ),
        receipt=view_receipt("{view}"),
    log:
        f"{LOGS}/view/{{view}}.log",
    wildcard_constraints:
        view="|".join(VIEWS),
    localrule: True
    conda:
        "../envs/biorepro.yaml"
    params:
        entry=lambda wildcards: VIEWS[wildcards.view].path,
        store=PLAN.store,
        closure=view_closure,
    script:
        "../scripts/view.py"


onstart:
    record_extract_batches()
    record_root()


onsuccess:
    for _name in VIEWS:
        if os.path.isdir(results_dir(_name)):
            print(f"biorepro: results of '{_name}' are in {results_dir(_name)}/")
        for _caution in read_cautions(f"{VIEWS[_name].path}/{SUMMARY.summary()}"):
            print(f"biorepro: WARNING ({_name}) {_caution}")
    if os.path.isfile(VERIFY_REPORT) and os.path.getmtime(VERIFY_REPORT) >= STARTED:
        print(
            f"biorepro: determinism check of '{BASE['experiment']}': {VERIFY_REPORT}"
        )
    clean_receipts()


onerror:
    clean_receipts()
