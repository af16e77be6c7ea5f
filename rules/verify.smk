# The determinism check: retrain a stored seed into a scratch folder and compare it bit
# for bit (not a stage: it writes no store entry).


rule verify_seed:
    input:
        lambda wildcards: target(entry("train", wildcards)),
    output:
        f"{VERIFY}/{{recipe}}/verify.json",
    log:
        f"{LOGS}/verify/{{recipe}}.log",
    conda:
        "../envs/biorepro.yaml"
    threads: lambda wildcards: entry("train", wildcards).runtime["threads"]
    resources:
        mem_mb=lambda wildcards: entry("train", wildcards).runtime["mem_mb"],
        runtime=STAGES["train"].resources["runtime"],
        gpu=lambda wildcards: gpus(entry("train", wildcards)),
    params:
        job=lambda wildcards: json.dumps(entry("train", wildcards).job(receipt)),
        python=sys.executable,
        scratch=lambda wildcards: f"{VERIFY}/{wildcards.recipe}/retrained",
    shell:
        "{params.python} -m biorepro.jobs --job {params.job:q} --into {params.scratch:q} "
        "--report {output:q} --log {log:q}"


rule verify:
    input:
        [f"{VERIFY}/{e.recipe}/verify.json" for e in VERIFY_ENTRIES],
    output:
        VERIFY_REPORT,
    log:
        f"{LOGS}/verify/determinism.log",
    conda:
        "../envs/biorepro.yaml"
    params:
        view=results_dir(BASE["experiment"]),
    script:
        "../scripts/verify_report.py"
