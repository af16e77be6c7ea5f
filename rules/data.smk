# Data stages: frames per video (batched jobs), split folders, tensor cache.

EXTRACT_BATCHES = extract_batches()

for _batch_id, _keys in EXTRACT_BATCHES.items():
    _batch = [PLAN.entry("frames", k) for k in _keys]

    rule:
        name:
            f"frames_{_batch_id}"
        input:
            [ancient(s.path) for e in _batch for s in e.deps.values()],
        output:
            [receipt(e) for e in _batch],
        log:
            f"{LOGS}/frames/{_batch_id}.log",
        group:
            "frames"
        conda:
            "../envs/biorepro.yaml"
        threads: 1
        resources:
            mem_mb=1000,
        params:
            jobs=[e.job(receipt) for e in _batch],
        script:
            "../scripts/job.py"


rule split:
    input:
        upstream("split"),
    output:
        store_output("split"),
    log:
        log_file("split"),
    conda:
        "../envs/biorepro.yaml"
    threads: 1
    params:
        jobs=jobs_of("split"),
    script:
        "../scripts/job.py"


rule tensors:
    input:
        upstream("tensors"),
    output:
        store_output("tensors"),
    log:
        log_file("tensors"),
    conda:
        "../envs/biorepro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        jobs=jobs_of("tensors"),
    script:
        "../scripts/job.py"
