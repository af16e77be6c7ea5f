# Data stages: frames per video (batched jobs), split folders, tensor cache.

EXTRACT_BATCHES = extract_batches()

for _batch_id, _keys in EXTRACT_BATCHES.items():
    _batch = [PLAN.entry("frames", k) for k in _keys]

    rule:
        name:
            f"extract_frames_{_batch_id}"
        input:
            [ancient(e.spec["video"]) for e in _batch],
        output:
            [receipt(e) for e in _batch],
        log:
            f"{LOGS}/frames/{_batch_id}.log",
        params:
            jobs=[
                {"video": e.spec["video"], "out": e.path, "ingredients": e.ingredients,
                 "receipt": receipt(e)}
                for e in _batch
            ],
        threads: 1
        resources:
            mem_mb=1000,
        group:
            "extract"
        conda:
            "../envs/biorepro.yaml"
        script:
            "../scripts/extract_frames.py"


rule split_folders:
    input:
        upstream("split"),
    output:
        store_output("split"),
    log:
        f"{LOGS}/split/{{key}}.log",
    params:
        job=job_spec("split"),
    threads: 1
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/split_folders.py"


rule tensor_cache:
    input:
        upstream("tensors"),
    output:
        store_output("tensors"),
    log:
        f"{LOGS}/tensors/{{key}}.log",
    params:
        job=job_spec("tensors"),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/tensor_cache.py"
