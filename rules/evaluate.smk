# Error rates per seed and level; the threshold is always chosen on devel.


rule metrics:
    input:
        upstream("metrics"),
    output:
        store_output("metrics"),
    log:
        log_file("metrics"),
    conda:
        "../envs/biorepro.yaml"
    threads: 1
    params:
        jobs=jobs_of("metrics"),
    script:
        "../scripts/job.py"
