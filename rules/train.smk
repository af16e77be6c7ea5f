# One training job per seed (its own process), and the determinism check.


rule train:
    input:
        upstream("train"),
    output:
        store_output("train"),
    log:
        f"{LOGS}/train/{{key}}.log",
    params:
        env=train_environment,
        spec=train_spec,
        entry=lambda wildcards: entry("train", wildcards).path,
        python=sys.executable,
    threads: train_runtime("threads")
    resources:
        mem_mb=train_runtime("mem_mb"),
        gpu=lambda wildcards: int(entry("train", wildcards).runtime["device"] == "gpu"),
    conda:
        "../envs/biorepro.yaml"
    shell:
        "env {params.env} {params.python} -m biorepro.jobs.train --spec {params.spec:q} "
        "--out {params.entry:q} --receipt {output:q} --log {log:q}"


rule verify_seed:
    input:
        upstream("train_verify"),
    output:
        f"{VERIFY}/{{key}}/verify.json",
    log:
        f"{LOGS}/verify/{{key}}.log",
    params:
        env=train_environment,
        spec=train_spec,
        entry=lambda wildcards: entry("train", wildcards).path,
        python=sys.executable,
        scratch=lambda wc: f"{VERIFY}/{wc.key}/retrained",
    threads: train_runtime("threads")
    resources:
        mem_mb=train_runtime("mem_mb"),
    conda:
        "../envs/biorepro.yaml"
    shell:
        "env {params.env} {params.python} -m biorepro.jobs.train --spec {params.spec:q} "
        "--verify-against {params.entry:q} --out {params.scratch:q} --report {output:q} "
        "--log {log:q}"


rule verify:
    input:
        [f"{VERIFY}/{e.key}/verify.json" for e in VERIFY_ENTRIES],
    output:
        f"{VERIFY}/determinism-{BASE['experiment']}.json",
    log:
        f"{LOGS}/verify/determinism.log",
    params:
        seeds=[e.spec["seed"] for e in VERIFY_ENTRIES],
        view=results_dir(BASE["experiment"]),
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/determinism_report.py"
