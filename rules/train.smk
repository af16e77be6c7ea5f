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
        python=sys.executable,
    threads: BASE["train"]["threads"]
    resources:
        mem_mb=BASE["train"]["mem_mb"],
        gpu=1 if BASE["train"]["device"] == "gpu" else 0,
    conda:
        "../envs/biorepro.yaml"
    shell:
        "env {params.env} {params.python} -m biorepro.train_job --spec {params.spec:q} "
        "--out {output:q} --log {log:q}"


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
        python=sys.executable,
        scratch=lambda wc: f"{VERIFY}/{wc.key}/retrained",
    threads: BASE["train"]["threads"]
    resources:
        mem_mb=BASE["train"]["mem_mb"],
    conda:
        "../envs/biorepro.yaml"
    shell:
        "env {params.env} {params.python} -m biorepro.train_job --spec {params.spec:q} "
        "--verify-against {input:q} --out {params.scratch:q} --report {output:q} --log {log:q}"


rule verify:
    input:
        [f"{VERIFY}/{e.key}/verify.json" for e in VERIFY_ENTRIES],
    output:
        f"{results_dir(BASE['experiment'])}/determinism.json",
    log:
        f"{LOGS}/verify/determinism.log",
    params:
        seeds=[e.spec["seed"] for e in VERIFY_ENTRIES],
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/determinism_report.py"
