# Data stages: frames per video (batched jobs), split folders, tensor cache.

EXTRACT_BATCHES = extract_batches()

for _batch_id, _keys in EXTRACT_BATCHES.items():
    _batch = [PLAN.entry("frames", k) for k in _keys]

    rule:
        name:
            f"frames_{_batch_id}"
        input:
            [ancient(e.deps["video"].path) for e in _batch],
        output:
            [receipt(e) for e in _batch],
        log:
            f"{LOGS}/frames/{_batch_id}.log",
        params:
            jobs=[e.job for e in _batch],
        threads: 1
        resources:
            mem_mb=1000,
        group:
            "frames"
        conda:
            "../envs/biorepro.yaml"
        script:
            "../scripts/job.py"


rule split:
    input:
        upstream("split"),
    output:
        store_output("split"),
    log:
        log_file("split"),
    params:
        jobs=jobs_of("split"),
    threads: 1
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/job.py"


rule tensors:
    input:
        upstream("tensors"),
    output:
        store_output("tensors"),
    log:
        log_file("tensors"),
    params:
        jobs=jobs_of("tensors"),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/job.py"
