# One training job per seed (its own process: its determinism variables are set before
# Python starts), and the determinism check.


rule train:
    input:
        upstream("train"),
    output:
        store_output("train"),
    log:
        log_file("train"),
    conda:
        "../envs/biorepro.yaml"
    threads: runtime("train", "threads")
    resources:
        mem_mb=runtime("train", "mem_mb"),
        gpu=lambda wildcards: int(entry("train", wildcards).runtime["device"] == "gpu"),
    params:
        job=job_json("train"),
        python=sys.executable,
    shell:
        "{params.python} -m biorepro.jobs --job {params.job:q} --receipt {output:q} "
        "--log {log:q}"


# verify: retrain a stored seed into a scratch folder and compare it bit for bit.
rule verify_seed:
    input:
        lambda wildcards: target(entry("train", wildcards)),
    output:
        f"{VERIFY}/{{key}}/verify.json",
    log:
        f"{LOGS}/verify/{{key}}.log",
    conda:
        "../envs/biorepro.yaml"
    threads: runtime("train", "threads")
    resources:
        mem_mb=runtime("train", "mem_mb"),
        gpu=lambda wildcards: int(entry("train", wildcards).runtime["device"] == "gpu"),
    params:
        job=job_json("train"),
        python=sys.executable,
        scratch=lambda wildcards: f"{VERIFY}/{wildcards.key}/retrained",
    shell:
        "{params.python} -m biorepro.jobs --job {params.job:q} --into {params.scratch:q} "
        "--report {output:q} --log {log:q}"


rule verify:
    input:
        [f"{VERIFY}/{e.key}/verify.json" for e in VERIFY_ENTRIES],
    output:
        f"{VERIFY}/determinism-{BASE['experiment']}.json",
    log:
        f"{LOGS}/verify/determinism.log",
    conda:
        "../envs/biorepro.yaml"
    params:
        view=results_dir(BASE["experiment"]),
    script:
        "../scripts/verify_report.py"
