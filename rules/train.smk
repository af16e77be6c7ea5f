# Training jobs of train.seeds_per_process runs each (their own process: determinism
# variables are set before Python starts; {recipe} names the job, see Plan.train_batches),
# and the determinism check.


rule train:
    input:
        lambda wildcards: [
            target(u) for e in train_batch(wildcards) for u in e.upstream
        ],
    output:
        store_output("train"),
    log:
        log_file("train"),
    conda:
        "../envs/biorepro.yaml"
    threads: lambda wildcards: train_batch(wildcards)[0].runtime["threads"]
    resources:
        mem_mb=lambda wildcards: train_batch(wildcards)[0].runtime["mem_mb"],
        gpu=lambda wildcards: int(train_batch(wildcards)[0].runtime["device"] == "gpu"),
    params:
        job=lambda wildcards: json.dumps(
            [e.job(receipt) for e in train_batch(wildcards)]
        ),
        python=sys.executable,
    shell:
        "{params.python} -m biorepro.jobs --job {params.job:q} --receipt {output:q} "
        "--log {log:q}"


# verify: retrain a stored seed into a scratch folder and compare it bit for bit.
rule verify_seed:
    input:
        lambda wildcards: target(entry("train", wildcards)),
    output:
        f"{VERIFY}/{{recipe}}/verify.json",
    log:
        f"{LOGS}/verify/{{recipe}}.log",
    conda:
        "../envs/biorepro.yaml"
    threads: runtime("train", "threads")
    resources:
        mem_mb=runtime("train", "mem_mb"),
        gpu=lambda wildcards: int(entry("train", wildcards).runtime["device"] == "gpu"),
    params:
        job=job_json("train"),
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
