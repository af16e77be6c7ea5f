# One training job per seed (its own process), and the determinism check.


def train_spec(wildcards):
    """The job spec, as JSON for the command line."""
    e = entry("train", wildcards)
    return json.dumps({
        "tensors": e.spec["tensors"], "seed": e.spec["seed"],
        "params": e.ingredients["params"], "ingredients": e.ingredients,
        "device": BASE["train"]["device"], "gpu_wait_s": BASE["train"]["gpu_wait_s"],
        "lock_dir": GPU_LOCKS,
    })


def train_environment(wildcards):
    """Determinism variables the job needs before its Python starts (KEY=VALUE ...)."""
    p = entry("train", wildcards).ingredients["params"]
    env = job_environment(p["seed"], p["determinism"], p["threads"])
    return " ".join(f"{k}={v}" for k, v in sorted(env.items()))


rule train:
    input:
        upstream("train"),
    output:
        directory(f"{STORE}/train/{{key}}"),
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
    script:
        "../scripts/determinism_report.py"
