# Error rates per seed and level; the threshold is always chosen on devel.


rule metrics:
    input:
        upstream("metrics"),
    output:
        store_output("metrics"),
    log:
        log_file("metrics"),
    params:
        jobs=jobs_of("metrics"),
    threads: 1
    conda:
        "../envs/biorepro.yaml"
    script:
        "../scripts/job.py"
