# The results/<name>/ views of the store entries they show, and what the run does when it
# starts and ends.


# results/<name>/ is a copy of the entry it shows (the report is built from it).
rule view:
    input:
        view_inputs,
    output:
        view=report(
            directory(f"{BASE['results']}/{{view}}"),
            # every pattern needs a wildcard (Snakemake registers only matches of one)
            patterns=[
                "figures/{figure}.svg",
                "{table,[^/]+}.csv",
                "{page,why}.html",
                f"{{graph,{STAGE_GRAPH.removesuffix('.svg')}}}.svg",
            ],
            category="{view}",
            subcategory=report_subcategory,
            labels=report_labels,
            caption="../report/summary.rst",
        ),
    log:
        f"{LOGS}/view/{{view}}.log",
    wildcard_constraints:
        view="|".join(VIEWS),
    localrule: True
    conda:
        "../envs/biorepro.yaml"
    params:
        entry=lambda wildcards: json.dumps(job_input(VIEWS[wildcards.view])),
        store=PLAN.store,
        closure=view_closure,
        graph=view_graph,
    script:
        "../scripts/view.py"


# Marks a view that shows another entry than the planned one, so that it is refreshed.
rule stale_view:
    output:
        stale_view("{view}"),
    log:
        f"{LOGS}/stale_view/{{view}}.log",
    localrule: True
    conda:
        "../envs/biorepro.yaml"
    shell:
        "echo 'results/{wildcards.view} shows another entry' > {log:q}; touch {output:q}"


onstart:
    record_extract_batches()
    record_root()


onsuccess:
    for _name in VIEWS:
        if os.path.isdir(results_dir(_name)):
            print(f"biorepro: results of '{_name}' are in {results_dir(_name)}/")
        _shown = built_path(VIEWS[_name])
        for _caution in (
            read_cautions(f"{_shown}/{SUMMARY.summary()}") if _shown else ()
        ):
            print(f"biorepro: WARNING ({_name}) {_caution}")
    if os.path.isfile(VERIFY_REPORT) and os.path.getmtime(VERIFY_REPORT) >= STARTED:
        print(
            f"biorepro: determinism check of '{BASE['experiment']}': {VERIFY_REPORT}"
        )
    finish_run()


onerror:
    finish_run()
