# Error rates per seed and level; the threshold is always chosen on devel.


rule evaluate_seed:
    input:
        upstream("metrics"),
    output:
        store_output("metrics"),
    log:
        f"{LOGS}/metrics/{{key}}.log",
    params:
        job=job_spec("metrics"),
    threads: 1
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/evaluate_seed.py"
