# One rule per stage, made from its declaration (biorepro/store/stages.py). A job builds a
# batch of entries named by {recipe} (extraction: extract.videos_per_job videos; training:
# train.seeds_per_process runs; one entry elsewhere) through biorepro/jobs/run.py, which
# runs it in a process of its own when its stage needs variables set before Python starts
# (determinism); its output is the batch's receipt.

for _stage in STAGES:

    rule:
        name:
            _stage
        input:
            job_inputs(_stage),
        output:
            store_output(_stage),
        log:
            log_file(_stage),
        group:
            STAGES[_stage].group
        conda:
            "../envs/biorepro.yaml"
        threads: job_runtime(_stage, "threads", 1)
        resources:
            **job_resources(_stage),
        params:
            jobs=job_list(_stage),
        script:
            "../scripts/job.py"
