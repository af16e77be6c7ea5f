# Error rates per run and level (the threshold rule is declared; devel by default), and
# the scores of each trained model on other databases (cross-dataset testing).


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


# Its own process, like training: the determinism variables are set before Python starts.
rule cross:
    input:
        upstream("cross"),
    output:
        store_output("cross"),
    log:
        log_file("cross"),
    conda:
        "../envs/biorepro.yaml"
    threads: runtime("cross", "threads")
    params:
        job=job_json("cross"),
        python=sys.executable,
    shell:
        "{params.python} -m biorepro.jobs --job {params.job:q} --receipt {output:q} "
        "--log {log:q}"
